import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// The connector's config as `GET …/config` shows it: flat, secrets hidden.
  func shownConfig(of definition: ConnectorDefinition?) -> [String: String] {
    [:]  // MERGE: helper's ConnectConfig
  }
}
