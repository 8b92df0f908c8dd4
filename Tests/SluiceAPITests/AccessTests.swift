import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceLog
import XCTest

/// `api.auth`: every route but `GET /health` needs the credentials; missing or wrong ones get
/// 401 in Kafka Connect's error shape with a challenge. And `/admin/loggers`.
final class AccessTests: XCTestCase {
  private var directory: URL!
  private var log: EmbeddedLog!
  private var store: EmbeddedTopicStore!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-api-access-\(UUID().uuidString)")
    log = try EmbeddedLog(directory: directory.path)
    store = EmbeddedTopicStore(
      log: log, defaultPartitions: 1,
      groupOffsets: try FileOffsetStore(directory: directory.path + "-offsets"))
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
    try? FileManager.default.removeItem(atPath: directory.path + "-offsets")
  }

  private func app(auth: APIAuth?, levels: LogLevels = LogLevels()) -> some ApplicationProtocol {
    var api = AdminAPI(store: store!, status: StatusBoard(), workerID: "test:1")
    api.auth = auth
    api.logLevels = levels
    return Application(router: api.router())
  }

  func testWithoutAuthEverythingIsOpen() async throws {
    try await app(auth: nil).test(.router) { client in
      for path in ["/", "/connectors", "/topics", "/health", "/admin/loggers"] {
        let (code, challenge, _) = try await requestStatus(client, path, authorization: nil)
        XCTAssertEqual(code, .ok, path)
        XCTAssertNil(challenge)
      }
    }
  }

  func testBearerRightWrongAndMissing() async throws {
    try await app(auth: .bearer(token: "s3cret-token")).test(.router) { client in
      for path in ["/", "/connectors", "/topics", "/admin/loggers", "/connectors/x/status"] {
        let (missing, challenge, body) = try await requestStatus(client, path, authorization: nil)
        XCTAssertEqual(missing, .unauthorized, path)
        XCTAssertEqual(challenge, "Bearer realm=\"sluice\"")
        XCTAssertEqual(body?["error_code"] as? Int, 401)
        XCTAssertNotNil(body?["message"] as? String)
        for wrong in [
          "Bearer s3cret-toke", "Bearer s3cret-token2", "Bearer ", "bearer", "Token s3cret-token",
          basicHeader("s3cret-token", ""),
        ] {
          let (code, challenge, body) = try await requestStatus(client, path, authorization: wrong)
          XCTAssertEqual(code, .unauthorized, "\(path) \(wrong)")
          XCTAssertNotNil(challenge)
          XCTAssertEqual(body?["error_code"] as? Int, 401)
        }
      }
      let (ok, _, _) = try await requestStatus(
        client, "/connectors", authorization: "Bearer s3cret-token")
      XCTAssertEqual(ok, .ok)
      // The scheme is case-insensitive (RFC 9110).
      let (lower, _, _) = try await requestStatus(client, "/", authorization: "bearer s3cret-token")
      XCTAssertEqual(lower, .ok)
      // An unknown route is 404 only for a caller who may see the API.
      let (unknownOpen, _, _) = try await requestStatus(client, "/nowhere", authorization: nil)
      XCTAssertEqual(unknownOpen, .unauthorized)
      let (unknown, _, _) = try await requestStatus(
        client, "/nowhere", authorization: "Bearer s3cret-token")
      XCTAssertEqual(unknown, .notFound)
    }
  }

  func testBasicRightWrongAndMissing() async throws {
    try await app(auth: .basic(username: "admin", password: "pa:ss")).test(.router) { client in
      let (missing, challenge, _) = try await requestStatus(
        client, "/connectors", authorization: nil)
      XCTAssertEqual(missing, .unauthorized)
      XCTAssertEqual(challenge, "Basic realm=\"sluice\", charset=\"UTF-8\"")
      for wrong in [
        basicHeader("admin", "pa:s"), basicHeader("admin", "pa:sss"), basicHeader("admn", "pa:ss"),
        basicHeader("", "pa:ss"), "Basic not-base64!",
        "Basic " + Data("adminpa:ss".utf8).base64EncodedString(),
        "Bearer pa:ss",
      ] {
        let (code, _, body) = try await requestStatus(client, "/connectors", authorization: wrong)
        XCTAssertEqual(code, .unauthorized, wrong)
        XCTAssertEqual(body?["error_code"] as? Int, 401)
      }
      // A password may hold ':'; only the first one separates the user.
      let (ok, _, _) = try await requestStatus(
        client, "/connectors", authorization: basicHeader("admin", "pa:ss"))
      XCTAssertEqual(ok, .ok)
    }
  }

  func testHealthStaysOpen() async throws {
    try await app(auth: .bearer(token: "t")).test(.router) { client in
      let (code, challenge, body) = try await requestStatus(client, "/health", authorization: nil)
      XCTAssertEqual(code, .ok)
      XCTAssertNil(challenge)
      XCTAssertEqual(body?["status"] as? String, "UP")
      // Only the read: anything else on /health still asks.
      let (post, _, _) = try await requestStatus(
        client, "/health", authorization: nil, method: .post)
      XCTAssertEqual(post, .unauthorized)
      let (wrong, _, _) = try await requestStatus(client, "/health", authorization: "Bearer wrong")
      XCTAssertEqual(wrong, .ok, "health ignores credentials")
    }
  }

  // MARK: - /admin/loggers

  func testLoggersListGetAndPut() async throws {
    let levels = LogLevels(root: .info)
    levels.register("sluice")
    levels.register("sluice.connector.orders")
    levels.register("sluice.connector.users")
    levels.register("sluice.api")
    try await app(auth: nil, levels: levels).test(.router) { client in
      let (listed, all) = try await requestJSON(client, .get, "/admin/loggers")
      XCTAssertEqual(listed, .ok)
      let loggers = all as? [String: [String: Any]]
      XCTAssertEqual(
        Set((loggers ?? [:]).keys),
        [
          "root", "sluice", "sluice.api", "sluice.connector", "sluice.connector.orders",
          "sluice.connector.users",
        ])
      XCTAssertEqual(loggers?["root"]?["level"] as? String, "INFO")
      XCTAssertTrue(loggers?["root"]?["last_modified"] is NSNull, "null, not left out")

      let before = Int64(Date().timeIntervalSince1970 * 1000)
      let (put, affected) = try await requestJSON(
        client, .put, "/admin/loggers/sluice.connector", body: #"{"level":"DEBUG"}"#)
      XCTAssertEqual(put, .ok)
      XCTAssertEqual(
        affected as? [String],
        ["sluice.connector", "sluice.connector.orders", "sluice.connector.users"])
      XCTAssertEqual(levels.level(for: "sluice.connector.orders"), .debug)
      XCTAssertEqual(levels.level(for: "sluice.api"), .info)

      let (got, one) = try await requestJSON(client, .get, "/admin/loggers/sluice.connector.orders")
      XCTAssertEqual(got, .ok)
      let entry = one as? [String: Any]
      XCTAssertEqual(entry?["level"] as? String, "DEBUG")
      XCTAssertGreaterThanOrEqual((entry?["last_modified"] as? NSNumber)?.int64Value ?? 0, before)

      // Lower case is accepted, as Kafka Connect upper-cases the level.
      let (lower, _) = try await requestJSON(
        client, .put, "/admin/loggers/sluice.api", body: #"{"level":"warn"}"#)
      XCTAssertEqual(lower, .ok)
      XCTAssertEqual(levels.level(for: "sluice.api"), .warn)

      // Cluster scope: one worker is the cluster; Kafka Connect answers 204.
      let (cluster, _) = try await requestJSON(
        client, .put, "/admin/loggers/sluice?scope=cluster", body: #"{"level":"ERROR"}"#)
      XCTAssertEqual(cluster, .noContent)
      XCTAssertEqual(levels.level(for: "sluice.connector.users"), .error)
      let (worker, names) = try await requestJSON(
        client, .put, "/admin/loggers/root?scope=worker", body: #"{"level":"INFO"}"#)
      XCTAssertEqual(worker, .ok)
      XCTAssertEqual((names as? [String])?.first, "root")
      XCTAssertEqual(levels.level(for: "sluice.connector.users"), .info)
    }
  }

  func testLoggersRefuseUnknownLevelsAndNames() async throws {
    let levels = LogLevels(root: .info)
    try await app(auth: nil, levels: levels).test(.router) { client in
      let (bad, body) = try await requestJSON(
        client, .put, "/admin/loggers/sluice", body: #"{"level":"LOUD"}"#)
      XCTAssertEqual(bad, .badRequest)
      XCTAssertEqual((body as? [String: Any])?["error_code"] as? Int, 400)
      XCTAssertTrue(
        ((body as? [String: Any])?["message"] as? String ?? "").contains("LOUD"), "\(body ?? "")")
      XCTAssertEqual(levels.level(for: "sluice"), .info, "nothing changed")

      let (missing, missingBody) = try await requestJSON(
        client, .put, "/admin/loggers/sluice", body: #"{"lvl":"DEBUG"}"#)
      XCTAssertEqual(missing, .badRequest)
      XCTAssertEqual(
        (missingBody as? [String: Any])?["message"] as? String,
        "Desired 'level' parameter was not specified in request.")
      let (notJSON, _) = try await requestJSON(client, .put, "/admin/loggers/sluice", body: "DEBUG")
      XCTAssertEqual(notJSON, .badRequest)

      let (unknown, unknownBody) = try await requestJSON(
        client, .get, "/admin/loggers/no.such.logger")
      XCTAssertEqual(unknown, .notFound)
      XCTAssertEqual((unknownBody as? [String: Any])?["error_code"] as? Int, 404)
    }
  }

  func testLoggersNeedAuthToo() async throws {
    try await app(auth: .bearer(token: "t")).test(.router) { client in
      let (get, _) = try await requestJSON(client, .get, "/admin/loggers")
      XCTAssertEqual(get, .unauthorized)
      let (put, _) = try await requestJSON(
        client, .put, "/admin/loggers/root", body: #"{"level":"TRACE"}"#)
      XCTAssertEqual(put, .unauthorized)
    }
  }
}

private func basicHeader(_ user: String, _ password: String) -> String {
  "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

private func requestStatus(
  _ client: some TestClientProtocol, _ path: String, authorization: String?,
  method: HTTPRequest.Method = .get
) async throws -> (HTTPResponse.Status, String?, [String: Any]?) {
  var headers: HTTPFields = [:]
  if let authorization { headers[.authorization] = authorization }
  return try await client.execute(uri: path, method: method, headers: headers) { response in
    (
      response.status, response.headers[.wwwAuthenticate],
      try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
    )
  }
}

private func requestJSON(
  _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String,
  body: String? = nil
) async throws -> (HTTPResponse.Status, Any?) {
  try await client.execute(
    uri: path, method: method, body: body.map { ByteBuffer(string: $0) }
  ) { response in
    (response.status, try? JSONSerialization.jsonObject(with: Data(buffer: response.body)))
  }
}
