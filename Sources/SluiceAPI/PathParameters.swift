import Foundation
import Hummingbird

extension Parameters {
  /// The path parameter `name`, percent-decoded as Kafka Connect (JAX-RS) decodes its path
  /// parameters: Hummingbird hands them over as they are in the URL, so `/topics/a%2Db` would
  /// otherwise look for a topic named `a%2Db`. Text that is not valid percent-encoding is kept
  /// as written.
  func requireDecoded(_ name: String) throws -> String {
    let raw = try require(name)
    return raw.removingPercentEncoding ?? raw
  }
}
