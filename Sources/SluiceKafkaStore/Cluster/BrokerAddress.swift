/// A broker's host and port, as in a bootstrap list (`host:port`) or Metadata.
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
  /// The host name or IP address.
  public var host: String
  /// The TCP port.
  public var port: Int

  /// A broker at `host`:`port`.
  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Parses `host:port` (`[v6]:port` for an IPv6 address); nil when it is not that.
  public init?(_ text: String) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (1...65535).contains(port)
    else { return nil }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { return nil }
    self.init(host: host, port: port)
  }

  public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
