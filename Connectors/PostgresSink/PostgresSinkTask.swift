import Dispatch
import Foundation
import SluiceCore
import SluicePostgres

/// Applies batches of records to PostgreSQL tables, exactly once (DESIGN.md §3).
///
/// Each batch is one transaction holding its rows and the task's next offsets in the offsets
/// table; on start the task resumes from that table. All libpq work runs on the task's own
/// serial queue.
///
/// Pipelining: once a batch has gone through, `put` hands the next one to the queue and returns,
/// so the worker reads and this task decodes and encodes batch N+1 while PostgreSQL writes batch
/// N. The following `put` (or `open`, `close`) waits for batch N first; if it failed, that `put`
/// throws ``SinkRewind`` and the worker resumes from the offsets table, with the next few puts
/// waiting for their own batches so errors are reported against the records that caused them.
///
/// Threading: `connection`, `offsetsReady` and `stagingCount` are touched only on the queue.
/// `tables` is written only on the queue while no batch is in flight, so `put` may read it.
/// `inFlight` and `synchronousPuts` belong to `put`/`open`/`close`, which the worker calls one at
/// a time.
final class PostgresSinkTask: SinkTask, @unchecked Sendable {
  let config: PostgresSinkConfig
  let context: any SinkTaskContext
  private let queue = DispatchQueue(label: "sluice.postgres-sink")
  private var connection: PostgresConnection?
  private var tables: [TableName: TableSchema] = [:]
  private var offsetsReady = false
  private var stagingCount = 0
  private let upserts = UpsertHistory()
  private var inFlight: PendingWrite?
  private var synchronousPuts = PostgresSinkTask.synchronousStart
  /// How many puts wait for their own batch after `open` or a failure.
  private static let synchronousStart = 3

  init(config: PostgresSinkConfig, context: any SinkTaskContext) {
    self.config = config
    self.context = context
  }

  func open(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    // Whatever happened to a batch in flight, the offsets table says where each partition is.
    try? await inFlight?.wait()
    inFlight = nil
    synchronousPuts = Self.synchronousStart
    return try await onQueue { try self.storedOffsets(for: Set(partitions)) }
  }

  func put(_ records: [Record]) async throws {
    let changes = try decode(records)
    // With known tables, plan now: this overlaps the write of the batch in flight.
    let planner = BatchPlanner(mode: config.mode, tables: tables)
    var steps = isPrepared(changes) ? planner.plan(changes, fold: true) : nil
    if let previous = inFlight {
      inFlight = nil
      do {
        try await previous.wait()
      } catch {
        synchronousPuts = Self.synchronousStart
        throw SinkRewind(reason: "\(error)")
      }
    }
    if synchronousPuts > 0 {
      do {
        try await onQueue { try self.apply(records, changes) }
      } catch {
        synchronousPuts = Self.synchronousStart
        throw error
      }
      synchronousPuts -= 1
      return
    }
    if steps == nil {
      try await onQueue { _ = try self.prepare(changes, records) }
      steps = BatchPlanner(mode: config.mode, tables: tables).plan(changes, fold: true)
    }
    let (work, offsets) = (steps!, nextOffsets(of: records))
    // Straight onto the queue: a Task would first wait for a free cooperative thread.
    let pending = PendingWrite()
    queue.async { pending.finish(Result { try self.write(work, offsets: offsets) }) }
    inFlight = pending
  }

  func close() async {
    try? await inFlight?.wait()
    inFlight = nil
    try? await onQueue { self.connection = nil }
  }

  private func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try work() }) }
    }
  }

  // MARK: - Connection

  private func connected() throws -> PostgresConnection {
    if let connection, connection.isHealthy { return connection }
    if connection != nil {
      context.logger.warning("PostgreSQL connection lost; reconnecting")
    }
    // A new session has none of the old one's temporary staging tables.
    connection = nil
    tables = [:]
    offsetsReady = false
    let fresh = try PostgresConnection(
      url: config.url, password: config.password, applicationName: "sluice \(config.name)")
    try fresh.execute("SET synchronous_commit = on")
    connection = fresh
    context.setDetail("database", "connected")
    return fresh
  }

  /// Drops a connection that failed so the next attempt starts a fresh session.
  private func recover(after error: any Error) {
    guard let connection else { return }
    if connection.isHealthy {
      _ = try? connection.execute("ROLLBACK")
    } else {
      self.connection = nil
      context.setDetail("database", "reconnecting: \(error)")
    }
  }

  // MARK: - Offsets

  private var offsetsTable: String { quoteIdentifier(config.offsetsTable) }

  private func ensureOffsetsTable(_ connection: PostgresConnection) throws {
    guard !offsetsReady else { return }
    // Several sinks (tasks of one connector, or connectors) often start together on a fresh
    // database: `changeSchema` makes their creations of the one table take turns.
    try connection.changeSchema(
      Self.createOffsetsTable(offsetsTable), object: "table \(config.offsetsTable)")
    offsetsReady = true
  }

  /// The offsets table, `quotedName` being its quoted name (the offsets API creates it too).
  static func createOffsetsTable(_ quotedName: String) -> String {
    """
    CREATE TABLE IF NOT EXISTS \(quotedName) (
      connector text NOT NULL, topic text NOT NULL, "partition" integer NOT NULL,
      next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connector, topic, "partition"))
    """
  }

  private func storedOffsets(for partitions: Set<TopicPartition>) throws -> [TopicPartition: Int64]
  {
    let connection = try connected()
    do {
      try ensureOffsetsTable(connection)
      let rows = try connection.execute(
        "SELECT topic, \"partition\", next_offset FROM \(offsetsTable) WHERE connector = $1",
        [config.name])
      var found: [TopicPartition: Int64] = [:]
      for row in rows {
        guard let topic = row[0], let partition = row[1].flatMap({ Int($0) }),
          let next = row[2].flatMap({ Int64($0) })
        else { continue }
        let tp = TopicPartition(topic, partition)
        if partitions.contains(tp) { found[tp] = next }
      }
      // A partition without a row has had nothing committed: it starts at the topic's start
      // (0 is clamped to it), whatever the worker may remember.
      for tp in partitions where found[tp] == nil { found[tp] = 0 }
      if found.values.contains(where: { $0 > 0 }) {
        context.logger.info(
          "resuming from the database's offsets table",
          metadata: ["table": "\(config.offsetsTable)", "offsets": "\(found)"])
      }
      return found
    } catch {
      recover(after: error)
      throw error
    }
  }

  /// The next offset of every partition in `records`.
  private func nextOffsets(of records: [Record]) -> [TopicPartition: Int64] {
    var next: [TopicPartition: Int64] = [:]
    // Records come in runs per partition: touch the dictionary once per run.
    var run: (TopicPartition, Int64)?
    for record in records {
      if let (tp, offset) = run, tp.partition == record.partition, tp.topic == record.topic {
        run = (tp, max(offset, record.offset + 1))
        continue
      }
      if let (tp, offset) = run { next[tp] = max(next[tp] ?? 0, offset) }
      run = (record.topicPartition, record.offset + 1)
    }
    if let (tp, offset) = run { next[tp] = max(next[tp] ?? 0, offset) }
    return next
  }

  /// The statement that records the next offset of each partition, run in the batch's
  /// transaction just before its COMMIT. Connector and topic names are limited to letters,
  /// digits, `.`, `_` and `-`, so they are safe as literals (quotes are doubled all the same).
  private func offsetsStatement(_ next: [TopicPartition: Int64]) -> String {
    func literal(_ text: String) -> String {
      "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
    let rows = next.sorted(by: { $0.key < $1.key }).map { tp, offset in
      "(\(literal(config.name)), \(literal(tp.topic)), \(tp.partition), \(offset), clock_timestamp())"
    }
    return """
      INSERT INTO \(offsetsTable) (connector, topic, "partition", next_offset, updated_at)
      VALUES \(rows.joined(separator: ", "))
      ON CONFLICT (connector, topic, "partition")
      DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
      """
  }

  // MARK: - Batches

  private func decode(_ records: [Record]) throws -> [RowChange] {
    let decoder = RowChangeDecoder(config: config)
    var changes: [RowChange] = []
    changes.reserveCapacity(records.count)
    for (index, record) in records.enumerated() {
      do {
        if let change = try decoder.change(for: record, at: index) { changes.append(change) }
      } catch {
        throw SinkRecordError(record: record, reason: error.description)
      }
    }
    return changes
  }

  /// Applies a batch and waits for its commit; a data error is traced to its record.
  private func apply(_ records: [Record], _ changes: [RowChange]) throws {
    let connection = try prepare(changes, records)
    do {
      let steps = BatchPlanner(mode: config.mode, tables: tables).plan(changes, fold: true)
      try write(steps, offsets: nextOffsets(of: records))
    } catch let error as PostgresError where error.isDataError {
      try isolate(records, changes, on: connection)
    }
  }

  /// Connects if needed and creates or evolves the tables a batch needs, before it is planned.
  @discardableResult
  private func prepare(_ changes: [RowChange], _ records: [Record]) throws -> PostgresConnection {
    let connection = try connected()
    do {
      try ensureOffsetsTable(connection)
      try prepareTables(for: changes, records: records, on: connection)
    } catch {
      recover(after: error)
      throw error
    }
    return connection
  }

  /// Writes a planned batch with its offsets in one transaction; after a failure the
  /// transaction is rolled back (or the broken connection dropped).
  private func write(_ steps: [PlannedStep], offsets: [TopicPartition: Int64]) throws {
    guard let connection, connection.isHealthy else {
      throw PostgresError(sqlState: nil, message: "PostgreSQL connection lost")
    }
    do {
      var writer = BatchWriter(
        connection: connection, mode: config.mode, tables: tables, history: upserts)
      try writer.execute(steps)
      try writer.commit(after: offsetsStatement(offsets))
    } catch {
      recover(after: error)
      throw error
    }
  }

  /// After a batch failed on its data: applies the changes one at a time in one transaction to
  /// find the record at fault; the worker then commits those before it and dead-letters or fails
  /// on it. If none fails alone (the batch's failure depended on folding), commits them all.
  private func isolate(
    _ records: [Record], _ changes: [RowChange], on connection: PostgresConnection
  ) throws {
    do {
      var writer = BatchWriter(connection: connection, mode: config.mode, tables: tables)
      for change in changes {
        do {
          try writer.apply([change], fold: false)
        } catch let error as PostgresError where error.isDataError {
          _ = try? connection.execute("ROLLBACK")
          throw SinkRecordError(
            record: records[change.recordIndex], reason: "PostgreSQL: \(error.description)")
        }
      }
      try writer.commit(after: offsetsStatement(nextOffsets(of: records)))
    } catch let error as SinkRecordError {
      throw error
    } catch {
      recover(after: error)
      throw error
    }
  }

  /// Whether the cached schemas already cover every change: the common case, checked cheaply
  /// (consecutive records usually share their table and field names).
  private func isPrepared(_ changes: [RowChange]) -> Bool {
    var previous: RowChange?
    for change in changes where change.kind != .truncate {
      if let previous, previous.table == change.table, previous.kind == change.kind,
        previous.fields.hasColumns(of: change.fields), previous.key.hasColumns(of: change.key)
      {
        continue
      }
      guard let schema = tables[change.table] else { return false }
      if schema.staging == nil && (config.mode != .insert || change.kind == .delete) {
        return false
      }
      for value in change.fields where schema.columns[value.column] == nil { return false }
      for value in change.key where schema.columns[value.column] == nil { return false }
      previous = change
    }
    return true
  }

  /// Makes sure every table of the batch exists with every column it needs (creating or
  /// evolving it when allowed) and has a staging table when the batch merges or deletes.
  /// Runs outside the batch's transaction, so a rolled-back batch leaves the cache true.
  private func prepareTables(
    for changes: [RowChange], records: [Record], on connection: PostgresConnection
  ) throws {
    if isPrepared(changes) { return }
    var firstChange: [TableName: RowChange] = [:]
    var order: [TableName] = []
    for change in changes where change.kind != .truncate {
      if firstChange[change.table] == nil {
        firstChange[change.table] = change
        order.append(change.table)
      }
    }
    // The extension types the database has, looked up once when a record's schema is read.
    var available: Set<String>?
    func described(_ change: RowChange) throws -> [String: SchemaColumn] {
      guard change.schema != nil else { return [:] }
      if available == nil { available = try SchemaColumn.available(on: connection) }
      return SchemaColumn.columns(of: change.schema, available: available ?? [])
    }
    for table in order {
      var schema = try tables[table] ?? TableSchema.load(table, on: connection)
      if schema.columns.isEmpty {
        guard config.autoCreate else {
          throw PostgresError(
            sqlState: nil,
            message:
              "table \(table) does not exist; create it or set auto_create: true to let the sink create it"
          )
        }
        let sample = changes.first { $0.table == table && $0.kind == .write } ?? firstChange[table]!
        try connection.changeSchema(
          TableSchema.createStatement(for: sample, described: described(sample)),
          object: "table \(table)")
        context.logger.info("created table", metadata: ["table": "\(table)"])
        schema = try TableSchema.load(table, on: connection)
      }
      var missing: [(FieldValue, RowChange)] = []
      var seen = Set<String>()
      for change in changes where change.table == table {
        for value in change.fields + change.key
        where schema.columns[value.column] == nil && seen.insert(value.column).inserted {
          missing.append((value, change))
        }
      }
      if let (value, change) = missing.first, !config.autoEvolve {
        throw SinkRecordError(
          record: records[change.recordIndex],
          reason:
            "column \"\(value.column)\" does not exist in table \(table); add it or set auto_evolve: true"
        )
      }
      if !missing.isEmpty {
        var describedBy: [Int: [String: SchemaColumn]] = [:]
        for (value, change) in missing {
          if describedBy[change.recordIndex] == nil {
            describedBy[change.recordIndex] = try described(change)
          }
          let definition =
            describedBy[change.recordIndex]?[value.column]?.definition(value.column, notNull: false)
            ?? "\(quoteIdentifier(value.column)) \(TableSchema.inferredType(of: value))"
          try connection.changeSchema(
            "ALTER TABLE \(table.quoted) ADD COLUMN IF NOT EXISTS \(definition)",
            object: "table \(table)")
        }
        context.logger.info(
          "added columns", metadata: ["table": "\(table)", "columns": "\(missing.map(\.0.column))"])
        if let staging = schema.staging {
          try connection.execute("DROP TABLE IF EXISTS \(staging)")
        }
        schema = try TableSchema.load(table, on: connection)
      }
      let needsStaging =
        config.mode != .insert || changes.contains { $0.table == table && $0.kind == .delete }
      if needsStaging && schema.staging == nil {
        stagingCount += 1
        let staging = quoteIdentifier("sluice_staging_\(stagingCount)")
        // CREATE TABLE AS copies the column types but not NOT NULL or defaults, so a staging
        // row may hold just the key columns of a delete.
        try connection.execute(
          "CREATE TEMP TABLE IF NOT EXISTS \(staging) AS SELECT * FROM \(table.quoted) WITH NO DATA"
        )
        schema.staging = staging
      }
      tables[table] = schema
    }
  }
}

/// The outcome of a batch written in the background, awaited by the next `put`.
final class PendingWrite: @unchecked Sendable {
  private let lock = NSLock()
  private var result: Result<Void, any Error>?
  private var waiter: CheckedContinuation<Void, any Error>?

  func finish(_ outcome: Result<Void, any Error>) {
    let waiter: CheckedContinuation<Void, any Error>? = lock.withLock {
      defer { self.waiter = nil }
      if self.waiter == nil { result = outcome }
      return self.waiter
    }
    waiter?.resume(with: outcome)
  }

  func wait() async throws {
    try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<Void, any Error>) in
      let done: Result<Void, any Error>? = lock.withLock {
        if result == nil { waiter = continuation }
        return result
      }
      if let done { continuation.resume(with: done) }
    }
  }
}
