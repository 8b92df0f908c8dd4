import Foundation
import SluiceCore
import XCTest

/// Helpers shared by the config tests: parse text and return the error's one-line description.
enum ConfigTestSupport {
  /// The description of the error parsing a worker file throws, or "no error".
  static func workerError(_ text: String, environment: [String: String] = [:]) -> String {
    do {
      _ = try WorkerConfig.parse(text: text, file: "worker.yaml", environment: environment)
      return "no error"
    } catch {
      return error.description
    }
  }

  /// The description of the error parsing a connector file throws, or "no error".
  static func connectorError(_ text: String, environment: [String: String] = [:]) -> String {
    do {
      _ = try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: environment)
      return "no error"
    } catch {
      return error.description
    }
  }

  /// The description of the error `body` throws, or "no error".
  static func error<T>(_ body: () throws -> T) -> String {
    do {
      _ = try body()
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  /// A fresh temporary folder, removed by the caller.
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
