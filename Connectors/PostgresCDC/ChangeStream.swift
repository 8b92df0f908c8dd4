import SluiceCore

/// One record the stream produced: where it goes, its Debezium key and value, its position.
struct ChangeRecord: Equatable {
  var topic: String
  var key: [UInt8]?
  /// Nil for a tombstone (the record after a delete that lets compaction drop the key).
  var value: [UInt8]?
  var position: ChangePosition
  /// The table's relation OID, for the snapshot's replay filter.
  var relation: UInt32 = 0
  /// Headers a fused `unwrap` added (``FusedUnwrap``, `add.headers`).
  var headers: [RecordHeader] = []
  /// Nil: the runtime's partitioner decides.
  var partition: Int? = nil
  /// For an event or END record of a transaction the initial snapshot may overlap, with
  /// transaction metadata: what renders it again when the replay filter drops some of the
  /// transaction's events.
  var renumbering: TransactionRenumbering? = nil
  /// Already in the topics (at or before the committed position): the replay filter only
  /// counts what it would drop of it, for the rest of its transaction.
  var written = false

  var sourceRecord: SourceRecord {
    SourceRecord(
      topic: topic, partition: partition, key: key, value: value, headers: headers,
      position: position.sourcePosition)
  }
}

/// The pgoutput stream as a state machine (STYLE.md §1): messages in, Debezium change records
/// and the LSN that may be confirmed out. It does no I/O, so every transition is unit-tested.
///
/// Exactly-once rests on two of its answers. Each record's position is its transaction's
/// commit LSN and its index inside the transaction, so positions grow in the order the slot
/// replays transactions. And ``confirmableLSN`` only moves to the end of a transaction whose
/// every change has been handed out, or to a keepalive's position between transactions; the
/// task reports it to PostgreSQL only after those records are durable.
struct ChangeStream {
  /// The settings the events depend on.
  struct Settings {
    var connectorName: String
    var database: String
    var topic: TopicTemplate
    var tombstonesOnDelete: Bool
    /// The chain's `unwrap`, when this connector renders its records (``FusedUnwrap``).
    var unwrap: FusedUnwrap? = nil
    /// The generation of the positions written (``PositionGeneration``).
    var generation: UInt32 = 0
    /// How values are written: Debezium's decimal, time, interval, binary and hstore modes.
    var conversion: ValueConversionOptions = .debezium
    /// BEGIN/END records and `transaction` blocks (``TransactionMetadata``); nil: none.
    var transactionMetadata: TransactionMetadata? = nil
    /// `schemas: true`: keys and values in the JSON converter's `{"schema","payload"}` form,
    /// with Debezium's schemas (``DebeziumSchemas``).
    var schemas: Bool { conversion.schemas }
  }

  /// A table as its latest Relation message described it.
  struct Table {
    var relation: PgOutputMessage.Relation
    var kinds: [ColumnKind]
    /// Indexes of the primary-key columns, in key order; empty: records have no key.
    var keyColumns: [Int]
    var topic: String
    /// Each column's `"name":`, and the envelope's table-specific `source` fields, rendered
    /// once per Relation message instead of once per change.
    var columnKeys: [[UInt8]]
    var columnKeysSize: Int
    var sourceFields: [UInt8]
    /// With `schemas: true`, `{"schema":<Key or Envelope schema>,"payload":` before the key and
    /// the value (closed by `}`), rendered once per Relation message; empty otherwise.
    var keySchema: [UInt8] = []
    var valueSchema: [UInt8] = []
    /// Whether its events are rendered unwrapped here rather than given to the transform
    /// (``FusedUnwrap/renders(columns:)``); false without a fused `unwrap`.
    var rendersUnwrapped = false
    /// Each column's constant default as JSON (nil: none), written for a NULL
    /// (``ChangeStream/write(_:of:to:)``); from ``ChangeStream/columnFacts``.
    var defaults: [[UInt8]?] = []

    /// Column `i`'s default as JSON, if it has one.
    func defaultJSON(_ i: Int) -> [UInt8]? { i < defaults.count ? defaults[i] : nil }
  }

  /// The transaction being received.
  struct Transaction {
    var xid: UInt32
    var commitLSN: LSN
    var commitMicroseconds: Int64
    var nextIndex: UInt32 = 0
    /// Where its Begin message sat: the LSN in the id of its BEGIN record.
    var beginLSN = LSN(0)
    /// With transaction metadata: whether its BEGIN record was handed out (it takes index 0
    /// and goes out with the first event), and its events so far.
    var begun = false
    var counts = TransactionCounts()
    /// Whether it carried Sluice's WAL heartbeat message: without changes it has no BEGIN
    /// and END records (it is Sluice's, not the database's).
    var isHeartbeat = false

    var commitMilliseconds: Int64 { TemporalConversion.floorDivide(commitMicroseconds, 1000) }
  }

  let settings: Settings
  private(set) var tables: [UInt32: Table] = [:]
  private(set) var transaction: Transaction?
  /// Primary keys of tables whose replica identity is not the primary key (FULL, USING INDEX),
  /// looked up in the catalog by the task before their Relation message is applied.
  var primaryKeys: [UInt32: [String]] = [:]
  /// Types created in the database (domains, enums, hstore…) that columns use, looked up in
  /// the catalog by the task before the Relation message naming them is applied.
  var userTypes: [UInt32: UserType] = [:]
  /// With `schemas: true`: per table, what the catalog says of its columns that pgoutput does
  /// not (NOT NULL, defaults), for Debezium's `optional` and `default` (``ColumnFacts``). A
  /// table without an entry has every column outside the primary key optional, without default.
  var columnFacts: [UInt32: ColumnFacts] = [:]
  /// Where the last commit received sat: the first half of Debezium's `source.sequence`.
  /// Nil until this stream has seen one, as Debezium's is after a snapshot.
  private(set) var lastCommitLSN: LSN?
  /// Everything before this LSN has been handed out as records (or had none).
  private(set) var confirmableLSN: LSN
  /// What was decoded since the last ``takeTally()``, for the metrics.
  private(set) var tally = ChangeTally()
  /// The clock for the envelope's `ts_ms`; replaceable in tests.
  var now: () -> Int64 = currentTimeMillis
  /// With transaction metadata, the records of transactions that commit before this LSN (the
  /// initial snapshot's last segment, whose rows may hold some of their changes) carry what
  /// renders them again (``ChangeRecord/renumbering``).
  var renumberBefore: LSN?

  init(settings: Settings, confirmed: LSN) {
    self.settings = settings
    self.confirmableLSN = confirmed
  }

  /// The type OIDs of `relation`'s columns that the catalog must describe before it is
  /// applied (types created in the database, not yet known).
  func unknownTypes(of relation: PgOutputMessage.Relation) -> [UInt32] {
    relation.columns.map(\.typeOID).filter {
      ColumnKind.needsCatalog($0) && userTypes[$0] == nil
    }
  }

  /// Whether the table of a Relation message needs its primary key from the catalog.
  static func needsCatalogKey(_ relation: PgOutputMessage.Relation) -> Bool {
    relation.replicaIdentity != UInt8(ascii: "d")
  }

  /// The tally since the last call, which starts a new one.
  mutating func takeTally() -> ChangeTally {
    defer { tally = ChangeTally() }
    return tally
  }

  /// A keepalive: between transactions, everything the server sent before it is handed out.
  mutating func keepalive(walEnd: LSN) {
    if transaction == nil, walEnd > confirmableLSN { confirmableLSN = walEnd }
  }

  /// Applies one pgoutput message that sat at `lsn` in the WAL; returns the records it makes.
  mutating func receive(_ message: PgOutputMessage, at lsn: LSN) throws(ProtocolError)
    -> [ChangeRecord]
  {
    switch message {
    case .begin(let begin):
      // With metadata, index 0 is the BEGIN record's: it sorts before every event.
      transaction = Transaction(
        xid: begin.xid, commitLSN: begin.finalLSN,
        commitMicroseconds: PostgresEpoch.microseconds(fromPostgres: begin.commitTime),
        nextIndex: settings.transactionMetadata == nil ? 0 : 1, beginLSN: lsn)
      return []
    case .commit(let commit):
      // A transaction with changes took a position past the BEGIN record's.
      let firstEventIndex: UInt32 = settings.transactionMetadata == nil ? 0 : 1
      let hadChanges = (transaction?.nextIndex ?? 0) > firstEventIndex
      let records = try closingRecords(at: lsn)
      if let transaction {
        if hadChanges { tally.transactions += 1 }
        tally.lastCommitMilliseconds = transaction.commitMilliseconds
      }
      transaction = nil
      // Debezium's last commit LSN is where the commit message sat in the stream.
      lastCommitLSN = lsn
      if commit.endLSN > confirmableLSN { confirmableLSN = commit.endLSN }
      return records
    case .relation(let relation):
      try define(relation)
      return []
    case .message(let message):
      if message.transactional, message.prefix == Self.heartbeatPrefix {
        transaction?.isHeartbeat = true
      }
      return []
    case .type, .origin:
      return []
    case .rowChange(let change):
      return opening(try receive(change, at: lsn))
    case .truncate(let truncate):
      let oids = truncate.relations
      var records: [ChangeRecord] = []
      tally.truncates += oids.count
      for oid in oids {
        if let record = try event(
          try table(oid), op: "t", key: nil, before: .none, after: .none, at: lsn)
        {
          records.append(record)
        }
      }
      return opening(records)
    }
  }

  /// The prefix of Sluice's WAL heartbeat message (``ControlConnection/heartbeat(on:)``).
  static let heartbeatPrefix = "sluice-heartbeat"

  // MARK: - Transaction metadata (TransactionMetadata.swift renders the records)

  /// `records` of a change, after the transaction's BEGIN record when they are its first
  /// (or the transform dropped them: the events still count, as in Debezium).
  private mutating func opening(_ records: [ChangeRecord]) -> [ChangeRecord] {
    guard let metadata = settings.transactionMetadata, var transaction, !transaction.begun,
      transaction.counts.total > 0
    else { return records }
    transaction.begun = true
    self.transaction = transaction
    return [beginRecord(transaction, metadata)] + records
  }

  private func beginRecord(_ transaction: Transaction, _ metadata: TransactionMetadata)
    -> ChangeRecord
  {
    Self.transactionRecord(
      ending: false, transaction, lsn: transaction.beginLSN,
      position: ChangePosition(
        commitLSN: transaction.commitLSN, index: 0, generation: settings.generation),
      metadata: metadata)
  }

  /// At a commit: the END record (after the BEGIN record when no event handed it out), at
  /// the transaction's last position; none for Sluice's own heartbeat transactions.
  private mutating func closingRecords(at lsn: LSN) throws(ProtocolError) -> [ChangeRecord] {
    guard let metadata = settings.transactionMetadata, let open = transaction,
      open.begun || !open.isHeartbeat
    else { return [] }
    var records: [ChangeRecord] = []
    if !open.begun { records.append(beginRecord(open, metadata)) }
    let position = try nextPosition()
    var end = Self.transactionRecord(
      ending: true, open, lsn: lsn, position: position, metadata: metadata)
    if let before = renumberBefore, open.commitLSN < before {
      end.renumbering = TransactionRenumbering(kind: .end(open, lsn: lsn))
    }
    records.append(end)
    return records
  }

  /// The hot path: an Insert, Update or Delete decoded from its message bytes and applied
  /// (the same records as ``receive(_:at:)`` of the decoded message); nil for other messages,
  /// which go through ``PgOutputMessage/decode(_:)`` and ``receive(_:at:)``.
  mutating func receiveRowChange(_ bytes: ArraySlice<UInt8>, at lsn: LSN) throws(ProtocolError)
    -> [ChangeRecord]?
  {
    guard RowChange.isRowChange(bytes) else { return nil }
    return opening(try receive(try RowChange.decode(bytes), at: lsn))
  }

  private mutating func receive(_ change: RowChange, at lsn: LSN) throws(ProtocolError)
    -> [ChangeRecord]
  {
    switch change {
    case .insert(let oid, let new):
      let table = try self.table(oid)
      try checkWidth(new, table)
      tally.creates += 1
      let record = try event(
        table, op: "c", key: key(of: new, table), before: .none,
        after: .row(new, substitute: nil), at: lsn)
      return record.map { [$0] } ?? []
    case .update(let oid, let old, let new):
      let table = try self.table(oid)
      try checkWidth(new, table)
      if let old { try checkWidth(old.row, table) }
      // With REPLICA IDENTITY FULL the old row has the TOAST values the new one left out.
      let after = RowJSON.row(new, substitute: old.flatMap { $0.isFull ? $0.row : nil })
      let newKey = key(of: new, table)
      let before = old.map(RowJSON.old) ?? .none
      if let old, !table.keyColumns.isEmpty, let oldKey = key(of: old.row, table),
        oldKey != newKey
      {
        // The key changed: as Debezium does, a delete of the old key and a create of the new,
        // so each key's partition sees its own history.
        tally.deletes += 1
        tally.creates += 1
        var records: [ChangeRecord] = []
        if let record = try event(
          table, op: "d", key: oldKey, before: before, after: .none, at: lsn)
        {
          records.append(record)
        }
        if settings.tombstonesOnDelete, let record = try tombstone(table, key: oldKey) {
          records.append(record)
        }
        if let record = try event(table, op: "c", key: newKey, before: .none, after: after, at: lsn)
        {
          records.append(record)
        }
        return records
      }
      tally.updates += 1
      let record = try event(table, op: "u", key: newKey, before: before, after: after, at: lsn)
      return record.map { [$0] } ?? []
    case .delete(let oid, let old):
      let table = try self.table(oid)
      try checkWidth(old.row, table)
      tally.deletes += 1
      let key = key(of: old.row, table)
      var records: [ChangeRecord] = []
      if let record = try event(table, op: "d", key: key, before: .old(old), after: .none, at: lsn)
      {
        records.append(record)
      }
      if settings.tombstonesOnDelete, key != nil, let record = try tombstone(table, key: key) {
        records.append(record)
      }
      return records
    }
  }

  // MARK: - Tables

  /// Each column's constant default, converted as its values are.
  static func defaults(
    of relation: PgOutputMessage.Relation, kinds: [ColumnKind], facts: ColumnFacts?,
    options: ValueConversionOptions
  ) -> [[UInt8]?] {
    relation.columns.enumerated().map { i, column in
      guard let literal = facts?.columns[column.name]?.defaultLiteral else { return nil }
      var out = JSONWriter()
      ValueConverter.write(Array(literal.utf8)[...], as: kinds[i], options: options, to: &out)
      return out.bytes
    }
  }

  private mutating func define(_ relation: PgOutputMessage.Relation) throws(ProtocolError) {
    let names = relation.columns.map(\.name)
    var keyColumns: [Int]
    if Self.needsCatalogKey(relation) {
      keyColumns = (primaryKeys[relation.oid] ?? []).compactMap { names.firstIndex(of: $0) }
    } else {
      keyColumns = relation.columns.indices.filter { relation.columns[$0].isKey }
    }
    if relation.replicaIdentity == UInt8(ascii: "n") { keyColumns = [] }
    let topic = try Self.topic(for: relation.qualifiedName, settings: settings)
    let columnKeys = relation.columns.map { column in
      var out = JSONWriter(capacity: column.name.utf8.count + 3)
      out.key(column.name)
      return out.bytes
    }
    var source = JSONWriter()
    source.raw(",\"schema\":")
    source.string(relation.schema)
    source.raw(",\"table\":")
    source.string(relation.name)
    source.raw(",\"txId\":")
    var table = Table(
      relation: relation,
      kinds: relation.columns.map {
        ColumnKind.of($0.typeOID, modifier: $0.typeModifier, userTypes: userTypes)
      },
      keyColumns: keyColumns, topic: topic, columnKeys: columnKeys,
      columnKeysSize: columnKeys.reduce(0) { $0 + $1.count }, sourceFields: source.bytes,
      rendersUnwrapped: settings.unwrap?.renders(columns: names) ?? false)
    table.defaults = Self.defaults(
      of: relation, kinds: table.kinds, facts: columnFacts[relation.oid],
      options: settings.conversion)
    if settings.schemas {
      let value = DebeziumSchemas.value(
        of: relation, keyColumns: keyColumns, topic: topic, userTypes: userTypes,
        options: settings.conversion, facts: columnFacts[relation.oid])
      table.valueSchema = DebeziumSchemas.prefix(
        DebeziumSchemas.envelope(value: value, topic: topic))
      if let key = DebeziumSchemas.key(
        of: relation, keyColumns: keyColumns, topic: topic, userTypes: userTypes,
        options: settings.conversion)
      {
        table.keySchema = DebeziumSchemas.prefix(key)
      }
    }
    tables[relation.oid] = table
  }

  /// The topic of a table's records: the `topic:` template with its schema, name and database.
  static func topic(for table: QualifiedName, settings: Settings) throws(ProtocolError) -> String {
    do throws(TemplateError) {
      return try settings.topic.render { name in
        switch name {
        case "schema": Self.topicSafe(table.schema)
        case "table": Self.topicSafe(table.table)
        case "db": Self.topicSafe(settings.database)
        default: nil
        }
      }
    } catch {
      throw ProtocolError("table \(table): \(error.message)")
    }
  }

  /// Characters a topic name cannot hold become `_`, as Debezium's topic naming does.
  static func topicSafe(_ name: String) -> String {
    String(String.UnicodeScalarView(name.unicodeScalars.map { TopicName.isLegal($0) ? $0 : "_" }))
  }

  /// The table of relation `oid`, which a Relation message must have defined.
  func table(_ oid: UInt32) throws(ProtocolError) -> Table {
    guard let table = tables[oid] else {
      throw ProtocolError("a change for relation \(oid) before its Relation message")
    }
    return table
  }

  // MARK: - Events (rendered in ChangeStream+Envelope.swift)

  private func checkWidth(_ row: Row, _ table: Table) throws(ProtocolError) {
    guard row.count == table.relation.columns.count else {
      throw ProtocolError(
        "a row of \(table.relation.schema).\(table.relation.name) has \(row.count) values for \(table.relation.columns.count) columns"
      )
    }
  }

  private mutating func nextPosition() throws(ProtocolError) -> ChangePosition {
    guard var transaction else { throw ProtocolError("a change outside a transaction") }
    defer {
      transaction.nextIndex += 1
      self.transaction = transaction
    }
    return ChangePosition(
      commitLSN: transaction.commitLSN, index: transaction.nextIndex,
      generation: settings.generation)
  }

  /// A streamed change as a record at the next position of its transaction; nil when a fused
  /// `unwrap` drops it (its position is taken all the same).
  private mutating func event(
    _ table: Table, op: StaticString, key: [UInt8]?, before: RowJSON, after: RowJSON,
    at lsn: LSN
  ) throws(ProtocolError) -> ChangeRecord? {
    let position = try nextPosition()
    var event = Event(
      op: op, before: before, after: after, microseconds: transaction!.commitMicroseconds,
      snapshot: "false", lastCommitLSN: lastCommitLSN, xid: UInt64(transaction!.xid), lsn: lsn)
    if settings.transactionMetadata != nil {
      let order = transaction!.counts.count(
        table.relation.oid, name: table.relation.schema + "." + table.relation.name)
      event.transaction = TransactionBlock(
        xid: event.xid, lsn: lsn, totalOrder: order.total, collectionOrder: order.collection)
    }
    guard
      let (topic, value, headers) = try render(event, of: table, key: key)
    else { return nil }
    var record = ChangeRecord(
      topic: topic, key: key, value: value, position: position,
      relation: table.relation.oid, headers: headers)
    if event.transaction != nil, let before = renumberBefore, transaction!.commitLSN < before {
      record.renumbering = TransactionRenumbering(kind: .event(event, key: key))
    }
    return record
  }

  /// The tombstone after a delete; nil when a fused `unwrap` drops it (`drop.tombstones`).
  private mutating func tombstone(_ table: Table, key: [UInt8]?) throws(ProtocolError)
    -> ChangeRecord?
  {
    let position = try nextPosition()
    var headers: [RecordHeader] = []
    if let unwrap = settings.unwrap {
      // The transform's handling of the connector's tombstones, which it never sees as an
      // envelope: dropped, or kept with its `op` header.
      guard !unwrap.transform.dropsTombstones else { return nil }
      for header in unwrap.transform.headers where header.name == "op" {
        headers.append(RecordHeader(header.newName, "d"))
      }
    }
    return ChangeRecord(
      topic: table.topic, key: key, value: nil, position: position,
      relation: table.relation.oid, headers: headers)
  }

  // MARK: - Snapshot reads

  /// A row the initial snapshot read from table `oid` (defined by a Relation message first),
  /// as Debezium's `op: "r"` event: its topic, key and value.
  func snapshotRead(
    _ oid: UInt32, _ values: [PgOutputMessage.TupleValue], lsn: LSN, xid: UInt64,
    milliseconds: Int64
  ) throws(ProtocolError) -> ChangeRecord? {
    try snapshotRead(
      Row(values), of: self.table(oid), lsn: lsn, xid: xid, milliseconds: milliseconds)
  }

  /// A row the initial snapshot read from `table` (one of ``tables``, looked up once by a
  /// reader for all its rows) as Debezium's `op: "r"` event. `mark` is Debezium's
  /// `source.snapshot` for it (``SnapshotMark``); `sourceAndOp`, when given, is what
  /// ``readSourceAndOp(_:lsn:xid:milliseconds:mark:)`` returned for the same values;
  /// `madeMilliseconds`, when given, is the envelope's `ts_ms` (else the clock's now).
  func snapshotRead(
    _ row: Row, of table: Table, lsn: LSN, xid: UInt64, milliseconds: Int64,
    mark: SnapshotMark = .middle, sourceAndOp: [UInt8]? = nil, madeMilliseconds: Int64? = nil
  ) throws(ProtocolError) -> ChangeRecord? {
    try checkWidth(row, table)
    var event = readEvent(lsn: lsn, xid: xid, milliseconds: milliseconds, mark: mark)
    event.after = .row(row, substitute: nil)
    event.renderedSourceAndOp = sourceAndOp
    event.madeMilliseconds = madeMilliseconds
    let key = key(of: row, table)
    guard let (topic, value, headers) = try render(event, of: table, key: key) else { return nil }
    // The snapshot gives each record its own position.
    return ChangeRecord(
      topic: topic, key: key, value: value, position: ChangePosition(commitLSN: lsn, index: 0),
      relation: table.relation.oid, headers: headers)
  }

  /// The `source`, `transaction` and `op` of every read of `table` with these values, rendered
  /// once for ``snapshotRead(_:of:lsn:xid:milliseconds:mark:sourceAndOp:madeMilliseconds:)``.
  func readSourceAndOp(
    _ table: Table, lsn: LSN, xid: UInt64, milliseconds: Int64, mark: SnapshotMark
  ) -> [UInt8] {
    sourceAndOp(table, readEvent(lsn: lsn, xid: xid, milliseconds: milliseconds, mark: mark))
  }

  private func readEvent(lsn: LSN, xid: UInt64, milliseconds: Int64, mark: SnapshotMark) -> Event {
    Event(
      op: "r", before: .none, after: .none, microseconds: milliseconds * 1000,
      snapshot: mark.text, lastCommitLSN: nil, xid: xid, lsn: lsn)
  }
}
