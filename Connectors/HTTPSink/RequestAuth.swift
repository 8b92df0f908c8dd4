import Crypto
import Foundation
import SluiceCore

/// How requests prove they come from Sluice: a bearer token, basic auth, or an HMAC-SHA256
/// of the exact body in a header — the form the webhook source's `hmac-sha256` check verifies,
/// so one Sluice can receive what another sends.
enum RequestAuth: Sendable {
  case none
  case bearer(token: String)
  case basic(user: String, password: String)
  case hmac(key: SymmetricKey, header: String, prefix: String, base64: Bool)

  init(_ node: ConfigNode?) throws(ConfigError) {
    guard let node else {
      self = .none
      return
    }
    let m = try node.mapping(allowedKeys: HTTPSinkConfig.definitions.keys(under: "auth"))
    switch try m.oneOf("type", allowed: ["bearer", "basic", "hmac-sha256"], default: "") {
    case "bearer": self = .bearer(token: try m.string("token"))
    case "basic": self = .basic(user: try m.string("username"), password: try m.string("password"))
    case "hmac-sha256":
      self = .hmac(
        key: SymmetricKey(data: Array(try m.string("secret").utf8)),
        header: try m.string("header", default: "X-Sluice-Signature-256"),
        prefix: try m.string("prefix", default: "sha256="),
        base64: try m.oneOf("encoding", allowed: ["hex", "base64"], default: "hex") == "base64")
    default:
      throw try m.required("type").error("expected one of bearer, basic, hmac-sha256")
    }
  }

  /// The header line for this body, if any.
  func header(for body: [UInt8]) -> String? {
    switch self {
    case .none: return nil
    case .bearer(let token): return "Authorization: Bearer \(token)"
    case .basic(let user, let password):
      return "Authorization: Basic \(Data("\(user):\(password)".utf8).base64EncodedString())"
    case .hmac(let key, let header, let prefix, let base64):
      let mac = Array(HMAC<SHA256>.authenticationCode(for: body, using: key))
      let text =
        base64
        ? Data(mac).base64EncodedString()
        : Hex.lowercase(mac)
      return "\(header): \(prefix)\(text)"
    }
  }
}
