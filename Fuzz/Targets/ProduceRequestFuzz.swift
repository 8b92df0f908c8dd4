// Fuzz target `produce-request`: bytes as the body of `POST /topics/{topic}/records`, parsed
// by Sources/SluiceAPI/ProduceRequest.swift. A refusal (an APIError) is an answer; a trap, a
// hang or an allocation out of proportion to the body is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProduceRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let body = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    let records = try ProduceRequest.parse(body, topic: "orders")
    precondition(records.count <= ProduceRequest.maxRecords, "more records than allowed")
    for record in records {
      precondition(record.topic == "orders")
      precondition(RecordTimestamp.valid.contains(record.timestamp), "timestamp out of range")
      if let partition = record.partition { precondition(partition >= 0, "negative partition") }
    }
  } catch is APIError {
  } catch {
    preconditionFailure("ProduceRequest.parse threw something other than an APIError: \(error)")
  }
  return 0
}
