import SluiceCore
import SluicePostgres

/// One snapshot reader's work on one part of a table: each COPY row, parsed in place into a
/// reused ``CopyRow``, becomes Debezium's `op: "r"` event in the batch being filled.
///
/// Used on the reader's own queue, row after row, so no row is copied into an array of its
/// own first. It holds the last row back until it knows whether another follows, for
/// Debezium's `last` and `last_in_data_collection` marks (``SnapshotMark``).
final class SnapshotRowEncoder: @unchecked Sendable {
  /// What the encoder needs to know of the part it reads.
  struct Part {
    var index: Int
    /// The table's place in the snapshot's list, and how many there are (for the marks).
    var table: Int
    var tableCount: Int
    var name: QualifiedName
    var partitions: Int
    /// Whether the COPY starts at the table's first row and ends at its last.
    var startsTable: Bool
    var endsTable: Bool
    /// Keys an ended segment owns up to (``SnapshotProgress/boundaryKeys(inPart:)``): the
    /// COPY adds per key a column saying whether the row's key is at or before it.
    var boundaries: [String]
    /// Whether the events are encoded here in Kafka's format (``SnapshotBatch/pieces``), each
    /// keyed row's partition picked from its key as the producer would: when no transform may
    /// change them (``SourceTaskContext/transformsRecords``), into the store's recycled
    /// buffers (``TopicStore/recycledBuffer()``), and compressed here too when the store
    /// offers a compressor (``TopicStore/recordsCompressor``).
    var encodes: Bool
    var store: (any TopicStore)?
  }

  private var state: SnapshotRowEncoding

  init(
    stream: ChangeStream, table: ChangeStream.Table, part: Part, progress: SnapshotProgress,
    start: SnapshotSession.Start, keyed: Bool, firstBatchNumber: Int
  ) {
    state = SnapshotRowEncoding(
      stream: stream, table: table, part: part, progress: progress, start: start, keyed: keyed,
      firstBatchNumber: firstBatchNumber)
  }

  /// Encodes the rows `read` hands over, each a COPY row: the row held before it is encoded,
  /// and it is held (``SnapshotRowEncoding/add(_:)``). The state is one access for all of
  /// them, not one per row and field (a class's stored properties are checked for exclusive
  /// access at run time).
  func encodeRows(
    _ read: ((UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool
  ) throws -> Bool {
    try Self.encodeRows(into: &state, read)
  }

  private static func encodeRows(
    into state: inout SnapshotRowEncoding,
    _ read: ((UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool
  ) throws -> Bool {
    try read { try state.add($0) }
  }

  /// The rows encoded since the last call (``SnapshotRowEncoding/takeBatch(ended:)``).
  func takeBatch(ended: Bool) throws -> SnapshotBatch {
    try state.takeBatch(ended: ended)
  }
}

/// What a ``SnapshotRowEncoder`` keeps from row to row: the rows held and parsed, the batch
/// being filled, and what every row of the part shares.
struct SnapshotRowEncoding {
  private let stream: ChangeStream
  private let table: ChangeStream.Table
  private let part: SnapshotRowEncoder.Part
  private let progress: SnapshotProgress
  private let start: SnapshotSession.Start
  private let keyed: Bool
  private let columns: Int
  /// The row parsed last, not yet encoded, and the buffer the next one is parsed into.
  private var held = CopyRow()
  private var isHolding = false
  private var spare = CopyRow()
  /// The columns of the row being encoded, reused row after row.
  private var rowColumns: [Row.Column] = []
  /// Rows read so far, the skipped ones included.
  private var rowsRead = 0
  private var batch: SnapshotBatch
  private var batchNumber: Int
  /// Per partition, the encoded events of the batch being filled (``encodes``) and the bytes
  /// its last batch took, which the next one reserves.
  private var pieces: [PieceBuilder?]
  private var pieceBytes: [Int]
  /// The store's compressor, with which the pieces are compressed as they fill (on this
  /// reader's thread, not the writer's).
  private let compressor: (any RecordsCompressor)?
  /// The Kafka timestamp and envelope `ts_ms` of the batch's records: one clock reading per
  /// batch.
  private var timestamp: Int64 = 0
  /// Per mark (by its raw value), the events' `source`, `transaction` and `op`, the same for
  /// every row: an array, not a dictionary, so a row does not hash its mark.
  private var sourceAndOp = [[UInt8]?](repeating: nil, count: SnapshotMark.allCases.count)

  init(
    stream: ChangeStream, table: ChangeStream.Table, part: SnapshotRowEncoder.Part,
    progress: SnapshotProgress,
    start: SnapshotSession.Start, keyed: Bool, firstBatchNumber: Int
  ) {
    self.stream = stream
    self.table = table
    self.part = part
    self.progress = progress
    self.start = start
    self.keyed = keyed
    self.columns = table.relation.columns.count
    self.batchNumber = firstBatchNumber
    pieces = Array(repeating: nil, count: part.encodes ? part.partitions : 0)
    pieceBytes = Array(repeating: 0, count: pieces.count)
    compressor = part.encodes ? part.store?.recordsCompressor : nil
    batch = SnapshotBatch(part: part.index)
  }

  /// Reads one COPY row: the row held before it is encoded, and this one is held.
  mutating func add(_ line: UnsafeBufferPointer<UInt8>) throws {
    if batch.rows == 0 { timestamp = currentTimeMillis() }
    CopyTextFormat.parse(line, into: &spare)
    swap(&held, &spare)
    defer { rowsRead += 1 }
    batch.rows += 1
    if isHolding { try encode(spare, isFirst: rowsRead == 1, isLast: false) }
    isHolding = true
  }

  /// The rows encoded since the last call, and the partition a keyless part's next batch
  /// goes to. At the end of the COPY (`ended`), the held row is encoded as its last.
  mutating func takeBatch(ended: Bool) throws -> SnapshotBatch {
    if ended, isHolding {
      isHolding = false
      try encode(held, isFirst: rowsRead == 1, isLast: true)
    }
    for partition in pieces.indices {
      guard let piece = pieces[partition] else { continue }
      pieces[partition] = nil
      pieceBytes[partition] = piece.records.recordBytes + 1024
      // A piece holds at least one event (it is made for one).
      guard let last = piece.records.removeLast() else { continue }
      batch.pieces.append(
        .init(
          partition: partition, records: piece.records, last: last,
          lastKey: piece.lastKey, lastIndex: piece.lastIndex))
    }
    let taken = batch
    batch = SnapshotBatch(part: part.index)
    batchNumber += 1
    return taken
  }

  private mutating func encode(_ row: CopyRow, isFirst: Bool, isLast: Bool) throws {
    guard row.fields.count >= columns + (keyed ? part.boundaries.count : 1) else {
      throw PostgresError(sqlState: nil, message: "a COPY row of \(part.name) has too few fields")
    }
    rowColumns.removeAll(keepingCapacity: true)
    for i in 0..<columns { rowColumns.append(row.fields[i].map(Row.Column.text) ?? .null) }
    let values = Row(bytes: row.bytes[...], columns: rowColumns)
    let mark = SnapshotMark(
      firstInTable: isFirst && part.startsTable, lastInTable: isLast && part.endsTable,
      firstTable: part.table == 0, lastTable: part.table == part.tableCount - 1)
    let rendered: [UInt8]
    if let known = sourceAndOp[mark.rawValue] {
      rendered = known
    } else {
      rendered = stream.readSourceAndOp(
        table, lsn: start.lsn, xid: start.xid, milliseconds: start.milliseconds, mark: mark)
      sourceAndOp[mark.rawValue] = rendered
    }
    guard
      let read = try stream.snapshotRead(
        values, of: table, lsn: start.lsn, xid: start.xid, milliseconds: start.milliseconds,
        mark: mark, sourceAndOp: rendered, madeMilliseconds: timestamp)
    else { return }
    let key: [UInt8]
    // Each send of a keyless part goes to one partition (``SnapshotProgress``).
    var partition: Int? = keyed ? nil : batchNumber % part.partitions
    if keyed, let recordKey = read.key {
      key = recordKey
      let keyPartition =
        part.partitions == 1 ? 0 : Partitioner.partition(forKey: recordKey, partitions: part.partitions)
      if !part.boundaries.isEmpty, isOwnedByEndedSegment(row, partition: keyPartition) {
        batch.skipped += 1
        return
      }
      if part.encodes { partition = keyPartition }
    } else {
      key = row.fields[row.fields.count - 1].map { Array(row.bytes[$0]) } ?? []
    }
    if part.encodes {
      // (A keyed table's events all have keys: the partition is only nil without one.)
      let partition = partition ?? 0
      // Every event goes in as it comes; the partition's last one is taken back out when
      // the batch is taken, for the writer, which gives it its position.
      if pieces[partition] == nil {
        pieces[partition] = PieceBuilder(
          records: EncodedRecords(
            reusing: part.store?.recycledBuffer() ?? [], capacity: pieceBytes[partition],
            compressor: compressor),
          lastKey: [], lastIndex: 0)
      }
      pieces[partition]!.records.append(
        timestamp: timestamp, key: read.key, value: read.value, headers: read.headers)
      pieces[partition]!.lastKey = key
      pieces[partition]!.lastIndex = batch.encodedCount
      batch.topic = read.topic
      batch.encodedCount += 1
      return
    }
    batch.records.append(
      SourceRecord(
        topic: read.topic, partition: partition, key: read.key, value: read.value,
        headers: read.headers, timestamp: timestamp, position: nil))
    batch.keys.append(key)
  }

  /// One partition's events of the batch being filled.
  private struct PieceBuilder {
    var records: EncodedRecords
    var lastKey: [UInt8]
    var lastIndex: Int
  }

  /// Whether an ended segment already wrote this row: its key is within that segment's part
  /// of the table in the row's partition.
  private func isOwnedByEndedSegment(_ row: CopyRow, partition: Int) -> Bool {
    let owned = progress.boundaryKeys(inPart: part.index, partition: partition)
    return owned.contains { boundary in
      part.boundaries.firstIndex(of: boundary).map { i in
        row.fields[columns + i].map { row.bytes[$0].elementsEqual("t".utf8) } ?? false
      } ?? false
    }
  }
}
