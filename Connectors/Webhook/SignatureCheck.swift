import Crypto
import Foundation
import SluiceCore

/// How a webhook proves it comes from who it says: an HMAC-SHA256 of the raw body with a shared
/// secret (GitHub's, Stripe's or a generic header form), or a bearer token, or basic auth.
/// Every comparison is constant-time.
enum SignatureCheck: Sendable {
  case none
  case github(secret: [UInt8])
  case stripe(secret: [UInt8], tolerance: Duration)
  case hmac(secret: [UInt8], header: String, prefix: String, base64: Bool)
  case bearer(token: String)
  case basic(user: String, password: String)

  init(_ node: ConfigNode?) throws {
    guard let node else {
      self = .none
      return
    }
    let m = try node.mapping(allowedKeys: WebhookConfig.definitions.keys(under: "signature"))
    let type = try m.oneOf(
      "type", allowed: ["github", "stripe", "hmac-sha256", "bearer", "basic"], default: "")
    switch type {
    case "github": self = .github(secret: Array(try m.string("secret").utf8))
    case "stripe":
      self = .stripe(
        secret: Array(try m.string("secret").utf8),
        tolerance: try m.duration("tolerance", default: .seconds(300)))
    case "hmac-sha256":
      self = .hmac(
        secret: Array(try m.string("secret").utf8),
        header: try m.string("header", default: "X-Signature"),
        prefix: try m.string("prefix", default: ""),
        base64: try m.oneOf("encoding", allowed: ["hex", "base64"], default: "hex") == "base64")
    case "bearer": self = .bearer(token: try m.string("token"))
    case "basic": self = .basic(user: try m.string("username"), password: try m.string("password"))
    default:
      throw try m.required("type").error(
        "expected one of github, stripe, hmac-sha256, bearer, basic")
    }
  }

  /// Nil when the request is authentic, else why not (for the 401 body).
  func problem(headers: (String) -> String?, body: [UInt8], nowSeconds: Int64) -> String? {
    switch self {
    case .none: return nil
    case .github(let secret):
      guard let given = headers("X-Hub-Signature-256") else {
        return "missing X-Hub-Signature-256 header"
      }
      return Self.equal(given, "sha256=" + Hex.lowercase(Self.hmac(secret, body)))
        ? nil : "signature does not match"
    case .stripe(let secret, let tolerance):
      guard let given = headers("Stripe-Signature") else {
        return "missing Stripe-Signature header"
      }
      var timestamp: String?
      var candidates: [String] = []
      for part in given.split(separator: ",") {
        let pair = part.split(separator: "=", maxSplits: 1).map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        guard pair.count == 2 else { continue }
        if pair[0] == "t" { timestamp = pair[1] }
        if pair[0] == "v1" { candidates.append(pair[1]) }
      }
      guard let timestamp, let seconds = Int64(timestamp), !candidates.isEmpty else {
        return "Stripe-Signature needs t= and v1="
      }
      // Subtracting a timestamp from outside can overflow; an overflow is far outside any
      // tolerance, so it is refused like one (before the HMAC is computed).
      let (age, overflow) = nowSeconds.subtractingReportingOverflow(seconds)
      // Stripe's timestamps are whole seconds, so the tolerance is compared in them.
      guard !overflow, age.magnitude <= tolerance.components.seconds.magnitude else {
        return "Stripe-Signature timestamp is outside the tolerance"
      }
      let expected = Hex.lowercase(Self.hmac(secret, Array("\(timestamp).".utf8) + body))
      // Evaluate every candidate so timing does not depend on which one matched.
      let matched = candidates.map { Self.equal($0, expected) }.contains(true)
      return matched ? nil : "signature does not match"
    case .hmac(let secret, let header, let prefix, let base64):
      guard let given = headers(header) else { return "missing \(header) header" }
      let digest = Self.hmac(secret, body)
      let encoded = base64 ? Data(digest).base64EncodedString() : Hex.lowercase(digest)
      return Self.equal(given, prefix + encoded) ? nil : "signature does not match"
    case .bearer(let token):
      guard let given = headers("Authorization") else { return "missing Authorization header" }
      return Self.equal(given, "Bearer " + token) ? nil : "bearer token does not match"
    case .basic(let user, let password):
      guard let given = headers("Authorization") else { return "missing Authorization header" }
      let expected = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
      return Self.equal(given, expected) ? nil : "credentials do not match"
    }
  }

  static func hmac(_ secret: [UInt8], _ body: [UInt8]) -> [UInt8] {
    Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret)))
  }

  /// Constant-time comparison: the time depends on the lengths only.
  static func equal(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
      difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return difference == 0
  }
}
