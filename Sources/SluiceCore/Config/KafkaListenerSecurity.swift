import Foundation

/// `kafka.tls` in worker.yaml: the listener's certificate, so Kafka clients connect with
/// `security.protocol=SSL` (or `SASL_SSL` with ``KafkaListenerSASL``). PEM files, as Kafka's
/// `ssl.keystore.type=PEM`; relative paths are relative to the worker file's folder.
public struct KafkaListenerTLS: Sendable, Equatable {
  /// The certificate chain (PEM), the server's certificate first.
  public var certificateFile: String
  /// Its private key (PEM, not encrypted).
  public var privateKeyFile: String

  public init(certificateFile: String, privateKeyFile: String) {
    self.certificateFile = certificateFile
    self.privateKeyFile = privateKeyFile
  }

  static let keys = ["cert", "key"]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: Self.keys)
    certificateFile = try Self.readableFile(m.required("cert"), "cert")
    privateKeyFile = try Self.readableFile(m.required("key"), "key")
  }

  /// The path of an existing, readable file, made absolute against the config file's folder.
  static func readableFile(_ node: ConfigNode, _ key: String) throws(ConfigError) -> String {
    let written = try node.string()
    guard !written.isEmpty else { throw node.error("\(key) must name a PEM file") }
    let path =
      written.hasPrefix("/")
      ? written
      : (Interpolation.folder(of: node.file) as NSString).appendingPathComponent(written)
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw node.error("\(key): cannot read the PEM file \(path)")
    }
    return path
  }
}

/// `kafka.sasl` in worker.yaml: the SASL mechanisms the listener enables (Kafka's
/// `sasl.enabled.mechanisms`) and the users who may connect. With it, a client must
/// authenticate (`security.protocol=SASL_SSL`, or `SASL_PLAINTEXT` without `tls`) before any
/// request but ApiVersions, SaslHandshake and SaslAuthenticate is answered.
public struct KafkaListenerSASL: Sendable, Equatable {
  /// A user and password. Write the password as `${env:NAME}` or `${file:path}` to keep it out
  /// of the file; it is never printed (``description`` hides it).
  public struct User: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
      self.username = username
      self.password = password
    }

    public var description: String { "\(username):***" }
  }

  /// The mechanisms Kafka clients may choose, as Kafka names them.
  public static let knownMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

  /// Enabled mechanisms, in the order the file gives them (also the order SaslHandshake lists).
  public var mechanisms: [String]
  public var users: [User]

  public init(mechanisms: [String], users: [User]) {
    self.mechanisms = mechanisms
    self.users = users
  }

  static let keys = ["mechanisms", "users"]

  init(_ node: ConfigNode) throws(ConfigError) {
    let m = try node.mapping(allowedKeys: Self.keys)
    mechanisms = []
    let list = try m.required("mechanisms").list()
    guard !list.isEmpty else {
      throw try m.required("mechanisms").error(
        "mechanisms needs at least one of \(Self.knownMechanisms.joined(separator: ", "))")
    }
    for item in list {
      let name = try item.string()
      guard Self.knownMechanisms.contains(name) else {
        var message =
          "expected one of \(Self.knownMechanisms.joined(separator: ", ")), got \(item.kindDescription)"
        if item.writtenText == nil,
          let guess = DidYouMean.suggestion(for: name, among: Self.knownMechanisms)
            ?? Self.knownMechanisms.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }
            )
        {
          message += "; did you mean '\(guess)'?"
        }
        throw item.error(message)
      }
      guard !mechanisms.contains(name) else { throw item.error("\(name) is listed twice") }
      mechanisms.append(name)
    }
    users = []
    let userNodes = try m.required("users").list()
    guard !userNodes.isEmpty else {
      throw try m.required("users").error("users needs at least one { username, password }")
    }
    for item in userNodes {
      let u = try item.mapping(allowedKeys: ["username", "password"])
      let username = try u.string("username")
      let password = try u.string("password")
      if username.isEmpty || username.utf8.contains(0) {
        throw try u.required("username").error("a username must be non-empty, without NUL")
      }
      if password.isEmpty || password.utf8.contains(0) {
        throw try u.required("password").error(
          "a password must be non-empty, without NUL (value hidden)")
      }
      guard !users.contains(where: { $0.username == username }) else {
        throw try u.required("username").error("user '\(username)' is listed twice")
      }
      users.append(User(username: username, password: password))
    }
  }
}
