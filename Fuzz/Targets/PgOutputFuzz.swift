// Fuzz target `pgoutput`: bytes as a replication session, a run of frames (2-byte big-endian
// length, then one CopyData message: `w` XLogData carrying a pgoutput message, or `k`
// keepalive), decoded by Connectors/PostgresCDC (ReplicationMessage, PgOutput/) and fed
// to two ChangeStreams: one gets every message through `decode` + `receive`, the other takes
// Insert/Update/Delete through the in-place `receiveRowChange`, as CDCSourceTask does. Both
// must agree, record for record, on every message. Transaction metadata is on, so BEGIN/END
// records and the events' transaction blocks are made (and compared) too. An input whose first
// byte is odd runs with `schemas: true` (the schemas rendered from whatever Relation messages
// say).

private let settings = ChangeStream.Settings(
  connectorName: "fuzz", database: "shop", topic: try! TopicTemplate("cdc.{db}.{schema}.{table}"),
  tombstonesOnDelete: true, transactionMetadata: TransactionMetadata(topic: "fuzz.transaction"))
private let schemaSettings: ChangeStream.Settings = {
  var settings = settings
  settings.conversion.schemas = true
  return settings
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPgOutput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  let settings = (input.first ?? 0) & 1 == 1 ? schemaSettings : settings
  var decoded = ChangeStream(settings: settings, confirmed: LSN(0))
  var inPlace = ChangeStream(settings: settings, confirmed: LSN(0))
  decoded.now = { 1_700_000_000_000 }
  inPlace.now = { 1_700_000_000_000 }
  var i = 0
  while i < input.count {
    let length = i + 2 <= input.count ? Int(input[i]) << 8 | Int(input[i + 1]) : 0
    let start = min(i + 2, input.count)
    let end = min(start + length, input.count)
    i = end
    guard let message = try? ReplicationMessage.decode(Array(input[start..<end])) else { continue }
    switch message {
    case .keepalive(let walEnd, _, _):
      decoded.keepalive(walEnd: walEnd)
      inPlace.keepalive(walEnd: walEnd)
    case .xLogData(let walStart, _, _, let payload):
      let viaDecode: Result<[ChangeRecord], ProtocolError>
      switch Result(catching: { () throws(ProtocolError) in try PgOutputMessage.decode(payload) }) {
      case .success(let pgMessage):
        if case .relation(let relation) = pgMessage, ChangeStream.needsCatalogKey(relation) {
          // What the task would look up in the catalog: here, the first column.
          let key = relation.columns.first.map { [$0.name] } ?? []
          decoded.primaryKeys[relation.oid] = key
          inPlace.primaryKeys[relation.oid] = key
        }
        viaDecode = Result { () throws(ProtocolError) in
          try decoded.receive(pgMessage, at: walStart)
        }
      case .failure(let error):
        viaDecode = .failure(error)
      }
      let viaRowChange = Result { () throws(ProtocolError) -> [ChangeRecord] in
        if let records = try inPlace.receiveRowChange(payload, at: walStart) { return records }
        return try inPlace.receive(try PgOutputMessage.decode(payload), at: walStart)
      }
      switch (viaDecode, viaRowChange) {
      case (.success(let a), .success(let b)):
        precondition(a == b, "decode + receive and receiveRowChange made different records")
      case (.failure, .failure):
        break
      default:
        preconditionFailure(
          "decode + receive and receiveRowChange disagree: \(viaDecode) vs \(viaRowChange)")
      }
    }
  }
  precondition(decoded.confirmableLSN == inPlace.confirmableLSN, "confirmable LSNs differ")
  return 0
}
