import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceLog
import XCTest

/// `GET /openapi.json` and what it must say: every route the router serves is described (so a
/// new route without a description fails here, not only under schemathesis).
final class OpenAPIDocumentTests: XCTestCase {
  private var directory: URL!
  private var log: EmbeddedLog!
  private var api: AdminAPI!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-openapi-\(UUID().uuidString)")
    log = try EmbeddedLog(directory: directory.path, configuration: LogConfiguration())
    let store = EmbeddedTopicStore(
      log: log, defaultPartitions: 1,
      groupOffsets: try FileOffsetStore(directory: directory.path + "-offsets"))
    api = AdminAPI(store: store, status: StatusBoard(), workerID: "test:1")
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
    try? FileManager.default.removeItem(atPath: directory.path + "-offsets")
  }

  func testDocumentIsServedAsJSONAndDescribesEveryRoute() async throws {
    let router = api.router()
    let served = Set(
      router.routes.map { "\($0.method.rawValue) \(Self.shape($0.path.description))" })
    try await Application(router: router).test(.router) { client in
      try await client.execute(uri: "/openapi.json", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "application/json")
        let document = try XCTUnwrap(
          try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        XCTAssertEqual(document["openapi"] as? String, "3.0.3")
        let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])
        var described: Set<String> = []
        for (path, item) in paths {
          for method in item.keys where method != "parameters" {
            described.insert("\(method.uppercased()) \(Self.shape(path))")
          }
        }
        XCTAssertEqual(
          served.subtracting(described), [], "routes the OpenAPI document does not describe")
      }
    }
  }

  /// A path with its parameters unnamed: `/connectors/{name}` (the router's) and
  /// `/connectors/{connector}` (the document's) are the same route.
  private static func shape(_ path: String) -> String {
    path.replacingOccurrences(of: #"\{[^}]*\}"#, with: "{}", options: .regularExpression)
  }

  /// Kafka Connect decodes path parameters; Hummingbird hands them over as sent.
  func testPercentEncodedTopicNameIsDecoded() async throws {
    try await Application(router: api.router()).test(.router) { client in
      try await client.execute(
        uri: "/topics/my-topic/records", method: .post,
        body: ByteBuffer(string: #"[{"value":"v"}]"#)
      ) { XCTAssertEqual($0.status, .ok) }
      try await client.execute(uri: "/topics/my%2Dtopic", method: .get) {
        XCTAssertEqual($0.status, .ok)
      }
      try await client.execute(uri: "/topics/my%2Dtopic/records", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let records = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        XCTAssertEqual((records as? [[String: Any]])?.first?["value"] as? String, "v")
      }
      try await client.execute(uri: "/topics/a%2Fb/records", method: .get) {
        XCTAssertEqual($0.status, .notFound, "a name no topic can have")
      }
    }
  }
}
