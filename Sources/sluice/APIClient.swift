import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOPosix
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
/// Every request goes over AsyncHTTPClient, `http://` and `https://` alike, with a connect
/// timeout (``connectTimeout``), a read timeout (``readTimeout``) and no retry of a refused
/// connection: a command run with no worker listening says so at once (``Unreachable``).
struct APIClient {
  /// A status and a body, whatever the status.
  struct Response {
    var status: Int
    var body: Data
  }

  /// How long a connection (and its TLS handshake) may take to open.
  static let connectTimeout: TimeAmount = .seconds(5)
  /// How long the worker may stay silent while it answers; the longest the CLI asks it to wait
  /// is `consume --follow`'s one-second `wait_ms`.
  static let readTimeout: TimeAmount = .seconds(60)
  /// The largest answer read.
  static let maxBodyBytes = 512 << 20

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
  /// only a worker that cannot be reached throws.
  func exchange(_ path: String, method: String, body: Data? = nil) async throws -> Response {
    var request = HTTPClientRequest(url: baseURL + path)
    request.method = .init(rawValue: method)
    if let authorization = endpoint.authorization {
      request.headers.add(name: "Authorization", value: authorization)
    }
    if let body {
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(data: body))
    }
    do {
      return try await HTTPClient.withHTTPClient(configuration: configuration) { client in
        let response = try await client.execute(request, deadline: .distantFuture)
        let bytes = try await response.body.collect(upTo: Self.maxBodyBytes)
        return Response(status: Int(response.status.code), body: Data(buffer: bytes))
      }
    } catch {
      throw Failure(Self.unreachable(baseURL, error))
    }
  }

  /// The timeouts, and the worker's certificate trusted beside the system's roots.
  private var configuration: HTTPClient.Configuration {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let file = endpoint.trustedCertificateFile { tls.additionalTrustRoots = [.file(file)] }
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls,
      timeout: .init(connect: Self.connectTimeout, read: Self.readTimeout))
    // A refused connection or an untrusted certificate fails the request at once instead of
    // being retried until the connect timeout.
    configuration.connectionPool.retryConnectionEstablishment = false
    return configuration
  }

  /// What the user reads when the request got no answer: `no Sluice worker answers at
  /// http://…: connection refused` when nothing listens there, the transport's error otherwise,
  /// each with what to do about it.
  static func unreachable(_ baseURL: String, _ error: any Error) -> String {
    let nobody = "(is `sluice run` running? set --api or SLUICE_API)"
    if let reason = noListener(error) {
      return "no Sluice worker answers at \(baseURL): \(reason) \(nobody)"
    }
    if let error = error as? HTTPClientError, error == .readTimeout {
      return
        "the worker at \(baseURL) stopped answering: nothing read for \(Self.readTimeout.nanoseconds / 1_000_000_000) s"
    }
    let hint =
      "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
      ? "the worker's certificate is not trusted: pass its worker file with --config"
      : nobody
    return "cannot reach the worker at \(baseURL): \(error) (\(hint))"
  }

  /// Why no connection opened (`connection refused`, `cannot resolve host`, `no answer within
  /// 5 s`), or nil when one did and something else failed.
  private static func noListener(_ error: any Error) -> String? {
    if let error = error as? NIOConnectionError {
      if let io = error.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first {
        return String(cString: strerror(io.errnoCode)).lowercased()
      }
      if error.connectionErrors.isEmpty { return "cannot resolve \(error.host)" }
      return error.connectionErrors.first.map { "\($0.error)" }
    }
    if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
    if let error = error as? HTTPClientError, error == .connectTimeout {
      return "no answer within \(Self.connectTimeout.nanoseconds / 1_000_000_000) s"
    }
    if case ChannelError.connectTimeout = error {
      return "no answer within \(Self.connectTimeout.nanoseconds / 1_000_000_000) s"
    }
    return nil
  }

  /// The API's `message` of an answer, or its body.
  static func message(of response: Response) -> String {
    JSONValue.parse(Array(response.body))?["message"]?.string
      ?? String(decoding: response.body, as: UTF8.self)
  }

  /// A 2xx answer's body as JSON; a ``Failure`` when it is not JSON.
  func getJSON(_ path: String) async throws -> JSONValue {
    try Self.json(try await get(path), from: path)
  }

  /// `data` as JSON; a ``Failure`` naming `path` when it is not JSON.
  static func json(_ data: Data, from path: String) throws -> JSONValue {
    guard let value = JSONValue.parse(Array(data)) else {
      throw Failure("GET \(path): the worker's answer is not JSON")
    }
    return value
  }

  /// `PUT /x: 400 <message>`, with a hint for a 401.
  static func describe(_ response: Response, method: String, path: String) -> String {
    var text = "\(method) \(path): \(response.status) \(message(of: response))"
    if response.status == 401 {
      text +=
        " (the worker has api.auth: pass its worker file with --config, or set SLUICE_API_TOKEN)"
    }
    return text
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
