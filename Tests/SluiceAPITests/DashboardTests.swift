import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import SluiceCore
import SluiceLog
import XCTest

@testable import SluiceAPI

/// The dashboard's routes: `GET /` for browsers and for API clients, `GET /ui`, its state and
/// its assets, and the figures the state derives from statuses and the metrics history.
final class DashboardTests: XCTestCase {
  private var directory: URL!
  private var log: EmbeddedLog!
  private var store: EmbeddedTopicStore!
  private var status: StatusBoard!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-dashboard-\(UUID().uuidString)")
    log = try EmbeddedLog(directory: directory.path, configuration: LogConfiguration())
    store = EmbeddedTopicStore(
      log: log, defaultPartitions: 2,
      groupOffsets: try FileOffsetStore(directory: directory.path + "-offsets"))
    status = StatusBoard()
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
    try? FileManager.default.removeItem(atPath: directory.path + "-offsets")
  }

  private func connector(
    _ name: String, type: String = "source", state: ConnectorState = .running,
    details: [String: String] = [:]
  ) -> ConnectorStatus {
    var task = TaskStatus(id: 0, state: state, workerID: "test:1")
    task.details = details
    return ConnectorStatus(
      name: name, connector: .init(state: state, workerID: "test:1", trace: nil), tasks: [task],
      type: type, connectorType: "file", configFile: "\(name).yaml")
  }

  private func app(history: MetricsHistory? = nil) -> some ApplicationProtocol {
    var api = AdminAPI(store: store, status: status, workerID: "test:1")
    api.history = history
    return Application(router: api.router())
  }

  private static let browserAccept =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"

  // MARK: - Content negotiation

  func testBrowsersPreferHTMLAndAPIClientsDoNot() {
    XCTAssertTrue(ContentNegotiation.prefersHTML([Self.browserAccept]))
    XCTAssertTrue(ContentNegotiation.prefersHTML(["text/html"]))
    XCTAssertTrue(ContentNegotiation.prefersHTML(["text/*"]))
    XCTAssertTrue(ContentNegotiation.prefersHTML(["application/json;q=0.5", "text/html"]))
    XCTAssertFalse(ContentNegotiation.prefersHTML([]), "no Accept: anything, so the JSON")
    XCTAssertFalse(ContentNegotiation.prefersHTML(["*/*"]), "curl")
    XCTAssertFalse(ContentNegotiation.prefersHTML(["application/json"]), "kcctl")
    XCTAssertFalse(ContentNegotiation.prefersHTML(["application/json, text/html"]), "a tie")
    XCTAssertFalse(ContentNegotiation.prefersHTML(["text/html;q=0.4, application/*"]))
    XCTAssertFalse(ContentNegotiation.prefersHTML(["text/html;q=0, */*"]))
    XCTAssertFalse(ContentNegotiation.prefersHTML(["text/html;q=oops, */*"]))
    XCTAssertFalse(ContentNegotiation.prefersHTML(["garbage"]))
  }

  /// Kafka Connect clients must get exactly the worker JSON they got before the dashboard.
  func testRootAnswersAPIClientsWithTodaysJSON() async throws {
    status.set(connector("lines-in"))
    let expected =
      #"{"commit":"sluice-\#(SluiceVersion.current)","sluice_version":"\#(SluiceVersion.current)","store":{"brokers":[],"kind":"embedded"},"version":"\#(SluiceVersion.kafkaConnect)","worker_id":"test:1"}"#
      + "\n"
    try await app().test(.router) { client in
      for accept in [nil, "*/*", "application/json", "application/json, text/plain, */*"] {
        var headers = HTTPFields()
        if let accept { headers[.accept] = accept }
        try await client.execute(uri: "/", method: .get, headers: headers) { response in
          XCTAssertEqual(response.status, .ok)
          XCTAssertEqual(response.headers[.contentType], "application/json", "\(accept ?? "none")")
          XCTAssertEqual(String(buffer: response.body), expected, "\(accept ?? "none")")
          XCTAssertEqual(response.headers[.vary], "Accept")
        }
      }
    }
  }

  func testRootAnswersABrowserWithTheDashboard() async throws {
    status.set(connector("lines-in"))
    try await app().test(.router) { client in
      try await client.execute(
        uri: "/", method: .get, headers: [.accept: Self.browserAccept]
      ) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "text/html; charset=utf-8")
        XCTAssertEqual(response.headers[.vary], "Accept")
        let html = String(buffer: response.body)
        XCTAssertTrue(html.hasPrefix("<!doctype html>"), html)
        XCTAssertTrue(html.contains(#"data-connector="lines-in""#), html)
      }
    }
  }

  // MARK: - The page

  func testPageRendersConnectorsTasksAndTopicsWithoutScript() async throws {
    status.set(connector("lines-in"))
    status.set(connector("lines-out", type: "sink", state: .paused))
    try await store.createTopic("lines", partitions: 2)
    _ = try await store.append(
      [OutgoingRecord(key: nil, value: Array("v".utf8))], to: TopicPartition("lines", 1))
    try await app().test(.router) { client in
      try await client.execute(uri: "/ui", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let csp = response.headers[.contentSecurityPolicy] ?? ""
        XCTAssertTrue(csp.contains("script-src 'self'"), csp)
        XCTAssertFalse(csp.contains("unsafe-inline"), csp)
        let html = String(buffer: response.body)
        XCTAssertTrue(html.contains(#"<div class="name">lines-in</div>"#), html)
        XCTAssertTrue(html.contains(#"data-role="state">RUNNING</span>"#), html)
        XCTAssertTrue(html.contains(#"data-role="state">PAUSED</span>"#), html)
        XCTAssertTrue(html.contains("0: PAUSED"), "the task's state")
        XCTAssertTrue(html.contains(#"<tr data-topic="lines">"#), html)
        XCTAssertTrue(html.contains("p1 <b>0</b>→<b>1</b>"), "partition 1's offsets")
        XCTAssertTrue(html.contains(#"<option value="lines">"#), "the record browser's topic")
        XCTAssertTrue(html.contains("test:1"), "the worker")
        // Nothing from elsewhere: the page works offline.
        for reference in [#"src="http"#, #"href="http"#, "url(http", "//cdn"] {
          XCTAssertFalse(html.contains(reference), reference)
        }
      }
    }
  }

  func testNamesAreEscapedInThePage() async throws {
    status.set(connector("x\"><script>alert(1)</script>"))
    try await app().test(.router) { client in
      try await client.execute(uri: "/ui", method: .get) { response in
        let html = String(buffer: response.body)
        XCTAssertFalse(html.contains("<script>alert(1)"), html)
        XCTAssertTrue(html.contains("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), html)
      }
    }
  }

  func testAssetsAreServedFromTheBinary() async throws {
    try await app().test(.router) { client in
      try await client.execute(uri: "/ui/dashboard.js", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "text/javascript; charset=utf-8")
        XCTAssertTrue(String(buffer: response.body).contains("/ui/state"))
      }
      try await client.execute(uri: "/ui/dashboard.css", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "text/css; charset=utf-8")
        XCTAssertFalse(String(buffer: response.body).contains("@import"))
      }
    }
  }

  // MARK: - State

  func testStateCarriesRatesLagDeadLettersSlotsAndSnapshot() async throws {
    status.set(connector("lines-in"))
    status.set(
      connector("lines-out", type: "sink", details: ["lag_records": "12", "dlq_records": "2"]))
    status.set(
      connector(
        "shop-cdc",
        details: [
          "slot": "sluice_shop", "slot_warn_retained_wal": "1KiB",
          "snapshot": "running: table 2/4 public.orders, 50/~100 rows", "snapshot_rows": "250",
        ]))
    let registry = PrometheusCollectorRegistry()
    let written = registry.makeCounter(
      name: DashboardMetrics.sourceRecords, labels: [("connector", "lines-in"), ("task", "0")])
    let wal = registry.makeGauge(
      name: DashboardMetrics.slotRetainedWAL,
      labels: [("connector", "shop-cdc"), ("slot", "sluice_shop")])
    let history = MetricsHistory(
      interval: .seconds(1), families: DashboardMetrics.families,
      exposition: { registry.emitToBuffer() })
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    wal.set(500.0)
    history.sample(at: now - 2000)
    written.increment(by: Int64(40))
    wal.set(2048.0)
    history.sample(at: now - 1000)

    try await app(history: history).test(.router) { client in
      try await client.execute(uri: "/ui/state", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.cacheControl], "no-store")
        let state = try XCTUnwrap(
          try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        XCTAssertEqual(state["sample_interval_ms"] as? Int, 1000)
        XCTAssertEqual(state["window_ms"] as? Int, 900_000)
        let connectors = try XCTUnwrap(state["connectors"] as? [[String: Any]])
        let byName = Dictionary(
          uniqueKeysWithValues: connectors.map { ($0["name"] as! String, $0) })

        let source = try XCTUnwrap(byName["lines-in"])
        XCTAssertEqual(source["state"] as? String, "RUNNING")
        let throughput = try XCTUnwrap(source["throughput"] as? [String: Any])
        XCTAssertEqual(throughput["latest"] as? Double, 40, "40 records in one second")
        XCTAssertEqual((throughput["points"] as? [[Double]])?.count, 1)
        XCTAssertNil(source["lag"], "a source has no lag")
        let task = try XCTUnwrap((source["tasks"] as? [[String: Any]])?.first)
        XCTAssertEqual(task["state"] as? String, "RUNNING", "the task's status fields")
        XCTAssertEqual(task["worker_id"] as? String, "test:1")
        XCTAssertEqual((task["throughput"] as? [String: Any])?["latest"] as? Double, 40)

        let sink = try XCTUnwrap(byName["lines-out"])
        XCTAssertEqual((sink["lag"] as? [String: Any])?["latest"] as? Double, 12)
        let letters = try XCTUnwrap(sink["dead_letters"] as? [String: Any])
        XCTAssertEqual(letters["count"] as? Double, 2)
        XCTAssertEqual(letters["topic"] as? String, "lines-out.dlq")
        XCTAssertEqual(letters["topic_exists"] as? Bool, false)

        let cdc = try XCTUnwrap(byName["shop-cdc"])
        let slot = try XCTUnwrap((cdc["slots"] as? [[String: Any]])?.first)
        XCTAssertEqual(slot["slot"] as? String, "sluice_shop")
        XCTAssertEqual(slot["warn_bytes"] as? Int, 1024)
        XCTAssertEqual((slot["retained_wal_bytes"] as? [String: Any])?["latest"] as? Double, 2048)
        let snapshot = try XCTUnwrap(cdc["snapshot"] as? [String: Any])
        XCTAssertEqual(snapshot["total_tables"] as? Int, 4)
        XCTAssertEqual(snapshot["remaining_tables"] as? Int, 3)
        XCTAssertEqual(snapshot["rows"] as? Int, 250)
        XCTAssertEqual(try XCTUnwrap(snapshot["fraction"] as? Double), 0.375, accuracy: 1e-9)
      }
    }
  }

  func testStateWithoutHistoryOrMetricsStillAnswers() async throws {
    status.set(connector("lines-in"))
    try await app().test(.router) { client in
      try await client.execute(uri: "/ui/state", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let state =
          try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        let first = (state?["connectors"] as? [[String: Any]])?.first
        let throughput = first?["throughput"] as? [String: Any]
        XCTAssertEqual((throughput?["points"] as? [Any])?.count, 0)
        XCTAssertNil(throughput?["latest"])
        XCTAssertEqual((first?["slots"] as? [Any])?.count, 0)
        XCTAssertNil(first?["snapshot"])
      }
    }
  }

  /// A store that cannot list its topics (a Kafka cluster out of reach) leaves the connectors
  /// on the page, with the reason where the topics would be.
  func testAStoreThatCannotListTopicsStillShowsTheConnectors() async throws {
    status.set(connector("lines-in"))
    let api = AdminAPI(store: UnreachableTopics(store: store), status: status, workerID: "test:1")
    try await Application(router: api.router()).test(.router) { client in
      try await client.execute(uri: "/ui/state", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let state =
          try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        XCTAssertEqual((state?["connectors"] as? [Any])?.count, 1)
        XCTAssertEqual((state?["topics"] as? [Any])?.count, 0)
        XCTAssertNotNil(state?["topics_error"] as? String)
      }
      try await client.execute(uri: "/ui", method: .get) { response in
        XCTAssertEqual(response.status, .ok)
        let html = String(buffer: response.body)
        XCTAssertTrue(html.contains(#"<div class="name">lines-in</div>"#), html)
        XCTAssertTrue(html.contains("the topics cannot be listed: no broker answered"), html)
      }
    }
  }

  func testSnapshotFromTheRemainingTablesGaugeAlone() {
    let series = MetricsHistory.Series(
      family: .init(DashboardMetrics.snapshotRemainingTables, .gauge),
      labels: ["connector": "c"],
      samples: [.init(time: 0, value: 5), .init(time: 1000, value: 2)])
    var builder = DashboardStateBuilder(
      worker: WorkerSummary(
        id: "w", version: "v", kafkaConnectVersion: "k", store: StoreDescription(kind: "embedded")),
      statuses: [connector("c")])
    builder.history = [DashboardMetrics.snapshotRemainingTables: [series]]
    let snapshot = builder.build().connectors.first?.snapshot
    XCTAssertEqual(snapshot?.remainingTables, 2)
    XCTAssertEqual(snapshot?.totalTables, 5, "the most tables the gauge showed")
    XCTAssertEqual(snapshot?.fraction, 0.6)

    // A snapshot done before the window: the gauge only ever showed 0.
    builder.history = [
      DashboardMetrics.snapshotRemainingTables: [
        MetricsHistory.Series(
          family: .init(DashboardMetrics.snapshotRemainingTables, .gauge),
          labels: ["connector": "c"], samples: [.init(time: 0, value: 0)])
      ]
    ]
    let done = builder.build().connectors.first?.snapshot
    XCTAssertEqual(done?.fraction, 1)
    XCTAssertNil(done?.totalTables, "not 0 tables")
  }

  /// Thresholds from the connector's config (or its type's default) draw the lines; `off`
  /// draws none; a task's detail of the same name wins.
  func testSlotThresholdsFromConfigAndDetails() {
    var builder = DashboardStateBuilder(
      worker: WorkerSummary(
        id: "w", version: "v", kafkaConnectVersion: "k", store: StoreDescription(kind: "embedded")),
      statuses: [
        connector("configured", details: ["slot": "s1"]),
        connector("detailed", details: ["slot": "s2", "slot_warn_retained_wal": "2KiB"]),
        connector("no-slot"),
      ])
    builder.slotThresholds = [
      "configured": ("512MB", "off"), "detailed": ("1GiB", nil), "no-slot": ("1GiB", nil),
    ]
    let views = Dictionary(
      uniqueKeysWithValues: builder.build().connectors.map { ($0.name, $0.slots) })
    XCTAssertEqual(views["configured"]?.first?.slot, "s1")
    XCTAssertEqual(views["configured"]?.first?.warnBytes, 512_000_000)
    XCTAssertNil(views["configured"]?.first?.failBytes, "off")
    XCTAssertEqual(views["detailed"]?.first?.warnBytes, 2048)
    XCTAssertEqual(views["no-slot"]?.count, 0, "a connector without a slot shows none")
  }

  func testSnapshotTextAndSizes() {
    let text = SnapshotText("running: table 3/3 public.items, 10 rows")
    XCTAssertEqual(text?.table, 3)
    XCTAssertEqual(text?.tables, 3)
    XCTAssertEqual(text?.rows, 10)
    XCTAssertNil(text?.estimatedRows)
    XCTAssertEqual(text.map(\.fraction) ?? -1, 2.0 / 3.0, accuracy: 1e-9)
    XCTAssertNil(SnapshotText("snapshot complete"))
    XCTAssertNil(SnapshotText("running: table 5/3 x, 1 rows"))
    XCTAssertEqual(ByteSize.parse("1GiB"), 1 << 30)
    XCTAssertEqual(ByteSize.parse("512 MB"), 512_000_000)
    XCTAssertEqual(ByteSize.parse("4096"), 4096)
    XCTAssertNil(ByteSize.parse("lots"))
    XCTAssertNil(ByteSize.parse("-1KiB"))
  }
}

/// The embedded store, except that listing its topics fails as a Kafka cluster out of reach
/// would.
private struct UnreachableTopics: TopicStore {
  let store: EmbeddedTopicStore

  struct Unreachable: Error, CustomStringConvertible {
    var description: String { "no broker answered" }
  }

  var defaultPartitions: Int { store.defaultPartitions }
  var maxRecordBytes: Int { store.maxRecordBytes }
  func describeStore() async -> StoreDescription { await store.describeStore() }
  func createTopic(_ name: String, partitions: Int) async throws {
    try await store.createTopic(name, partitions: partitions)
  }
  func partitionCount(of topic: String) async throws -> Int? {
    try await store.partitionCount(of: topic)
  }
  func describeTopics() async throws -> [TopicDescription] { throw Unreachable() }
  func offsets(of partition: TopicPartition) async throws -> SluiceCore.PartitionOffsets {
    try await store.offsets(of: partition)
  }
  func append(_ records: [OutgoingRecord], to partition: TopicPartition) async throws -> Int64 {
    try await store.append(records, to: partition)
  }
  func read(from partition: TopicPartition, offset: Int64, maxRecords: Int, maxBytes: Int)
    async throws -> [Record]
  {
    try await store.read(
      from: partition, offset: offset, maxRecords: maxRecords, maxBytes: maxBytes)
  }
  func makeConsumer(group: String?, member: String) async throws -> any TopicConsumer {
    try await store.makeConsumer(group: group, member: member)
  }
  func makeSourceSession(connector: String, task: Int, offsets: any OffsetStore) async throws
    -> any SourceSession
  {
    try await store.makeSourceSession(connector: connector, task: task, offsets: offsets)
  }
}
