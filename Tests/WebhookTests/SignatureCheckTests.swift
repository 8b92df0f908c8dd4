import Crypto
import Foundation
import SluiceCore
import XCTest

@testable import WebhookConnector

/// The webhook source's request authentication, without a server: each scheme accepts the
/// sender's real signature and refuses a wrong, missing or stale one with the reason.
final class SignatureCheckTests: XCTestCase {
  private let body = Array(#"{"event":"push"}"#.utf8)

  private func check(_ yaml: String) throws -> SignatureCheck {
    let node = try ConfigNode.parse(text: "signature: " + yaml, file: "w.yaml")
    return try SignatureCheck(node.mapping(allowedKeys: ["signature"]).node("signature"))
  }

  private func hexHMAC(_ secret: String, _ message: [UInt8]) -> String {
    HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
      .map { String(format: "%02x", $0) }.joined()
  }

  private func problem(
    _ check: SignatureCheck, _ headers: [String: String], body: [UInt8]? = nil, now: Int64 = 1_000
  ) -> String? {
    check.problem(headers: { headers[$0] }, body: body ?? self.body, nowSeconds: now)
  }

  func testGitHub() throws {
    let c = try check("{ type: github, secret: s3 }")
    let good = "sha256=" + hexHMAC("s3", body)
    XCTAssertNil(problem(c, ["X-Hub-Signature-256": good]))
    XCTAssertEqual(
      problem(c, ["X-Hub-Signature-256": good], body: Array("{}".utf8)), "signature does not match")
    XCTAssertEqual(problem(c, [:]), "missing X-Hub-Signature-256 header")
  }

  func testStripeWithinAndOutsideTheTolerance() throws {
    let c = try check("{ type: stripe, secret: whsec, tolerance: 5m }")
    let signed = "t=1000,v1=" + hexHMAC("whsec", Array("1000.".utf8) + body)
    XCTAssertNil(problem(c, ["Stripe-Signature": signed], now: 1_000 + 299))
    XCTAssertNil(
      problem(c, ["Stripe-Signature": "t=1000,v1=00ff,v1=" + hexHMAC("whsec", Array("1000.".utf8) + body)]),
      "any v1 may match (secret rotation)")
    XCTAssertEqual(
      problem(c, ["Stripe-Signature": signed], now: 1_000 + 301),
      "Stripe-Signature timestamp is outside the tolerance")
    XCTAssertEqual(problem(c, ["Stripe-Signature": "v1=abc"]), "Stripe-Signature needs t= and v1=")
    XCTAssertEqual(
      problem(c, ["Stripe-Signature": "t=-9223372036854775808,v1=ab"], now: Int64.max),
      "Stripe-Signature timestamp is outside the tolerance", "an overflowing age is refused")
  }

  func testGenericHMACInHexAndBase64() throws {
    let hex = try check("{ type: hmac-sha256, secret: k, header: X-Sig, prefix: 'v1=' }")
    XCTAssertNil(problem(hex, ["X-Sig": "v1=" + hexHMAC("k", body)]))
    XCTAssertEqual(problem(hex, ["X-Sig": hexHMAC("k", body)]), "signature does not match")
    let b64 = try check("{ type: hmac-sha256, secret: k, encoding: base64 }")
    let digest = Data(
      HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array("k".utf8))))
    XCTAssertNil(problem(b64, ["X-Signature": digest.base64EncodedString()]))
    XCTAssertEqual(problem(b64, [:]), "missing X-Signature header")
  }

  func testBearerAndBasic() throws {
    let bearer = try check("{ type: bearer, token: t0k }")
    XCTAssertNil(problem(bearer, ["Authorization": "Bearer t0k"]))
    XCTAssertEqual(problem(bearer, ["Authorization": "Bearer t0"]), "bearer token does not match")
    let basic = try check("{ type: basic, username: u, password: p }")
    XCTAssertNil(problem(basic, ["Authorization": "Basic " + Data("u:p".utf8).base64EncodedString()]))
    XCTAssertEqual(problem(basic, ["Authorization": "Basic dTp4"]), "credentials do not match")
  }

  func testNoSignatureAcceptsEverything() throws {
    XCTAssertNil(problem(try SignatureCheck(nil), [:]))
  }

  func testAnUnknownTypeIsAConfigErrorWithItsLine() throws {
    XCTAssertThrowsError(try check("{ type: md5, secret: x }")) {
      XCTAssertTrue("\($0)".contains("w.yaml:1"), "\($0)")
    }
  }

  func testConstantTimeEqualityComparesWholeStrings() {
    XCTAssertTrue(SignatureCheck.equal("abc", "abc"))
    XCTAssertFalse(SignatureCheck.equal("abc", "abd"))
    XCTAssertFalse(SignatureCheck.equal("abc", "abcd"), "a prefix is not equal")
    XCTAssertFalse(SignatureCheck.equal("", "a"))
  }
}
