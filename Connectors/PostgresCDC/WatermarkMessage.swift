import Foundation

/// The messages an incremental snapshot writes into the WAL with `pg_logical_emit_message`
/// (prefix ``prefix``), in transactions of their own, so that the stream meets them in commit
/// order between the table's changes (DBLog's watermarks):
///
/// - `open`, the low watermark: the chunk's window starts.
/// - `close`, the high watermark, written after the chunk's SELECT: the window ends, and the
///   message carries the rows the SELECT returned (as text, as pgoutput sends values), the
///   columns they have and the key range they cover.
/// - `skip`: a table that cannot be read (missing, no primary key, not captured).
/// - `expand`: the captured tables a `data-collections` regular expression matched, in the
///   order they are read.
///
/// Carrying the rows in the WAL is what makes a replay after a crash identical to the first
/// time: the stream meets the same rows between the same changes and gives them the same
/// positions, so the runtime's rule (drop what is not past the last durable position of its
/// partition) keeps each row once. A chunk read again after a crash would see a table that has
/// moved on.
struct WatermarkMessage: Codable, Equatable {
  static let prefix = "sluice-snapshot"
  /// The prefix of signals the admin API writes (``SnapshotSignal/parse(document:)``).
  static let signalPrefix = "sluice-signal"

  enum Kind: String, Codable { case open, close, skip, expand }

  /// A column of the chunk's rows, as a Relation message describes it.
  struct Column: Codable, Equatable {
    var name: String
    var type: UInt32
    var modifier: Int32
  }

  var kind: Kind
  /// The snapshot (the LSN of its execute-snapshot signal).
  var snapshot: UInt64
  var table: QualifiedName
  /// The chunk's number within the table, from 0.
  var chunk: UInt32
  /// One read of the chunk: a low and high watermark belong together when theirs is equal.
  var attempt: String
  var relation: UInt32 = 0
  /// The columns the chunk's window compares streamed changes by, in key order: the primary
  /// key, or for a table without one the `surrogate-key` column.
  var key: [String] = []
  /// The table's primary key, which keys the events, when it is not ``key`` (a table without
  /// one: empty); nil when it is.
  var primaryKey: [String]? = nil
  /// Debezium's `surrogate-key`: the column the chunks are ordered and bounded by (nil: the
  /// primary key), whose values ``after``, ``last`` and ``maximum`` hold.
  var surrogateKey: String? = nil
  /// `close`: the columns of the rows, the replica identity, and the key range read: after
  /// `after` (nil: from the start) up to and including `last` (nil: no row).
  var columns: [Column]? = nil
  var identity: String? = nil
  var after: [String]? = nil
  var last: [String]? = nil
  /// `close` of chunk 0: the table's largest key when its read began, where it ends.
  var maximum: [String]? = nil
  /// `close`: the table has no more rows up to ``maximum``.
  var done: Bool? = nil
  /// `skip`: why the table is not read.
  var reason: String? = nil
  /// `close` of chunk 0: something about the read the user should see (a surrogate key that
  /// nothing keeps unique).
  var note: String? = nil
  /// `expand`: the expression, and the captured tables it matched.
  var pattern: String? = nil
  var tables: [QualifiedName]? = nil

  // MARK: - Encoding

  /// The message text: the JSON header, a newline, then each row's values, each `n` (NULL)
  /// or its byte length, `:` and its text.
  func encoded(rows: [[String?]] = []) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    var text = String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    text += "\n"
    for row in rows {
      for value in row {
        if let value {
          text += String(value.utf8.count)
          text += ":"
          text += value
        } else {
          text += "n"
        }
      }
    }
    return text
  }

  /// The header and rows of a message's content; `columnCount` values per row.
  static func decode(_ content: [UInt8]) throws(ProtocolError) -> (
    WatermarkMessage, [[PgOutputMessage.TupleValue]]
  ) {
    guard let newline = content.firstIndex(of: UInt8(ascii: "\n")) else {
      throw ProtocolError("a snapshot watermark without its header line")
    }
    let header: WatermarkMessage
    do {
      header = try JSONDecoder().decode(WatermarkMessage.self, from: Data(content[..<newline]))
    } catch {
      throw ProtocolError("a snapshot watermark with an unreadable header: \(error)")
    }
    let width = header.columns?.count ?? 0
    var rows: [[PgOutputMessage.TupleValue]] = []
    var index = newline + 1
    var row: [PgOutputMessage.TupleValue] = []
    while index < content.count {
      if width == 0 { throw ProtocolError("a snapshot watermark with rows but no columns") }
      if content[index] == UInt8(ascii: "n") {
        row.append(.null)
        index += 1
      } else {
        var length = 0
        while index < content.count, content[index] != UInt8(ascii: ":") {
          let digit = Int(content[index]) - 48
          guard (0...9).contains(digit), length < 1 << 40 else {
            throw ProtocolError("a snapshot watermark with a malformed value length")
          }
          length = length * 10 + digit
          index += 1
        }
        index += 1
        guard index + length <= content.count else {
          throw ProtocolError("a snapshot watermark cut short")
        }
        row.append(.text(Array(content[index..<index + length])))
        index += length
      }
      if row.count == width {
        rows.append(row)
        row = []
      }
    }
    guard row.isEmpty else { throw ProtocolError("a snapshot watermark ends inside a row") }
    return (header, rows)
  }
}
