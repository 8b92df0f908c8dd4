import Foundation

// Fuzz target `webhook`: bytes as a webhook request, checked the way WebhookSourceTask checks
// one: its signature header against each scheme of Connectors/Webhook/SignatureCheck.swift
// (GitHub, Stripe `t=…,v1=…`, generic HMAC hex/base64, bearer, basic), then the body as JSON,
// the key and topic from JSON pointers (Sources/SluiceCore/Records/JSONPointer.swift) and the
// topic template.
// Input: line 1 = the signature header value, line 2 = a JSON pointer, the rest = the body.

private let secret = Array("whsec_fuzz".utf8)
private let checks: [SignatureCheck] = [
  .github(secret: secret),
  .stripe(secret: secret, tolerance: .seconds(300)),
  .stripe(secret: secret, tolerance: .seconds(Int64.max)),
  .hmac(secret: secret, header: "X-Signature", prefix: "sha256=", base64: false),
  .hmac(secret: secret, header: "X-Signature", prefix: "", base64: true),
  .bearer(token: "token"),
  .basic(user: "user", password: "pass"),
]
private let topic = try! TopicTemplate("hooks.{json:/type}.{header:X-Kind}")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
  func line() -> String {
    let end = input.firstIndex(of: 0x0A) ?? input.endIndex
    defer { input = end < input.endIndex ? input[(end + 1)...] : input[end...] }
    return String(decoding: input[..<end], as: UTF8.self)
  }
  let header = line()
  let pointer = line()
  let body = Array(input)

  // Every scheme reads its header from the same value; the clock is Stripe's seed timestamp.
  let headers: (String) -> String? = { _ in header }
  for check in checks {
    _ = check.problem(headers: headers, body: body, nowSeconds: 1_700_000_000)
    _ = check.problem(headers: headers, body: body, nowSeconds: .min)
  }

  guard JSONValidator.errorOffset(body) == nil else { return 0 }
  let document = JSONValue.parse(body)
  _ = JSONPointer.text(pointer, in: document)
  _ = try? topic.render { placeholder in
    if placeholder.hasPrefix("header:") { return header }
    if placeholder.hasPrefix("json:") {
      return JSONPointer.text(String(placeholder.dropFirst(5)), in: document)
    }
    return nil
  }
  return 0
}
