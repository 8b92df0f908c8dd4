import Foundation
import SluiceCore
import SluicePostgres

/// Reads the captured tables into their topics as `op: "r"` events before streaming starts
/// (`snapshot: initial | initial_only`), exactly once across crashes.
///
/// Each run is one segment of ``SnapshotProgress``: it ends an open segment a crash left
/// behind (from the positions durable in the topics), takes a new exported snapshot, and reads
/// on from where the last one durably got, skipping rows that an ended segment already wrote.
/// A record's position carries the segment, a sequence number, its part and its key; the last
/// record of each send carries the progress too, so the runtime's committed position is all it
/// needs. Without transforms the readers encode the events in Kafka's format themselves, and
/// only each partition's last event of a send gets its position (the one the runtime keeps);
/// with them, every event is a record with its position, as transforms may move it.
///
/// With `snapshot_max_threads` > 1 the first segment splits the tables into parts (ranges of
/// a large table's keys, sampled, or of a keyless table's blocks, when there are fewer tables
/// than threads), and that many readers read parts at once, each on a connection of its own
/// under the same exported snapshot, each encoding its rows. They hand batches to the one
/// writer through a bounded ``SnapshotHandOff``; the writer numbers them and sends them one
/// at a time, each send of one part, which is what keeps a crash's cut send to one part
/// (``SnapshotProgress``). Within a partition, rows of different parts interleave.
struct InitialSnapshot {
  let config: CDCConfig
  let context: any SourceTaskContext
  let settings: ChangeStream.Settings
  let metrics: CDCMetrics
  /// Rows a reader reads and encodes at a time into records (with transforms), which the
  /// hand-off merges into sends.
  static let batchRows = 2000
  /// Rows a reader encodes at a time in Kafka's format: a send each (they do not merge), of
  /// about 2 MiB on disk for a narrow table's events (about 630 bytes each) whether the
  /// readers compress them (``TopicStore/recordsCompressor``: LZ4 about 5 to 1) or not. Each
  /// send waits for its own write and sync, so fewer, larger sends go faster; the bytes they
  /// hold while they wait bound memory.
  static func encodedBatchRows(compressed: Bool) -> Int {
    compressed ? 16384 : 3072
  }
  /// Records per send at most (batches of one part that wait are merged up to it). About
  /// 2.5 MiB of events of a narrow table, so a send's encoded batch fits the log's buffer pool
  /// (``BatchBufferPool``) and stays in cache while it is checksummed and written.
  static let sendRecords = 4096
  /// Batches that may wait for the writer: one per reader, and one more so a lone reader
  /// reads on while the writer writes.
  static func waitingBatches(readers: Int) -> Int { readers + 1 }
  /// A table is split into ranges only when each gets at least this many rows (or blocks).
  static let minimumRangeRows: Int64 = 40_000
  static let minimumRangeBlocks = 1024
  /// How often a long table's progress is logged.
  static let logInterval: Duration = .seconds(10)

  /// Runs the snapshot to its end; `progress` is its state when it returns or throws.
  func run(progress: inout SnapshotProgress, committed: SnapshotPoint?) async throws {
    if progress.open != nil, let committed {
      let from = progress.reading.map {
        $0.below < progress.partCount ? progress.table(ofPart: $0.below) : progress.tables.count
      }
      let resume = progress.endOpenSegment(
        committed: committed,
        tails: try await tails(of: progress, from: from ?? committed.table))
      context.logger.info(
        "resuming the interrupted snapshot under a new snapshot",
        metadata: [
          "part": "\(resume.table)",
          "segments": "\(progress.closed.count + 1)",
        ])
    }
    progress.adoptReading(.init(table: committed?.table ?? 0, afterKey: committed?.key))
    let session = SnapshotSession(config: config)
    do {
      try await read(progress: &progress, fresh: committed == nil, session: session)
      await session.finish()
    } catch {
      await session.finish()
      throw error
    }
  }

  /// The encoder each reader copies: a value whose only member that is not `Sendable` is its
  /// clock (a plain function), and of which each reader mutates only its own copy.
  private struct ReaderEncoder: @unchecked Sendable {
    var value: ChangeStream
  }

  /// What the readers need of one table.
  private struct TableInfo: Sendable {
    var table: SnapshotSession.Table
    var name: QualifiedName
    var partitions: Int
  }

  private func read(
    progress: inout SnapshotProgress, fresh: Bool, session: SnapshotSession
  ) async throws {
    let threads = max(1, config.snapshotMaxThreads)
    let start = try await session.begin(readers: threads)
    if progress.tables.isEmpty {
      switch config.tables {
      case .listed(let names): progress.tables = names
      case .all: progress.tables = try await session.publishedTables()
      }
    }
    progress.open = start.lsn.value
    let segment = start.lsn.value
    let base = progress.base
    var sequence: UInt64 = 0
    let positions = SnapshotPositions(
      base: base, segment: segment, generation: settings.generation)
    func point(_ part: Int, _ key: String?) -> SnapshotPoint {
      SnapshotPoint(
        base: base, segment: segment, sequence: sequence, table: part, key: key,
        generation: settings.generation)
    }

    // The tables still to read, described under the snapshot.
    var reading = progress.reading ?? .init()
    let unfinished = (0..<progress.partCount).filter { !reading.isFinished($0) }
    let tableIndexes =
      fresh
      ? Array(progress.tables.indices)
      : Array(Set(unfinished.map { progress.table(ofPart: $0) })).sorted()
    var encoder = ChangeStream(settings: settings, confirmed: .zero)
    var infos: [Int: TableInfo] = [:]
    for index in tableIndexes {
      let name = progress.tables[index]
      let table = try await session.describe(name, conversion: settings.conversion)
      encoder.userTypes.merge(table.userTypes) { $1 }
      if ChangeStream.needsCatalogKey(table.relation) {
        encoder.primaryKeys[table.relation.oid] = table.primaryKey
      }
      if let facts = table.facts { encoder.columnFacts[table.relation.oid] = facts }
      _ = try encoder.receive(.relation(table.relation), at: start.lsn)
      let topic = try ChangeStream.topic(for: name, settings: settings)
      let partitions =
        try await context.store.partitionCount(of: topic) ?? context.store.defaultPartitions
      infos[index] = TableInfo(table: table, name: name, partitions: partitions)
    }
    if fresh && threads > 1 && progress.tables.count < threads {
      try await plan(
        &progress, infos: infos, threads: threads, session: session, encoder: encoder,
        start: start)
    }
    progress.reading = reading

    // The new segment is committed before it writes, so a crash ends it from its own start.
    let first = (0..<progress.partCount).first { !reading.isFinished($0) } ?? progress.partCount
    try await context.commit(
      point(first, reading.cursors[first]).sourcePosition(progress: progress))
    context.logger.info(
      "snapshot segment started",
      metadata: [
        "lsn": "\(start.lsn)", "tables": "\(progress.tables.count)",
        "parts": "\(progress.partCount)", "readers": "\(threads)",
      ])

    let work = (0..<progress.partCount).filter { !reading.isFinished($0) }.map { part in
      SnapshotHandOff.Work(
        part: part, after: reading.cursors[part],
        boundaries: infos[progress.table(ofPart: part)]?.table.keyOrder == nil
          ? [] : progress.boundaryKeys(inPart: part))
    }
    let readers = min(threads, max(1, work.count))
    let handOff = SnapshotHandOff(
      work: work, readers: readers, capacity: Self.waitingBatches(readers: readers))
    var total = 0
    var skipped = 0
    var lastLog = ContinuousClock.now
    var rowsPerPart: [Int: Int] = [:]
    var lastSentPart: Int?
    let frozen = progress
    // Without transforms, the readers encode the events in Kafka's format, each to the
    // partition they pick, and only each partition's last of a send gets a position
    // (``SourceTaskContext/send(encoded:committing:)``).
    let encodes = !context.transformsRecords
    let store = context.store
    metrics.snapshotRemainingTables(Set(work.map { progress.table(ofPart: $0.part) }).count)

    let encoderCopy = ReaderEncoder(value: encoder)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for reader in 0..<readers {
        group.addTask { [infos] in
          do {
            try await Self.readParts(
              reader: reader, session: session, handOff: handOff, progress: frozen,
              infos: infos, encoder: encoderCopy.value, start: start, encodes: encodes,
              store: store)
            await handOff.readerEnded(nil)
          } catch {
            await handOff.readerEnded(error)
            throw error
          }
        }
      }
      do {
        while let item = try await handOff.take(maxRecords: Self.sendRecords) {
          try Task.checkCancellation()
          // Consumed, so the batch the writer numbers is the only owner of its records.
          switch consume item {
          case .finished(let part):
            reading.finish(part)
            let table = progress.table(ofPart: part)
            context.logger.info(
              "snapshot of a part done",
              metadata: [
                "table": "\(progress.tables[table])", "part": "\(part)",
                "rows": "\(rowsPerPart[part, default: 0])",
              ])
            metrics.snapshotRemainingTables(
              Set(
                (0..<progress.partCount).filter { !reading.isFinished($0) }.map {
                  progress.table(ofPart: $0)
                }
              ).count)
          case .batch(var batch):
            total += batch.rows
            skipped += batch.skipped
            rowsPerPart[batch.part, default: 0] += batch.rows
            let count = batch.count
            guard count > 0 else { continue }
            // Every event is numbered, in the order read; the last one's position carries the
            // progress too.
            let first = sequence
            sequence += UInt64(count)
            let lastKey = batch.lastKey.map { String(decoding: $0, as: UTF8.self) }
            if let lastKey, !lastKey.isEmpty { reading.cursors[batch.part] = lastKey }
            progress.reading = reading
            let last = point(batch.part, lastKey).sourcePosition(progress: progress)
            var sends: [EncodedSend] = []
            for piece in batch.pieces {
              let position =
                piece.lastIndex == count - 1
                ? last
                : positions.position(
                  sequence: first + UInt64(piece.lastIndex) + 1, table: batch.part,
                  key: piece.lastKey)
              sends.append(
                EncodedSend(
                  partition: TopicPartition(batch.topic, piece.partition), records: piece.records,
                  last: piece.last, position: position))
            }
            for i in batch.records.indices.dropLast() {
              batch.records[i].position = positions.position(
                sequence: first + UInt64(i) + 1, table: batch.part, key: batch.keys[i])
            }
            if !batch.records.isEmpty { batch.records[count - 1].position = last }
            // Ending a segment after a crash takes the records past the committed position for
            // those of one part (``SnapshotProgress/endOpenSegment(committed:tails:)``). The
            // embedded store writes a send's position in the background, so it may lag a few
            // sends behind: before a send of another part, the last one's must be durable
            // (else rows of the parts in between were read again).
            if let lastSentPart, lastSentPart != batch.part { try await context.flushCommits() }
            lastSentPart = batch.part
            if !sends.isEmpty {
              batch.pieces = []
              try await context.send(encoded: sends, committing: last)
            } else {
              // Moved out of the batch, so the send owns the records and moves their bytes
              // into the log's records instead of copying them (``SourceTaskContext/send(_:)``).
              var records: [SourceRecord] = []
              swap(&records, &batch.records)
              _ = try await context.send(consume records)
            }
            metrics.snapshotRowsDurable(count)
            let table = progress.tables[progress.table(ofPart: batch.part)]
            let state = "part \(batch.part + 1)/\(progress.partCount) (\(table)), \(total) rows"
            context.setDetail("snapshot", "running: " + state)
            context.setDetail("snapshot_rows", "\(total)")
            if ContinuousClock.now - lastLog >= Self.logInterval {
              lastLog = .now
              context.logger.info("snapshot progress", metadata: ["at": "\(state)"])
            }
          }
        }
      } catch {
        await handOff.stop()
        group.cancelAll()
        throw error
      }
      try await group.waitForAll()
    }
    if Task.isCancelled { throw CancellationError() }
    progress.reading = reading
    progress.done = true
    metrics.snapshotRemainingTables(0)
    sequence += 1
    try await context.commit(point(progress.partCount, nil).sourcePosition(progress: progress))
    context.setDetail(
      "snapshot",
      "completed: \(progress.tables.count) tables, \(total) rows read in the last segment, \(progress.closed.count + 1) segments"
    )
    context.logger.info(
      "snapshot completed",
      metadata: [
        "rows": "\(total)", "skipped_already_durable": "\(skipped)",
        "segments": "\(progress.closed.count + 1)", "parts": "\(progress.partCount)",
      ])
  }

  // MARK: - Parts

  /// Splits tables into parts for parallel readers, when there are fewer tables than
  /// readers: a keyed table of at least twice ``minimumRangeRows`` rows into key ranges cut
  /// at sampled keys, a keyless one of at least twice ``minimumRangeBlocks`` blocks into block
  /// ranges (the last one open, for blocks the table gains). The parts go into `progress`
  /// before anything is written, and stay as they are for every later segment.
  private func plan(
    _ progress: inout SnapshotProgress, infos: [Int: TableInfo], threads: Int,
    session: SnapshotSession, encoder: ChangeStream, start: SnapshotSession.Start
  ) async throws {
    var parts: [SnapshotProgress.Part] = []
    for index in progress.tables.indices {
      guard let info = infos[index] else { continue }
      let table = info.table
      let rows = table.estimatedRows ?? 0
      if table.keyOrder != nil, rows >= 2 * Self.minimumRangeRows {
        let count = min(threads, Int(rows / Self.minimumRangeRows))
        var keys: [String] = []
        for row in try await session.rangeBoundaries(of: table, count: count) {
          let values = row.map {
            $0.map { PgOutputMessage.TupleValue.text(Array($0.utf8)) } ?? .null
          }
          if let key = try encoder.snapshotRead(
            table.relation.oid, values, lsn: start.lsn, xid: 0, milliseconds: 0)?.key
          {
            let text = String(decoding: key, as: UTF8.self)
            if !keys.contains(text) { keys.append(text) }
          }
        }
        var after: String?
        for key in keys {
          parts.append(.init(table: index, after: after, upTo: key))
          after = key
        }
        parts.append(.init(table: index, after: after))
      } else if table.keyOrder == nil, table.blocks >= 2 * Self.minimumRangeBlocks {
        let count = min(threads, table.blocks / Self.minimumRangeBlocks)
        let step = table.blocks / count
        for i in 0..<count {
          parts.append(
            .init(
              table: index, firstBlock: i == 0 ? nil : i * step,
              endBlock: i == count - 1 ? nil : (i + 1) * step))
        }
      } else {
        parts.append(.init(table: index))
      }
    }
    if parts.count > progress.tables.count { progress.parts = parts }
  }

  // MARK: - Readers

  /// One reader: takes parts from `handOff` until none is left, reads each with COPY under
  /// the segment's snapshot, encodes its rows as `r` events on the reader's queue as they
  /// arrive (``SnapshotRowEncoder``) and hands them over a batch at a time.
  private static func readParts(
    reader: Int, session: SnapshotSession, handOff: SnapshotHandOff, progress: SnapshotProgress,
    infos: [Int: TableInfo], encoder: ChangeStream, start: SnapshotSession.Start,
    encodes: Bool, store: any TopicStore
  ) async throws {
    while let work = await handOff.next() {
      let tableIndex = progress.table(ofPart: work.part)
      guard let info = infos[tableIndex] else { continue }
      let table = info.table
      let part = progress.parts?[work.part] ?? .init(table: tableIndex)
      let keyed = table.keyOrder != nil
      try await session.copy(
        table, part: part, after: work.after, boundaries: work.boundaries, reader: reader)
      let rows = SnapshotRowEncoder(
        stream: encoder, table: try encoder.table(table.relation.oid),
        part: .init(
          index: work.part, table: tableIndex, tableCount: progress.tables.count, name: info.name,
          partitions: info.partitions,
          startsTable: work.after == nil && part.after == nil && part.firstBlock == nil,
          endsTable: part.upTo == nil && part.endBlock == nil, boundaries: work.boundaries,
          encodes: encodes, store: store),
        progress: progress, start: start, keyed: keyed, firstBatchNumber: reader)
      var more = true
      while more {
        more = try await session.read(
          reader: reader,
          max: encodes
            ? encodedBatchRows(compressed: store.recordsCompressor != nil) : batchRows,
          into: rows)
        try Task.checkCancellation()
        try await handOff.put(.batch(try rows.takeBatch(ended: !more)))
      }
      try await handOff.put(.finished(part: work.part))
    }
  }

  /// The last snapshot record of every partition of the topics of tables from `table` on.
  private func tails(of progress: SnapshotProgress, from table: Int) async throws
    -> [SnapshotProgress.Tail]
  {
    var topics: [String] = []
    for index in min(table, progress.tables.count)..<progress.tables.count {
      let topic = try ChangeStream.topic(for: progress.tables[index], settings: settings)
      if !topics.contains(topic) { topics.append(topic) }
    }
    var tails: [SnapshotProgress.Tail] = []
    for topic in topics {
      guard let count = try await context.store.partitionCount(of: topic) else { continue }
      for partition in 0..<count {
        if let position = try await context.lastDurablePosition(
          in: TopicPartition(topic, partition)),
          case .snapshot(let point, _)? = CDCPosition(position)
        {
          tails.append(.init(partition: partition, point: point))
        }
      }
    }
    return tails
  }
}

/// Drops the streamed changes a snapshot segment's read already holds: those of a row that
/// committed before the LSN of the segment that owns the row (``SnapshotProgress``). Only
/// changes before the last segment's LSN need a look; the rest pass straight through.
///
/// With transaction metadata, a transaction it drops some events of has the others, and its
/// END, rendered again (``TransactionRenumbering``): their orders and END's counts are those
/// of the events in the topics. Its changes already written before a restart come through
/// too (``ChangeRecord/written``), only to be counted, so the rest is numbered as before.
final class SnapshotReplayFilter {
  let progress: SnapshotProgress
  private let control: ControlConnection
  private let partitionCount: (String) async throws -> Int
  private let tableIndexes: [QualifiedName: Int]
  private var partitionCounts: [String: Int] = [:]
  private var comparisons: [[String]: Bool] = [:]
  /// Per transaction (by commit LSN) being renumbered, what was dropped of it so far.
  private var drops: [LSN: TransactionDrops] = [:]
  /// How many changes were dropped so far.
  private(set) var dropped = 0

  private let conversion: ValueConversionOptions

  /// `partitionCount` gives a topic's partitions (the store's default for one not made yet).
  init(
    progress: SnapshotProgress, control: ControlConnection,
    partitionCount: @escaping (String) async throws -> Int,
    conversion: ValueConversionOptions = .debezium
  ) {
    self.progress = progress
    self.conversion = conversion
    self.control = control
    self.partitionCount = partitionCount
    var indexes: [QualifiedName: Int] = [:]
    for (i, name) in progress.tables.enumerated() { indexes[name] = i }
    tableIndexes = indexes
  }

  /// The records to write, in order, of those `stream` made (its tables describe them, and it
  /// renders again what a renumbering changes).
  func keep(_ records: [ChangeRecord], stream: ChangeStream) async throws -> [ChangeRecord] {
    let tables = stream.tables
    var kept: [ChangeRecord] = []
    kept.reserveCapacity(records.count)
    for record in records {
      let commit = record.position.commitLSN
      let keep = try await isKept(record, tables: tables)
      if !keep, record.renumbering?.block != nil {
        drops[commit, default: TransactionDrops()].drop(relation: record.relation)
      }
      if case .end? = record.renumbering?.kind {
        defer { drops[commit] = nil }
        if !record.written { kept.append(try renumbered(record, stream: stream)) }
        continue
      }
      if record.written { continue }
      if keep {
        kept.append(try renumbered(record, stream: stream))
      } else {
        dropped += 1
      }
    }
    return kept
  }

  /// Whether `record` is not in the snapshot's rows already.
  private func isKept(_ record: ChangeRecord, tables: [UInt32: ChangeStream.Table]) async throws
    -> Bool
  {
    let commit = record.position.commitLSN.value
    guard progress.mayOverlap(commitLSN: commit), let table = tables[record.relation],
      let index = tableIndexes[table.relation.qualifiedName]
    else {
      // After the last segment's LSN, a table the snapshot did not read, or BEGIN and END.
      return true
    }
    var partition = 0
    if let key = record.key {
      partition = Partitioner.partition(forKey: key, partitions: try await partitions(record.topic))
    }
    let owner = try await progress.owner(
      table: index, partition: partition, hasKey: record.key != nil
    ) { boundary in
      try await self.isKey(record.key!, atOrBefore: boundary, in: table)
    }
    return commit >= owner
  }

  /// `record`, rendered again when events of its transaction were dropped before it.
  private func renumbered(_ record: ChangeRecord, stream: ChangeStream) throws -> ChangeRecord {
    // (Drops are noted only once there is one.)
    guard let renumbering = record.renumbering, let drops = drops[record.position.commitLSN]
    else { return record }
    var record = record
    switch renumbering.kind {
    case .event(var event, let key):
      guard let block = event.transaction, let table = stream.tables[record.relation] else {
        return record
      }
      event.transaction = drops.renumbered(block, relation: record.relation)
      // (A fused `unwrap` may name the orders in its fields and headers too.)
      guard let (_, value, headers) = try stream.render(event, of: table, key: key) else {
        return record
      }
      record.value = value
      record.headers = headers
    case .end(var transaction, let lsn):
      guard let metadata = stream.settings.transactionMetadata else { return record }
      transaction.counts = transaction.counts.subtracting(drops)
      var end = ChangeStream.transactionRecord(
        ending: true, transaction, lsn: lsn, position: record.position, metadata: metadata)
      end.renumbering = renumbering
      record = end
    }
    return record
  }

  private func partitions(_ topic: String) async throws -> Int {
    if let known = partitionCounts[topic] { return known }
    let count = try await partitionCount(topic)
    partitionCounts[topic] = count
    return count
  }

  private func isKey(_ key: [UInt8], atOrBefore boundary: String, in table: ChangeStream.Table)
    async throws -> Bool
  {
    let keyText = String(decoding: key, as: UTF8.self)
    if let known = comparisons[[keyText, boundary]] { return known }
    let order = KeyOrder(
      table: table.relation.qualifiedName,
      columns: table.keyColumns.map { i in (table.relation.columns[i].name, table.kinds[i]) },
      options: conversion)
    let within = try await control.run {
      try order.isKey(keyText, atOrBefore: boundary, on: $0)
    }
    comparisons[[keyText, boundary]] = within
    return within
  }
}
