#if canImport(Glibc)
  import Glibc
#endif

/// Checks before start-up that the admin API's address can be bound, so a port in use is one
/// clear message instead of a worker that half-started.
enum PortCheck {
  static func ensureFree(host: String, port: Int) throws {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
      throw Failure("api.listen: cannot resolve '\(host)'")
    }
    defer { freeaddrinfo(result) }
    let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
      let reason = String(cString: strerror(errno))
      throw Failure(
        "api.listen: cannot listen on \(host):\(port): \(reason) (is another worker running? change api.listen in the worker file)"
      )
    }
  }
}
