// What the fuzzed CDC files (pgoutput and config targets) use from Connectors/PostgresCDC/SnapshotSession.swift, which
// needs a live libpq connection and is not compiled into the fuzz target.
extension PgOutputMessage.Relation {
  var qualifiedName: QualifiedName { QualifiedName(schema: schema, table: name) }
}
