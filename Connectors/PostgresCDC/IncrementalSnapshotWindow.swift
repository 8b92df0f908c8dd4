/// DBLog's window for one chunk of an incremental snapshot, as a value: opened by the low
/// watermark, it collects the keys of the table's rows that change in the stream before the
/// high watermark; at the high watermark the chunk's rows with those keys are dropped, since
/// the stream has already carried a change at least as new as what the SELECT saw. What is
/// left is emitted at the high watermark, so no row the chunk read follows a newer change of
/// its key.
struct IncrementalSnapshotWindow: Equatable {
  /// A key: the text of each primary-key column, in key order, as PostgreSQL writes it.
  typealias Key = [[UInt8]]

  /// The chunk the window is for.
  var snapshot: UInt64
  var table: QualifiedName
  var chunk: UInt32
  var attempt: String
  /// The table's relation OID and its primary-key columns, from the low watermark.
  var relation: UInt32
  var keyColumns: [String]

  private(set) var changed: Set<Key> = []
  /// A truncate of the table: every row of the chunk is older than it.
  private(set) var truncated = false
  /// A change whose key the stream did not carry (a primary-key value left out as an
  /// unchanged TOAST value, or a replica identity without the key): the chunk cannot be told
  /// apart from the stream and is read again.
  private(set) var uncertain = false

  init(
    snapshot: UInt64, table: QualifiedName, chunk: UInt32, attempt: String, relation: UInt32,
    keyColumns: [String]
  ) {
    self.snapshot = snapshot
    self.table = table
    self.chunk = chunk
    self.attempt = attempt
    self.relation = relation
    self.keyColumns = keyColumns
  }

  /// A change of the table in the stream: the keys it touched (old and new of an update), nil
  /// for one it could not tell.
  mutating func changed(_ key: Key?) {
    guard let key else {
      uncertain = true
      return
    }
    changed.insert(key)
  }

  mutating func truncate() { truncated = true }

  /// The rows of the chunk to emit, in the order read: those whose key did not change in the
  /// window (none after a truncate). `keyIndexes` are the key columns' places in a row. Nil
  /// when the window is uncertain: the chunk must be read again.
  func surviving(_ rows: [[PgOutputMessage.TupleValue]], keyIndexes: [Int])
    -> [[PgOutputMessage.TupleValue]]?
  {
    if uncertain { return nil }
    if truncated { return [] }
    if changed.isEmpty { return rows }
    return rows.filter { row in
      guard let key = Self.key(of: row, at: keyIndexes) else { return true }
      return !changed.contains(key)
    }
  }

  /// The key of a decoded row; nil when a key column has no text.
  static func key(of row: [PgOutputMessage.TupleValue], at indexes: [Int]) -> Key? {
    var key: Key = []
    key.reserveCapacity(indexes.count)
    for i in indexes {
      guard i < row.count, case .text(let text) = row[i] else { return nil }
      key.append(text)
    }
    return key
  }

  /// The key of a row read in place from a message; nil when a key column has no text.
  static func key(of row: Row, at indexes: [Int]) -> Key? {
    var key: Key = []
    key.reserveCapacity(indexes.count)
    for i in indexes {
      guard i < row.count, case .text(let range) = row.columns[i] else { return nil }
      key.append(Array(row.bytes[range]))
    }
    return key
  }
}
