import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceLog
import XCTest

final class AdminAPITests: XCTestCase {
  private var directory: URL!
  private var log: EmbeddedLog!
  private var store: EmbeddedTopicStore!
  private var status: StatusBoard!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-api-\(UUID().uuidString)")
    log = try EmbeddedLog(
      directory: directory.path, configuration: LogConfiguration(maxRecordBytes: 1024))
    store = EmbeddedTopicStore(
      log: log, defaultPartitions: 3,
      groupOffsets: try FileOffsetStore(directory: directory.path + "-offsets"))
    status = StatusBoard()
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
    try? FileManager.default.removeItem(atPath: directory.path + "-offsets")
  }

  private var app: some ApplicationProtocol {
    Application(router: AdminAPI(store: store!, status: status!, workerID: "test:1").router())
  }

  func testProduceThenReadRoundTrip() async throws {
    try await app.test(.router) { client in
      let body =
        #"{"records":[{"key":"a","value":{"n":1}},{"key":"a","value":"text","headers":{"h":"v"}},{"value_b64":"AAE="}]}"#
      try await client.execute(
        uri: "/topics/orders/records", method: .post, body: ByteBuffer(string: body)
      ) { response in
        XCTAssertEqual(response.status, .ok)
        let offsets = (json(response.body) as? [String: Any])?["offsets"] as? [[String: Any]]
        XCTAssertEqual(offsets?.count, 3)
      }
      let partition = Partitioner.partition(forKey: Array("a".utf8), partitions: 3)
      try await client.execute(
        uri: "/topics/orders/records?partition=\(partition)&offset=0", method: .get
      ) { response in
        XCTAssertEqual(response.status, .ok)
        let records = json(response.body) as? [[String: Any]]
        XCTAssertEqual(records?.count, 2)
        XCTAssertEqual((records?[0]["value"] as? [String: Any])?["n"] as? Int, 1)
        XCTAssertEqual(records?[1]["value"] as? String, "text")
        XCTAssertEqual((records?[1]["headers"] as? [String: Any])?["h"] as? String, "v")
      }
      try await client.execute(uri: "/topics", method: .get) { response in
        let topics = json(response.body) as? [[String: Any]]
        XCTAssertEqual(topics?.first?["name"] as? String, "orders")
        let ends = (topics?.first?["partitions"] as? [[String: Any]])?.compactMap {
          $0["end_offset"] as? Int
        }
        XCTAssertEqual(ends?.reduce(0, +), 3)
      }
    }
  }

  func testRootSaysVersionAndStore() async throws {
    try await app.test(.router) { client in
      try await client.execute(uri: "/", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let info = json(response.body) as? [String: Any]
        // kcctl parses major.minor and enables stop/offsets from 3.5 on.
        let version = info?["version"] as? String ?? ""
        XCTAssertTrue(version.hasPrefix("3.9.0-sluice-"), version)
        let parts = version.split(separator: ".").prefix(2).compactMap { Int($0) }
        XCTAssertEqual(parts, [3, 9])
        XCTAssertEqual(info?["sluice_version"] as? String, SluiceVersion.current)
        XCTAssertNotNil(info?["commit"] as? String)
        XCTAssertEqual(info?["worker_id"] as? String, "test:1")
        XCTAssertEqual((info?["store"] as? [String: Any])?["kind"] as? String, "embedded")
        XCTAssertEqual((info?["store"] as? [String: Any])?["brokers"] as? [String], [])
      }
    }
  }

  /// A known path with a method it does not take is 405 with `Allow`, as in Kafka Connect.
  func testAWrongMethodIs405WithAllow() async throws {
    try await app.test(.router) { client in
      try await client.execute(uri: "/connectors", method: .delete) { response in
        XCTAssertEqual(response.status, .methodNotAllowed)
        XCTAssertEqual(response.headers[.allow], "GET, POST")
        XCTAssertEqual((json(response.body) as? [String: Any])?["error_code"] as? Int, 405)
      }
      try await client.execute(uri: "/connectors/x/pause", method: .post) { response in
        XCTAssertEqual(response.status, .methodNotAllowed)
        XCTAssertEqual(response.headers[.allow], "PUT")
      }
      try await client.execute(uri: "/connectors/x/nothing", method: .get) { response in
        XCTAssertEqual(response.status, .notFound)
      }
    }
  }

  func testBadRequestsGetJSONErrorsAndWriteNothing() async throws {
    try await app.test(.router) { client in
      let cases: [(String, HTTPRequest.Method, String?, HTTPResponse.Status, String)] = [
        ("/topics/t/records", .post, "{not json", .badRequest, "not valid JSON"),
        (
          "/topics/t/records", .post, #"{"records":[{"valu":"x"}]}"#, .badRequest,
          "unknown field 'valu'"
        ),
        ("/topics/t/records", .post, #"{"records":[]}"#, .badRequest, "no records"),
        (
          "/topics/t/records", .post, #"{"records":[{"value":"x","partition":9}]}"#, .notFound,
          "no partition 9"
        ),
        (
          "/topics/bad%20name/records", .post, #"{"records":[{"value":"x"}]}"#, .badRequest,
          "invalid topic name"
        ),
        (
          "/topics/t/records", .post,
          #"{"records":[{"value":"\#(String(repeating: "x", count: 2000))"}]}"#, .contentTooLarge,
          "larger than the limit"
        ),
        ("/topics/missing/records", .get, nil, .notFound, "topic 'missing' not found"),
        ("/topics/t/records?partition=x", .get, nil, .badRequest, "'partition' must be an integer"),
        ("/connectors/nope/status", .get, nil, .notFound, "Connector nope not found"),
        ("/no/such/route", .get, nil, .notFound, "no endpoint GET /no/such/route"),
      ]
      for (uri, method, body, expected, reason) in cases {
        try await client.execute(
          uri: uri, method: method, body: body.map { ByteBuffer(string: $0) }
        ) { response in
          XCTAssertEqual(response.status, expected, uri)
          let object = json(response.body) as? [String: Any]
          XCTAssertEqual(object?["error_code"] as? Int, Int(expected.code), uri)
          let message = object?["message"] as? String ?? ""
          XCTAssertTrue(message.contains(reason), "\(uri): \(message)")
        }
      }
    }
    // Only the request with a valid topic, partition 9 aside, may have created topic t; none wrote.
    let total = try await store.describeTopics().flatMap(\.partitions).map { $0.end - $0.start }
      .reduce(0, +)
    XCTAssertEqual(total, 0)
  }

  func testUnavailableStoreIs503WithRetryAfter() async throws {
    log.close()
    try await app.test(.router) { client in
      try await client.execute(
        uri: "/topics/t/records", method: .post,
        body: ByteBuffer(string: #"{"records":[{"value":"x"}]}"#)
      ) { response in
        XCTAssertEqual(response.status, .serviceUnavailable)
        XCTAssertEqual(response.headers[.retryAfter], "1")
        XCTAssertTrue(String(buffer: response.body).contains("error_code"))
      }
    }
  }

  func testTaskWarningsMakeHealthDegradedAndCriticalOnesAnswer503() async throws {
    status.set(
      ConnectorStatus(
        name: "cdc", connector: .init(state: .running, workerID: "test:1", trace: nil),
        tasks: [TaskStatus(id: 0, state: .running, workerID: "test:1")], type: "source",
        connectorType: "postgres-cdc", configFile: "cdc.yaml"))
    func health() async throws -> (HTTPResponse.Status, [String: Any]) {
      let (code, body) = try await app.test(.router) { client in
        try await client.execute(uri: "/health", method: .get) { ($0.status, $0.body) }
      }
      return (code, json(body) as? [String: Any] ?? [:])
    }
    status.updateTask("cdc", 0) {
      $0.setWarning(
        "replication_slot",
        TaskWarning(source: "replication_slot", severity: .warning, message: "slot holds 2 GiB"))
    }
    var (code, body) = try await health()
    XCTAssertEqual(code, .ok, "a warning does not fail a probe")
    XCTAssertEqual(body["status"] as? String, "DEGRADED")
    XCTAssertEqual(body["message"] as? String, "cdc task 0: slot holds 2 GiB")
    let warning = (body["warnings"] as? [[String: Any]])?.first
    XCTAssertEqual(warning?["connector"] as? String, "cdc")
    XCTAssertEqual(warning?["severity"] as? String, "WARNING")
    XCTAssertEqual(
      (status.status(of: "cdc")?.tasks[0].warnings?.first?.message), "slot holds 2 GiB")

    status.updateTask("cdc", 0) {
      $0.setWarning(
        "replication_slot",
        TaskWarning(source: "replication_slot", severity: .critical, message: "slot holds 9 GiB"))
    }
    (code, body) = try await health()
    XCTAssertEqual(code, .serviceUnavailable)
    XCTAssertEqual((body["warnings"] as? [[String: Any]])?.count, 1, "one warning per source")

    status.updateTask("cdc", 0) { $0.setWarning("replication_slot", nil) }
    (code, body) = try await health()
    XCTAssertEqual(code, .ok)
    XCTAssertEqual(body["status"] as? String, "UP")
    XCTAssertNil(status.status(of: "cdc")?.tasks[0].warnings, "no warnings key when healthy")
  }

  func testHealthAndConnectorStatusInKafkaConnectShape() async throws {
    status.set(
      ConnectorStatus(
        name: "c1", connector: .init(state: .running, workerID: "test:1", trace: nil),
        tasks: [TaskStatus(id: 0, state: .running, workerID: "test:1")], type: "source",
        connectorType: "file",
        configFile: "c1.yaml"))
    try await app.test(.router) { client in
      try await client.execute(uri: "/health", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual((json(response.body) as? [String: Any])?["status"] as? String, "UP")
      }
      try await client.execute(uri: "/connectors", method: .get) { response in
        XCTAssertEqual(json(response.body) as? [String], ["c1"])
      }
      try await client.execute(uri: "/connectors/c1/status", method: .get) { response in
        let object = json(response.body) as? [String: Any]
        XCTAssertEqual((object?["connector"] as? [String: Any])?["state"] as? String, "RUNNING")
        XCTAssertEqual(
          (object?["tasks"] as? [[String: Any]])?.first?["worker_id"] as? String, "test:1")
        XCTAssertEqual(object?["type"] as? String, "source")
      }
    }
    status.updateTask("c1", 0) {
      $0.state = .failed
      $0.trace = "boom"
    }
    try await app.test(.router) { client in
      try await client.execute(uri: "/health", method: .get) { response in
        XCTAssertEqual(response.status, .serviceUnavailable)
        XCTAssertEqual(
          (json(response.body) as? [String: Any])?["failed_connectors"] as? [String], ["c1"])
      }
    }
  }

  func testReadWaitsForNewRecordsWhenAsked() async throws {
    try await store.createTopic("w", partitions: 1)
    let store = self.store!
    let producer = Task {
      try await Task.sleep(for: .milliseconds(200))
      _ = try await store.append(
        [OutgoingRecord(key: nil, value: Array("late".utf8))], to: TopicPartition("w", 0))
    }
    try await app.test(.router) { client in
      try await client.execute(uri: "/topics/w/records?offset=0&wait_ms=5000", method: .get) {
        response in
        let records = json(response.body) as? [[String: Any]]
        XCTAssertEqual(records?.first?["value"] as? String, "late")
      }
    }
    try await producer.value
  }
}

private func json(_ buffer: ByteBuffer) -> Any? {
  try? JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed])
}
