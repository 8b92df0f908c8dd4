import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOSSL
import SluiceCore

/// Options shared by the commands that talk to a running worker.
///
/// Where the worker is and how to reach it: `--api` (or `SLUICE_API`) wins; otherwise the
/// worker file's `api:` section (`--config`, default `Config/worker.yaml` when it exists)
/// gives the address, `https` when `api.tls` is set, and the credentials of `api.auth`.
/// `SLUICE_API_TOKEN` sends a bearer token whatever the file says; `https://user:pass@host`
/// in `--api` sends basic credentials.
struct APIOptions: ParsableArguments {
  @Option(
    help:
      "The worker's admin API (default: $SLUICE_API, else the worker file's api.listen, else http://127.0.0.1:8083)."
  )
  var api: String?

  @Option(
    name: .customLong("config"),
    help:
      "The worker file to take the API's address, TLS and credentials from (default: Config/worker.yaml if it exists)."
  )
  var workerFile: String?

  var baseURL: String { (try? endpoint())?.baseURL ?? Self.trimmed(Self.defaultURL) }

  static let defaultURL = "http://127.0.0.1:8083"

  /// The address, credentials and trust the commands use.
  func endpoint(environment: [String: String] = ProcessInfo.processInfo.environment) throws
    -> APIEndpoint
  {
    var worker: WorkerConfig?
    if let workerFile {
      do {
        worker = try WorkerConfig.load(path: workerFile, environment: environment)
      } catch {
        throw Failure("\(error)")
      }
    } else if FileManager.default.fileExists(atPath: "Config/worker.yaml") {
      // The default file is a convenience: when it cannot be read, the defaults apply.
      worker = try? WorkerConfig.load(path: "Config/worker.yaml", environment: environment)
    }
    var url = api ?? environment["SLUICE_API"]
    if url == nil, let config = worker?.api {
      // A worker listening on every address is reached on this machine's loopback.
      let host =
        switch config.host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::": "::1"
        default: config.host
        }
      let shownHost = host.contains(":") ? "[\(host)]" : host
      url = "\(config.scheme)://\(shownHost):\(config.port)"
    }
    var endpoint = APIEndpoint(baseURL: Self.trimmed(url ?? Self.defaultURL))
    // user:password@ in the URL: basic credentials, kept out of the URL itself.
    if let components = URLComponents(string: endpoint.baseURL), let user = components.user {
      var bare = components
      bare.user = nil
      bare.password = nil
      endpoint.baseURL = Self.trimmed(bare.string ?? endpoint.baseURL)
      endpoint.authorization = Self.basic(
        user.removingPercentEncoding ?? user,
        components.password.map { $0.removingPercentEncoding ?? $0 } ?? "")
    } else if let token = environment["SLUICE_API_TOKEN"], !token.isEmpty {
      endpoint.authorization = "Bearer \(token)"
    } else if let auth = worker?.api.auth {
      switch auth {
      case .bearer(let token): endpoint.authorization = "Bearer \(token)"
      case .basic(let username, let password):
        endpoint.authorization = Self.basic(username, password)
      }
    }
    if let tls = worker?.api.tls { endpoint.trustedCertificateFile = tls.certificateFile }
    return endpoint
  }

  static func basic(_ username: String, _ password: String) -> String {
    "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
  }

  static func trimmed(_ url: String) -> String {
    url.hasSuffix("/") ? String(url.dropLast()) : url
  }
}

/// Where the admin API is and what to send it: the base URL, the `Authorization` header, and
/// a certificate to trust beside the system's (the worker's own, from `api.tls`).
struct APIEndpoint {
  var baseURL: String
  var authorization: String?
  var trustedCertificateFile: String?
}

/// A minimal client of the admin API: one request, the body back, errors as clear messages.
///
/// `http://` goes over ``HTTPConnection`` (a plain socket, nothing more loaded); `https://`
/// over AsyncHTTPClient, which the worker binary already links through SwiftNIO and
/// swift-nio-ssl.
struct APIClient {
  let endpoint: APIEndpoint

  var baseURL: String { endpoint.baseURL }

  init(baseURL: String) {
    var endpoint = APIEndpoint(baseURL: baseURL)
    if let token = ProcessInfo.processInfo.environment["SLUICE_API_TOKEN"], !token.isEmpty {
      endpoint.authorization = "Bearer \(token)"
    }
    self.endpoint = endpoint
  }

  init(_ options: APIOptions) throws {
    endpoint = try options.endpoint()
  }

  func get(_ path: String) async throws -> Data {
    try await send(path, method: "GET", body: nil)
  }

  func post(_ path: String, json: Data) async throws -> Data {
    try await send(path, method: "POST", body: json)
  }

  func put(_ path: String) async throws -> Data {
    try await send(path, method: "PUT", body: nil)
  }

  func patch(_ path: String, json: Data) async throws -> Data {
    try await send(path, method: "PATCH", body: json)
  }

  /// The body of a 2xx answer; any other status is a ``Failure`` with the API's message.
  private func send(_ path: String, method: String, body: Data?) async throws -> Data {
    let response = try await exchange(path, method: method, body: body)
    guard (200..<300).contains(response.status) else {
      throw Failure(Self.describe(response, method: method, path: path))
    }
    return response.body
  }

  /// The answer whatever its status, for a caller that treats some (a 404) as its own case;
  /// only an unreachable worker throws.
  func exchange(_ path: String, method: String, body: Data? = nil) async throws
    -> HTTPConnection.Response
  {
    let response: HTTPConnection.Response
    var headers: [(String, String)] = []
    if let authorization = endpoint.authorization {
      headers.append(("Authorization", authorization))
    }
    do {
      if baseURL.lowercased().hasPrefix("https://") {
        response = try await Self.sendTLS(
          method: method, url: baseURL + path, body: body, headers: headers,
          trusting: endpoint.trustedCertificateFile)
      } else {
        response = try HTTPConnection.send(
          method: method, url: baseURL + path, body: body, headers: headers)
      }
    } catch {
      let hint =
        "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
        ? "the worker's certificate is not trusted: pass its worker file with --config"
        : "is `sluice run` running? set --api or SLUICE_API"
      throw Failure("cannot reach the worker at \(baseURL): \(error) (\(hint))")
    }
    return response
  }

  /// The API's `message` of an answer, or its body.
  static func message(of response: HTTPConnection.Response) -> String {
    let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
    return object?["message"] as? String ?? String(decoding: response.body, as: UTF8.self)
  }

  /// `PUT /x: 400 <message>`, with a hint for a 401.
  static func describe(_ response: HTTPConnection.Response, method: String, path: String)
    -> String
  {
    var text = "\(method) \(path): \(response.status) \(message(of: response))"
    if response.status == 401 {
      text +=
        " (the worker has api.auth: pass its worker file with --config, or set SLUICE_API_TOKEN)"
    }
    return text
  }

  /// One request over HTTPS; the system's trust roots plus `certificateFile`.
  private static func sendTLS(
    method: String, url: String, body: Data?, headers: [(String, String)],
    trusting certificateFile: String?
  ) async throws -> HTTPConnection.Response {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let certificateFile { tls.additionalTrustRoots = [.file(certificateFile)] }
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    // A handshake that fails is retried until the connect timeout: an untrusted certificate
    // should not keep the user waiting long.
    configuration.timeout.connect = .seconds(5)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
      var request = HTTPClientRequest(url: url)
      request.method = .init(rawValue: method)
      for (name, value) in headers { request.headers.add(name: name, value: value) }
      if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
      }
      let response = try await client.execute(request, timeout: .seconds(60))
      let bytes = try await response.body.collect(upTo: 512 << 20)
      try await client.shutdown()
      return HTTPConnection.Response(status: Int(response.status.code), body: Data(buffer: bytes))
    } catch {
      try? await client.shutdown()
      throw error
    }
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
