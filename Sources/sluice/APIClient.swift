import ArgumentParser
import Foundation

/// Options shared by the commands that talk to a running worker.
struct APIOptions: ParsableArguments {
  @Option(help: "The worker's admin API (default: $SLUICE_API or http://127.0.0.1:8083).")
  var api: String?

  var baseURL: String {
    let value = api ?? ProcessInfo.processInfo.environment["SLUICE_API"] ?? "http://127.0.0.1:8083"
    return value.hasSuffix("/") ? String(value.dropLast()) : value
  }
}

/// A minimal client of the admin API: one request, the body back, errors as clear messages.
struct APIClient {
  let baseURL: String

  func get(_ path: String) async throws -> Data {
    try await send(path, method: "GET", body: nil)
  }

  func post(_ path: String, json: Data) async throws -> Data {
    try await send(path, method: "POST", body: json)
  }

  private func send(_ path: String, method: String, body: Data?) async throws -> Data {
    let response: HTTPConnection.Response
    do {
      response = try HTTPConnection.send(method: method, url: baseURL + path, body: body)
    } catch {
      throw Failure(
        "cannot reach the worker at \(baseURL): \(error) (is `sluice run` running? set --api or SLUICE_API)"
      )
    }
    guard (200..<300).contains(response.status) else {
      let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
      let message = object?["message"] as? String ?? String(decoding: response.body, as: UTF8.self)
      throw Failure("\(method) \(path): \(response.status) \(message)")
    }
    return response.body
  }

  /// `text` as a URL path segment.
  static func escape(_ text: String) -> String {
    text.addingPercentEncoding(
      withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
  }
}

extension FileHandle {
  func writeLine(_ text: String) {
    write(Data((text + "\n").utf8))
  }
}
