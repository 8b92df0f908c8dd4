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

  var sourceRecord: SourceRecord {
    SourceRecord(topic: topic, key: key, value: value, position: position.sourcePosition)
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
  }

  /// A table as its latest Relation message described it.
  struct Table {
    var relation: PgOutputMessage.Relation
    var kinds: [ValueConverter.Kind]
    /// Indexes of the primary-key columns, in key order; empty: records have no key.
    var keyColumns: [Int]
    var topic: String
  }

  /// The transaction being received.
  struct Transaction {
    var xid: UInt32
    var commitLSN: LSN
    var commitMilliseconds: Int64
    var nextIndex: UInt32 = 0
  }

  let settings: Settings
  private(set) var tables: [UInt32: Table] = [:]
  private(set) var transaction: Transaction?
  /// Primary keys of tables whose replica identity is not the primary key (FULL, USING INDEX),
  /// looked up in the catalog by the task before their Relation message is applied.
  var primaryKeys: [UInt32: [String]] = [:]
  /// Everything before this LSN has been handed out as records (or had none).
  private(set) var confirmableLSN: LSN
  /// The clock for the envelope's `ts_ms`; replaceable in tests.
  var now: () -> Int64 = currentTimeMillis

  init(settings: Settings, confirmed: LSN) {
    self.settings = settings
    self.confirmableLSN = confirmed
  }

  /// Whether the table of a Relation message needs its primary key from the catalog.
  static func needsCatalogKey(_ relation: PgOutputMessage.Relation) -> Bool {
    relation.replicaIdentity != UInt8(ascii: "d")
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
      transaction = Transaction(
        xid: begin.xid, commitLSN: begin.finalLSN,
        commitMilliseconds: PostgresEpoch.milliseconds(fromPostgres: begin.commitTime))
      return []
    case .commit(let commit):
      transaction = nil
      if commit.endLSN > confirmableLSN { confirmableLSN = commit.endLSN }
      return []
    case .relation(let relation):
      try define(relation)
      return []
    case .type, .origin, .message:
      return []
    case .insert(let oid, let new):
      let table = try self.table(oid)
      let after = try row(new, of: table, substitute: nil)
      return [
        try event(table, op: "c", key: key(of: new, table), before: nil, after: after, at: lsn)
      ]
    case .update(let oid, let old, let new):
      let table = try self.table(oid)
      let oldValues = old.map { $0.values }
      // With REPLICA IDENTITY FULL the old row has the TOAST values the new one left out.
      let after = try row(new, of: table, substitute: old?.fullRow)
      let newKey = try key(of: new, table)
      var before: [UInt8]?
      if let old { before = try oldRow(old, of: table) }
      if let oldValues, !table.keyColumns.isEmpty, let oldKey = try key(of: oldValues, table),
        oldKey != newKey
      {
        // The key changed: as Debezium does, a delete of the old key and a create of the new,
        // so each key's partition sees its own history.
        var records = [try event(table, op: "d", key: oldKey, before: before, after: nil, at: lsn)]
        if settings.tombstonesOnDelete { records.append(try tombstone(table, key: oldKey)) }
        records.append(try event(table, op: "c", key: newKey, before: nil, after: after, at: lsn))
        return records
      }
      return [try event(table, op: "u", key: newKey, before: before, after: after, at: lsn)]
    case .delete(let oid, let old):
      let table = try self.table(oid)
      let key = try key(of: old.values, table)
      var records = [
        try event(table, op: "d", key: key, before: try oldRow(old, of: table), after: nil, at: lsn)
      ]
      if settings.tombstonesOnDelete, key != nil { records.append(try tombstone(table, key: key)) }
      return records
    case .truncate(let oids, _, _):
      var records: [ChangeRecord] = []
      for oid in oids {
        records.append(
          try event(try table(oid), op: "t", key: nil, before: nil, after: nil, at: lsn))
      }
      return records
    }
  }

  // MARK: - Tables

  private mutating func define(_ relation: PgOutputMessage.Relation) throws(ProtocolError) {
    let names = relation.columns.map(\.name)
    var keyColumns: [Int]
    if Self.needsCatalogKey(relation) {
      keyColumns = (primaryKeys[relation.oid] ?? []).compactMap { names.firstIndex(of: $0) }
    } else {
      keyColumns = relation.columns.indices.filter { relation.columns[$0].isKey }
    }
    if relation.replicaIdentity == UInt8(ascii: "n") { keyColumns = [] }
    let topic = try Self.topic(
      for: QualifiedName(schema: relation.schema, table: relation.name), settings: settings)
    tables[relation.oid] = Table(
      relation: relation, kinds: relation.columns.map { ValueConverter.kind(of: $0.typeOID) },
      keyColumns: keyColumns, topic: topic)
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

  private func table(_ oid: UInt32) throws(ProtocolError) -> Table {
    guard let table = tables[oid] else {
      throw ProtocolError("a change for relation \(oid) before its Relation message")
    }
    return table
  }

  // MARK: - Events

  /// The row as a JSON object; unchanged TOAST values come from `substitute` (the old row)
  /// when it has them, else they are Debezium's placeholder.
  private func row(
    _ values: [PgOutputMessage.TupleValue], of table: Table,
    substitute: [PgOutputMessage.TupleValue]?
  ) throws(ProtocolError) -> [UInt8] {
    try checkWidth(values, table)
    var out = JSONWriter()
    out.byte("{")
    for (i, column) in table.relation.columns.enumerated() {
      if i > 0 { out.byte(",") }
      out.key(column.name)
      var value = values[i]
      if value == .unchangedToast, let substitute, i < substitute.count,
        case .text = substitute[i]
      {
        value = substitute[i]
      }
      write(value, kind: table.kinds[i], to: &out)
    }
    out.byte("}")
    return out.bytes
  }

  /// `before`: the whole old row (REPLICA IDENTITY FULL) or only its key columns.
  private func oldRow(_ old: PgOutputMessage.OldTuple, of table: Table) throws(ProtocolError)
    -> [UInt8]
  {
    switch old {
    case .full(let values):
      return try row(values, of: table, substitute: nil)
    case .key(let values):
      try checkWidth(values, table)
      var out = JSONWriter()
      out.byte("{")
      var first = true
      for (i, column) in table.relation.columns.enumerated() where column.isKey {
        if !first { out.byte(",") }
        first = false
        out.key(column.name)
        write(values[i], kind: table.kinds[i], to: &out)
      }
      out.byte("}")
      return out.bytes
    }
  }

  /// Debezium's key: `{"<pk column>": value, …}`; nil for tables without a key.
  private func key(of values: [PgOutputMessage.TupleValue], _ table: Table) throws(ProtocolError)
    -> [UInt8]?
  {
    guard !table.keyColumns.isEmpty else { return nil }
    try checkWidth(values, table)
    var out = JSONWriter(capacity: 32)
    out.byte("{")
    for (n, i) in table.keyColumns.enumerated() {
      if n > 0 { out.byte(",") }
      out.key(table.relation.columns[i].name)
      write(values[i], kind: table.kinds[i], to: &out)
    }
    out.byte("}")
    return out.bytes
  }

  private func write(
    _ value: PgOutputMessage.TupleValue, kind: ValueConverter.Kind, to out: inout JSONWriter
  ) {
    switch value {
    case .null: out.null()
    case .unchangedToast: out.string(ValueConverter.unavailable)
    case .text(let text): ValueConverter.write(text, as: kind, to: &out)
    }
  }

  private func checkWidth(_ values: [PgOutputMessage.TupleValue], _ table: Table)
    throws(ProtocolError)
  {
    guard values.count == table.relation.columns.count else {
      throw ProtocolError(
        "a row of \(table.relation.schema).\(table.relation.name) has \(values.count) values for \(table.relation.columns.count) columns"
      )
    }
  }

  private mutating func nextPosition() throws(ProtocolError) -> ChangePosition {
    guard var transaction else { throw ProtocolError("a change outside a transaction") }
    defer {
      transaction.nextIndex += 1
      self.transaction = transaction
    }
    return ChangePosition(commitLSN: transaction.commitLSN, index: transaction.nextIndex)
  }

  /// A streamed change as a record at the next position of its transaction.
  private mutating func event(
    _ table: Table, op: String, key: [UInt8]?, before: [UInt8]?, after: [UInt8]?, at lsn: LSN
  ) throws(ProtocolError) -> ChangeRecord {
    let position = try nextPosition()
    let transaction = self.transaction!
    let value = envelope(
      table, op: op, before: before, after: after,
      source: .init(
        milliseconds: transaction.commitMilliseconds, snapshot: "false",
        xid: UInt64(transaction.xid), lsn: lsn.value))
    return ChangeRecord(
      topic: table.topic, key: key, value: value, position: position,
      relation: table.relation.oid)
  }

  /// What the envelope's `source` block says beyond the table.
  private struct SourceFields {
    var milliseconds: Int64
    /// Debezium's `snapshot`: "false" for streamed changes, "true" for snapshot reads.
    var snapshot: String
    var xid: UInt64
    var lsn: UInt64
  }

  /// The Debezium envelope: before, after, source, op, ts_ms.
  private func envelope(
    _ table: Table, op: String, before: [UInt8]?, after: [UInt8]?, source: SourceFields
  ) -> [UInt8] {
    var out = JSONWriter(capacity: 256 + (before?.count ?? 0) + (after?.count ?? 0))
    out.raw("{\"before\":")
    if let before { out.raw(before) } else { out.null() }
    out.raw(",\"after\":")
    if let after { out.raw(after) } else { out.null() }
    out.raw(",\"source\":{\"version\":\"sluice\",\"connector\":\"postgresql\",\"name\":")
    out.string(settings.connectorName)
    out.raw(",\"ts_ms\":\(source.milliseconds),\"snapshot\":\"\(source.snapshot)\",\"db\":")
    out.string(settings.database)
    out.raw(",\"schema\":")
    out.string(table.relation.schema)
    out.raw(",\"table\":")
    out.string(table.relation.name)
    out.raw(",\"txId\":\(source.xid),\"lsn\":\(source.lsn)},\"op\":\"\(op)\",\"ts_ms\":\(now())}")
    return out.bytes
  }

  // MARK: - Snapshot reads

  /// A row the initial snapshot read from table `oid` (defined by a Relation message first),
  /// as Debezium's `op: "r"` event: its topic, key and value.
  func snapshotRead(
    _ oid: UInt32, _ values: [PgOutputMessage.TupleValue], lsn: LSN, xid: UInt64,
    milliseconds: Int64
  ) throws(ProtocolError) -> (topic: String, key: [UInt8]?, value: [UInt8]) {
    let table = try self.table(oid)
    let after = try row(values, of: table, substitute: nil)
    let value = envelope(
      table, op: "r", before: nil, after: after,
      source: .init(milliseconds: milliseconds, snapshot: "true", xid: xid, lsn: lsn.value))
    return (table.topic, try key(of: values, table), value)
  }

  private mutating func tombstone(_ table: Table, key: [UInt8]?) throws(ProtocolError)
    -> ChangeRecord
  {
    ChangeRecord(
      topic: table.topic, key: key, value: nil, position: try nextPosition(),
      relation: table.relation.oid)
  }
}
