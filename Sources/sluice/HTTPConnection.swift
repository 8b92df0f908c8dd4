import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A one-request HTTP/1.1 client over a plain socket, enough for the admin API on a trusted
/// address (``APIClient`` takes AsyncHTTPClient for `https://`). The CLI uses it instead of URLSession so the worker binary does not load
/// FoundationNetworking and its TLS libraries (several MiB of resident memory) for nothing.
enum HTTPConnection {
  struct Response {
    var status: Int
    var body: Data
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Sends one request to `http://host:port/path…` and reads the whole response.
  static func send(
    method: String, url: String, body: Data?, contentType: String = "application/json",
    headers: [(String, String)] = []
  ) throws -> Response {
    guard url.hasPrefix("http://") else {
      throw Failure(description: "only http:// addresses are supported, got '\(url)'")
    }
    let rest = url.dropFirst("http://".count)
    let authority = rest.prefix { $0 != "/" }
    let path = rest.dropFirst(authority.count)
    var host = String(authority)
    var port = "80"
    if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
      host = String(authority[..<colon])
      port = String(authority[authority.index(after: colon)...])
    }
    host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))

    let fd = try connect(host: host, port: port)
    defer { close(fd) }
    var request =
      "\(method) \(path.isEmpty ? "/" : String(path)) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n"
    if let body { request += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
    for (name, value) in headers where !(name + value).contains(where: \.isNewline) {
      request += "\(name): \(value)\r\n"
    }
    request += "\r\n"
    var bytes = Data(request.utf8)
    if let body { bytes.append(body) }
    try bytes.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        let n = Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
        if n < 0 {
          if errno == EINTR { continue }
          throw Failure(
            description: "cannot send to \(authority): \(String(cString: strerror(errno)))")
        }
        done += n
      }
    }
    var received = Data()
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n < 0 {
        if errno == EINTR { continue }
        throw Failure(
          description: "cannot read from \(authority): \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      received.append(contentsOf: buffer[0..<n])
    }
    return try parse(received, from: String(authority))
  }

  private static func connect(host: String, port: String) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, port, &hints, &result) == 0, let first = result else {
      throw Failure(description: "cannot resolve \(host)")
    }
    defer { freeaddrinfo(result) }
    var info: UnsafeMutablePointer<addrinfo>? = first
    var lastError = "no address"
    while let current = info {
      let fd = socket(
        current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
      if fd >= 0 {
        if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return fd }
        lastError = String(cString: strerror(errno))
        close(fd)
      }
      info = current.pointee.ai_next
    }
    throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
  }

  private static func parse(_ data: Data, from authority: String) throws -> Response {
    let separator = Data("\r\n\r\n".utf8)
    guard let end = data.range(of: separator) else {
      throw Failure(description: "incomplete response from \(authority)")
    }
    let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
    let lines = head.components(separatedBy: "\r\n")
    let statusParts = lines.first?.split(separator: " ") ?? []
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
      throw Failure(description: "not an HTTP response from \(authority)")
    }
    var body = Data(data[end.upperBound...])
    let chunked = lines.dropFirst().contains {
      $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked")
    }
    if chunked { body = try dechunk(body) }
    return Response(status: status, body: body)
  }

  private static func dechunk(_ data: Data) throws -> Data {
    var out = Data()
    var index = data.startIndex
    let crlf = Data("\r\n".utf8)
    while let lineEnd = data.range(of: crlf, in: index..<data.endIndex) {
      let sizeText =
        String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")
        .first ?? ""
      guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
        throw Failure(description: "bad chunk size")
      }
      if size == 0 { break }
      let start = lineEnd.upperBound
      guard start + size <= data.endIndex else { throw Failure(description: "truncated chunk") }
      out.append(data[start..<(start + size)])
      index = start + size + 2
    }
    return out
  }
}
