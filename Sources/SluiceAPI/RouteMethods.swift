import Hummingbird
import Synchronization

/// Which methods each route path takes, so a request with a method a path does not take gets
/// 405 with `Allow`, as Kafka Connect (JAX-RS) answers, rather than the router's 404. Filled
/// from the router once every route is added.
final class RouteMethods: Sendable {
  private let table = Mutex<[(segments: [Substring], methods: [HTTPRequest.Method])]>([])

  func record(_ routes: [Router<BasicRequestContext>.RouteDescription]) {
    var byPath: [String: [HTTPRequest.Method]] = [:]
    for route in routes { byPath["\(route.path)", default: []].append(route.method) }
    table.withLock { table in
      table = byPath.map { (segments: Self.segments($0.key), methods: $0.value) }
    }
  }

  /// The methods the path takes, empty when no route has it.
  func methods(for path: String) -> [HTTPRequest.Method] {
    let wanted = Self.segments(path)
    return table.withLock { table in
      table.first { entry in
        entry.segments.count == wanted.count
          && zip(entry.segments, wanted).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
      }?.methods ?? []
    }
  }

  private static func segments(_ path: String) -> [Substring] {
    path.split(separator: "/", omittingEmptySubsequences: true)
  }
}
