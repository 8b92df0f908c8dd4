// Fuzz target `kafka-request`: bytes as one Kafka request frame (after the 4-byte size), parsed
// by Sources/SluiceKafka/Protocol/RequestFrame.swift and, for an API and version in the
// allow-list, decoded by the generated codecs in Sources/SluiceKafka/Messages/. A
// KafkaDecodingError is an answer; a trap, a hang or an allocation out of proportion to the
// frame is a bug. A body that decodes must survive re-encoding: decoding its bytes again gives
// the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKafkaRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let frame = try? RequestFrame(parsing: bytes), let apiKey = frame.apiKey, frame.isDecodable
  else { return 0 }
  guard let body = try? frame.decodeBody() else { return 0 }
  precondition(body.apiKey == apiKey, "decoded as another API")
  var writer = KafkaWriter()
  body.write(to: &writer, version: frame.apiVersion)
  var reader = KafkaReader(writer.bytes)
  do {
    let again = try KafkaRequestBody(apiKey: apiKey, version: frame.apiVersion, from: &reader)
    precondition(again == body, "re-encoded \(apiKey) v\(frame.apiVersion) decodes differently")
    precondition(reader.isAtEnd, "re-encoded \(apiKey) v\(frame.apiVersion) has trailing bytes")
  } catch {
    preconditionFailure("re-encoded \(apiKey) v\(frame.apiVersion) does not decode: \(error)")
  }
  return 0
}
