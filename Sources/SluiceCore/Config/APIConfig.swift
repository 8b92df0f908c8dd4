import Foundation

/// `api:` in worker.yaml: where the admin API listens, who may call it and whether it speaks
/// HTTPS.
///
/// ```yaml
/// api:
///   listen: 0.0.0.0:8083
///   auth: { type: bearer, token: "${env:SLUICE_API_TOKEN}" }
///   tls: { cert: api.pem, key: api-key.pem }
/// ```
///
/// The API is open by default, which is safe only while it listens on a loopback address: a
/// worker whose `listen` is anything else refuses to start without `auth`, unless
/// `allow_unauthenticated: true` says the network around it is trusted.
public struct APIConfig: Sendable, Equatable {
  /// `listen`: the address (default 127.0.0.1:8083).
  public var host = "127.0.0.1"
  public var port = 8083
  /// `auth`: the credentials every route but `GET /health` needs; nil: none.
  public var auth: APIAuth?
  /// `tls`: serve HTTPS with this certificate; nil: plain HTTP.
  public var tls: TLSFiles?
  /// `allow_unauthenticated`: listen on a non-loopback address without `auth`.
  public var allowUnauthenticated = false

  public init() {}

  /// The certificate and key of an HTTPS listener (PEM files; relative paths are relative to
  /// the worker file's folder).
  public struct TLSFiles: Sendable, Equatable {
    /// The certificate chain (PEM), the server's certificate first.
    public var certificateFile: String
    /// Its private key (PEM, not encrypted).
    public var privateKeyFile: String

    public init(certificateFile: String, privateKeyFile: String) {
      self.certificateFile = certificateFile
      self.privateKeyFile = privateKeyFile
    }
  }

  /// The URL scheme clients use: `https` with `tls`, else `http`.
  public var scheme: String { tls == nil ? "http" : "https" }

  /// Whether `host` can only be reached from this machine: 127.0.0.0/8, ::1 or `localhost`.
  public static func isLoopback(_ host: String) -> Bool {
    let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    if name == "localhost" || name.hasSuffix(".localhost") { return true }
    if name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
    // IPv4 in dotted form, or IPv4-mapped IPv6 (::ffff:127.0.0.1).
    let v4 = name.hasPrefix("::ffff:") ? String(name.dropFirst("::ffff:".count)) : name
    let parts = v4.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
    return parts[0] == "127"
  }

  static let keys = ["listen", "auth", "tls", "allow_unauthenticated"]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: Self.keys)
    (host, port) = try m.hostPort("listen", default: (host, port))
    if let auth = m.node("auth") { self.auth = try APIAuth(auth) }
    if let tls = m.node("tls") {
      let t = try tls.mapping(allowedKeys: ["cert", "key"])
      guard let cert = t.node("cert") else {
        throw tls.error(
          t.has("key")
            ? "a key without cert: tls needs both cert and key" : "tls needs cert and key")
      }
      guard let key = t.node("key") else {
        throw cert.error("cert without key: tls needs both cert and key")
      }
      self.tls = TLSFiles(
        certificateFile: try KafkaListenerTLS.readableFile(cert, "cert"),
        privateKeyFile: try KafkaListenerTLS.readableFile(key, "key"))
    }
    allowUnauthenticated = try m.bool("allow_unauthenticated", default: false)
    if auth == nil, !allowUnauthenticated, !Self.isLoopback(host) {
      // At the listen line: that is what the user has to change (or add auth beside it).
      throw (m.node("listen") ?? node).error(
        "the admin API would listen on \(host), which is not a loopback address, without auth: add api.auth ({ type: bearer, token: … } or { type: basic, username: …, password: … }), listen on 127.0.0.1, or set api.allow_unauthenticated: true if the network is trusted"
      )
    }
  }
}

/// `api.auth`: the credentials the admin API asks for. Write secrets as `${env:NAME}` or
/// `${file:path}` to keep them out of the worker file; ``description`` never shows them.
public enum APIAuth: Sendable, Equatable, CustomStringConvertible {
  /// `Authorization: Bearer <token>`.
  case bearer(token: String)
  /// `Authorization: Basic base64(username:password)` (RFC 7617).
  case basic(username: String, password: String)

  public static let types = ["bearer", "basic"]

  public var description: String {
    switch self {
    case .bearer: "bearer [hidden]"
    case .basic(let username, _): "basic \(username):[hidden]"
    }
  }

  init(_ node: ConfigNode) throws(ConfigError) {
    let probe = try node.mapping(allowedKeys: ["type", "token", "username", "password"])
    guard probe.has("type") else {
      throw node.error(
        "auth needs type: bearer (with token) or type: basic (with username, password)")
    }
    let type = try probe.oneOf("type", allowed: Self.types, default: "bearer")
    switch type {
    case "bearer":
      let m = try node.mapping(allowedKeys: ["type", "token"])
      guard let tokenNode = m.node("token") else {
        throw node.error("type bearer needs token (write it as ${env:NAME} or ${file:path})")
      }
      let token = try tokenNode.string()
      guard !token.isEmpty else { throw tokenNode.error("token is empty (value hidden)") }
      guard token.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
        throw tokenNode.error(
          "a bearer token must be printable ASCII without spaces (value hidden)")
      }
      self = .bearer(token: token)
    default:
      let m = try node.mapping(allowedKeys: ["type", "username", "password"])
      guard let userNode = m.node("username") else { throw node.error("type basic needs username") }
      guard let passwordNode = m.node("password") else {
        throw node.error("type basic needs password (write it as ${env:NAME} or ${file:path})")
      }
      let username = try userNode.string()
      let password = try passwordNode.string()
      guard !username.isEmpty, !username.contains(":") else {
        throw userNode.error("a basic-auth username must be non-empty and without ':'")
      }
      guard !password.isEmpty else { throw passwordNode.error("password is empty (value hidden)") }
      self = .basic(username: username, password: password)
    }
  }
}
