import Foundation
import SluiceCore

/// Reads the captured tables into their topics as `op: "r"` events before streaming starts
/// (`snapshot: initial | initial_only`), exactly once across crashes.
///
/// Each run is one segment of ``SnapshotProgress``: it ends an open segment a crash left
/// behind (from the positions durable in the topics), takes a new exported snapshot, and reads
/// on from where the last one durably got, skipping rows that an ended segment already wrote.
/// Every record's position carries the segment, a sequence number and its key; the last record
/// of each send carries the progress too, so the runtime's committed position is all it needs.
struct InitialSnapshot {
  let config: CDCConfig
  let context: any SourceTaskContext
  let settings: ChangeStream.Settings
  let metrics: CDCMetrics
  /// Rows per FETCH and per send.
  static let fetchRows = 2000
  /// How often a long table's progress is logged.
  static let logInterval: Duration = .seconds(10)

  /// Runs the snapshot to its end; `progress` is its state when it returns or throws.
  func run(progress: inout SnapshotProgress, committed: SnapshotPoint?) async throws {
    var resume = SnapshotProgress.Resume(
      table: committed?.table ?? 0, afterKey: committed?.key)
    if progress.open != nil, let committed {
      resume = progress.endOpenSegment(
        committed: committed, tails: try await tails(of: progress, from: committed.table))
      context.logger.info(
        "resuming the interrupted snapshot under a new snapshot",
        metadata: [
          "table":
            "\(resume.table < progress.tables.count ? progress.tables[resume.table].description : "-")",
          "segments": "\(progress.closed.count + 1)",
        ])
    }
    let session = SnapshotSession(config: config)
    do {
      try await read(progress: &progress, from: resume, session: session)
      await session.finish()
    } catch {
      await session.finish()
      throw error
    }
  }

  private func read(
    progress: inout SnapshotProgress, from resume: SnapshotProgress.Resume,
    session: SnapshotSession
  ) async throws {
    let start = try await session.begin()
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
    func point(_ table: Int, _ key: String?) -> SnapshotPoint {
      SnapshotPoint(
        base: base, segment: segment, sequence: sequence, table: table, key: key,
        generation: settings.generation)
    }
    // The new segment is committed before it writes, so a crash ends it from its own start.
    try await context.commit(
      point(resume.table, resume.afterKey).sourcePosition(progress: progress))
    context.logger.info(
      "snapshot segment started",
      metadata: ["lsn": "\(start.lsn)", "tables": "\(progress.tables.count)"])

    var encoder = ChangeStream(settings: settings, confirmed: .zero)
    var total = 0
    var skipped = 0
    var lastLog = ContinuousClock.now
    for index in resume.table..<progress.tables.count {
      metrics.snapshotRemainingTables(progress.tables.count - index)
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
      let keyed = table.keyOrder != nil
      let boundaries = keyed ? progress.boundaryKeys(inTable: index) : []
      try await session.open(
        table, after: keyed && index == resume.table ? resume.afterKey : nil,
        boundaries: boundaries)
      var rows = 0
      let columns = table.relation.columns.count
      // The next rows are fetched while this batch is encoded and made durable.
      var next = Task { try await session.fetch(Self.fetchRows, valueColumns: columns) }
      while !Task.isCancelled {
        let fetched = try await next.value
        if fetched.isEmpty { break }
        next = Task { try await session.fetch(Self.fetchRows, valueColumns: columns) }
        var records: [SourceRecord] = []
        var lastKey: String?
        for row in fetched {
          guard
            let read = try encoder.snapshotRead(
              table.relation.oid, row.values, lsn: start.lsn, xid: start.xid,
              milliseconds: start.milliseconds)
          else { continue }
          if let key = read.key, !boundaries.isEmpty {
            // An ended segment already wrote this row if its key is within that segment's
            // part of the table in the row's partition.
            let partition = Partitioner.partition(forKey: key, partitions: partitions)
            let owned = progress.boundaryKeys(inTable: index, partition: partition)
            if owned.contains(where: { row.flags[boundaries.firstIndex(of: $0)!] }) {
              skipped += 1
              continue
            }
          }
          sequence += 1
          lastKey = read.key.map { String(decoding: $0, as: UTF8.self) }
          records.append(
            SourceRecord(
              topic: read.topic, key: read.key, value: read.value, headers: read.headers,
              position: point(index, lastKey).sourcePosition(progress: nil)))
        }
        rows += fetched.count
        total += fetched.count
        if !records.isEmpty {
          records[records.count - 1].position = point(index, lastKey).sourcePosition(
            progress: progress)
          _ = try await context.send(records)
          metrics.snapshotRowsDurable(records.count)
        }
        let estimate = table.estimatedRows.map { "/~\($0)" } ?? ""
        let state = "table \(index + 1)/\(progress.tables.count) \(name), \(rows)\(estimate) rows"
        context.setDetail("snapshot", "running: " + state)
        context.setDetail("snapshot_rows", "\(total)")
        if ContinuousClock.now - lastLog >= Self.logInterval {
          lastLog = .now
          context.logger.info("snapshot progress", metadata: ["at": "\(state)"])
        }
      }
      if Task.isCancelled { throw CancellationError() }
      try await session.closeCursor()
      context.logger.info(
        "snapshot of a table done", metadata: ["table": "\(name)", "rows": "\(rows)"])
    }
    progress.done = true
    metrics.snapshotRemainingTables(0)
    sequence += 1
    try await context.commit(point(progress.tables.count, nil).sourcePosition(progress: progress))
    context.setDetail(
      "snapshot",
      "completed: \(progress.tables.count) tables, \(total) rows read in the last segment, \(progress.closed.count + 1) segments"
    )
    context.logger.info(
      "snapshot completed",
      metadata: [
        "rows": "\(total)", "skipped_already_durable": "\(skipped)",
        "segments": "\(progress.closed.count + 1)",
      ])
  }

  /// The last snapshot record of every partition of the topics of tables from `table` on.
  private func tails(of progress: SnapshotProgress, from table: Int) async throws
    -> [SnapshotProgress.Tail]
  {
    var topics: [String] = []
    for index in table..<progress.tables.count {
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
final class SnapshotReplayFilter {
  let progress: SnapshotProgress
  private let control: ControlConnection
  private let store: any TopicStore
  private let tableIndexes: [QualifiedName: Int]
  private var partitionCounts: [String: Int] = [:]
  private var comparisons: [[String]: Bool] = [:]
  /// How many changes were dropped so far.
  private(set) var dropped = 0

  private let conversion: ValueConversionOptions

  init(
    progress: SnapshotProgress, control: ControlConnection, store: any TopicStore,
    conversion: ValueConversionOptions = .debezium
  ) {
    self.progress = progress
    self.conversion = conversion
    self.control = control
    self.store = store
    var indexes: [QualifiedName: Int] = [:]
    for (i, name) in progress.tables.enumerated() { indexes[name] = i }
    tableIndexes = indexes
  }

  /// The records to write, in order.
  func keep(_ records: [ChangeRecord], tables: [UInt32: ChangeStream.Table]) async throws
    -> [ChangeRecord]
  {
    var kept: [ChangeRecord] = []
    kept.reserveCapacity(records.count)
    for record in records {
      let commit = record.position.commitLSN.value
      guard progress.mayOverlap(commitLSN: commit), let table = tables[record.relation],
        let index = tableIndexes[table.relation.qualifiedName]
      else {
        // After the last segment's LSN, or a table the snapshot did not read.
        kept.append(record)
        continue
      }
      var partition = 0
      if let key = record.key {
        partition = Partitioner.partition(
          forKey: key, partitions: try await partitions(record.topic))
      }
      let owner = try await progress.owner(
        table: index, partition: partition, hasKey: record.key != nil
      ) { boundary in
        try await self.isKey(record.key!, atOrBefore: boundary, in: table)
      }
      if commit >= owner {
        kept.append(record)
      } else {
        dropped += 1
      }
    }
    return kept
  }

  private func partitions(_ topic: String) async throws -> Int {
    if let known = partitionCounts[topic] { return known }
    let count = try await store.partitionCount(of: topic) ?? store.defaultPartitions
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
