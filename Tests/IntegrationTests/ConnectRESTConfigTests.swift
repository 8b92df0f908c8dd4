import Foundation
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Kafka Connect's config routes on a real worker: the JSON of Kafka's own docs, sent with curl,
/// creates connectors that run; every change is a file in `connectors_dir`, and a file written
/// by hand shows in the API; concurrent changes of one connector conflict; secrets stay hidden.
final class ConnectRESTConfigTests: XCTestCase {
  private var worker: WorkerProcess!

  override func setUpWithError() throws {
    worker = try WorkerProcess()
    try worker.start()
  }

  override func tearDown() {
    _ = worker.terminate()
    if let run = testRun, run.failureCount > 0 { print(worker.log()) }
  }

  func testKafkaDocsJSONWithCurlCreatesConnectorsThatRunAndAreFiles() throws {
    let input = worker.directory.appendingPathComponent("test.txt")
    let output = worker.directory.appendingPathComponent("test.sink.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    // As "Kafka Connect REST Interface" and the quickstart show them, paths made absolute.
    let source = try curl(
      "POST", "/connectors",
      #"{"name": "local-file-source", "config": {"connector.class": "FileStreamSource", "tasks.max": "1", "file": "\#(input.path)", "topic": "connect-test"}}"#
    )
    XCTAssertEqual(source.status, 201, source.body)
    let created = try object(source.body)
    XCTAssertEqual(created["name"] as? String, "local-file-source")
    XCTAssertEqual(created["type"] as? String, "source")
    XCTAssertEqual((created["config"] as? [String: String])?["topic"], "connect-test")
    XCTAssertEqual(
      (created["tasks"] as? [[String: Any]])?.first?["connector"] as? String, "local-file-source")
    let sink = try curl(
      "POST", "/connectors",
      #"{"name": "local-file-sink", "config": {"connector.class":"FileStreamSinkConnector", "tasks.max":"1", "file":"\#(output.path)", "topics":"connect-test" }}"#
    )
    XCTAssertEqual(sink.status, 201, sink.body)

    // The files stay the truth: each connector is a YAML file in connectors_dir.
    let files = try FileManager.default.contentsOfDirectory(atPath: worker.connectorsDirectory.path)
    XCTAssertEqual(Set(files), ["local-file-source.yaml", "local-file-sink.yaml"])

    try "one\ntwo\nthree\n".write(to: input, atomically: false, encoding: .utf8)
    try waitUntil("the lines went through both connectors") {
      (try? String(contentsOf: output, encoding: .utf8)) == "one\ntwo\nthree\n"
    }
    XCTAssertEqual(
      try worker.getJSON("/connectors/local-file-source/config") as? [String: String],
      [
        "connector.class": "FileStreamSource", "tasks.max": "1", "file": input.path,
        "topic": "connect-test", "name": "local-file-source",
      ], "GET …/config returns what was given")

    let again = try curl(
      "POST", "/connectors",
      #"{"name": "local-file-source", "config": {"connector.class": "FileStreamSource", "file": "x", "topic": "y"}}"#
    )
    XCTAssertEqual(again.status, 409)
    XCTAssertEqual(try object(again.body)["error_code"] as? Int, 409)
  }

  /// As in Kafka Connect, `tasks.max` is a maximum: a connector that reads one file runs one
  /// task, and the API, the status and the metrics list that one (a sink's tasks all run:
  /// SinkGroupTests).
  func testTheTasksListedAreThoseTheConnectorRunsWithinTasksMax() throws {
    let input = worker.directory.appendingPathComponent("wide.txt")
    try "one\n".write(to: input, atomically: false, encoding: .utf8)
    let source = try worker.send(
      "POST", "/connectors",
      json:
        #"{"name": "wide-source", "config": {"connector.class": "FileStreamSource", "tasks.max": "3", "file": "\#(input.path)", "topic": "wide"}}"#
    )
    XCTAssertEqual(source.status, 201, String(decoding: source.body, as: UTF8.self))
    let created = try XCTUnwrap(JSONSerialization.jsonObject(with: source.body) as? [String: Any])
    XCTAssertEqual((created["tasks"] as? [[String: Any]])?.compactMap { $0["task"] as? Int }, [0])
    try waitUntil("its one task running") {
      let s = try worker.getJSON("/connectors/wide-source/status") as? [String: Any]
      return (s?["tasks"] as? [[String: Any]])?.map { $0["state"] as? String } == ["RUNNING"]
    }
    try waitUntil("the line written") { try worker.records("wide").count == 1 }
    let listed = try worker.getJSON("/connectors/wide-source/tasks") as? [[String: Any]]
    XCTAssertEqual(listed?.count, 1)
    let info = try worker.getJSON("/connectors/wide-source") as? [String: Any]
    XCTAssertEqual((info?["tasks"] as? [[String: Any]])?.compactMap { $0["task"] as? Int }, [0])
    XCTAssertEqual(
      (try worker.getJSON("/connectors/wide-source/config") as? [String: String])?["tasks.max"],
      "3", "the config keeps the maximum asked for")
    XCTAssertEqual(try worker.send("GET", "/connectors/wide-source/tasks/1/status").status, 404)
    XCTAssertEqual(try worker.send("POST", "/connectors/wide-source/tasks/1/restart").status, 404)
    let metrics = String(decoding: try worker.get("/metrics").body, as: UTF8.self)
      .split(separator: "\n").filter { $0.contains(#"connector="wide-source""#) }
    XCTAssertTrue(metrics.contains { $0.contains(#"task="0""#) }, metrics.joined(separator: "\n"))
    XCTAssertFalse(metrics.contains { $0.contains(#"task="1""#) }, metrics.joined(separator: "\n"))
  }

  func testPutPatchDeleteAndHandEditedFiles() throws {
    let input = worker.directory.appendingPathComponent("in.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    var config = [
      "connector.class": "FileStreamSource", "file": input.path, "topic": "first",
    ]
    let put = try worker.send("PUT", "/connectors/lines/config", json: try json(config))
    XCTAssertEqual(put.status, 201, String(decoding: put.body, as: UTF8.self))
    config["topic"] = "second"
    let update = try worker.send("PUT", "/connectors/lines/config", json: try json(config))
    XCTAssertEqual(update.status, 200)
    XCTAssertEqual(
      (try worker.getJSON("/connectors/lines/config") as? [String: String])?["topic"], "second")
    let patch = try worker.send(
      "PATCH", "/connectors/lines/config", json: #"{"topic": "third", "tasks.max": null}"#)
    XCTAssertEqual(patch.status, 200, String(decoding: patch.body, as: UTF8.self))
    XCTAssertEqual(
      (try worker.getJSON("/connectors/lines/config") as? [String: String])?["topic"], "third")
    let mismatch = try worker.send(
      "PUT", "/connectors/lines/config", json: #"{"name": "other", "connector.class": "FileStreamSource"}"#)
    XCTAssertEqual(mismatch.status, 400)

    // A bad config is refused with the key named, and nothing is written.
    let bad = try worker.send(
      "POST", "/connectors",
      json: #"{"name": "bad", "config": {"connector.class": "FileStreamSource", "file": "x", "topic": "t", "tpoic.regex": "y"}}"#)
    XCTAssertEqual(bad.status, 400)
    XCTAssertTrue(String(decoding: bad.body, as: UTF8.self).contains("tpoic.regex"))
    XCTAssertFalse(
      FileManager.default.fileExists(
        atPath: worker.connectorsDirectory.appendingPathComponent("bad.yaml").path))
    XCTAssertEqual(
      try worker.send("POST", "/connectors", json: "{not json").status, 400)

    // A file written by hand shows in the API, in the flat form.
    try worker.writeConnector(
      "handmade",
      """
      name: handmade
      sink: file
      topics: [third]
      config: { path: \(worker.directory.path)/hand.out }
      """)
    try waitUntil("the hand-written connector in the API") {
      (try worker.getJSON("/connectors") as? [String])?.contains("handmade") == true
    }
    let handmade = try worker.getJSON("/connectors/handmade/config") as? [String: String]
    XCTAssertEqual(handmade?["name"], "handmade")
    XCTAssertEqual(handmade?["topics"], "third")
    XCTAssertNotNil(handmade?["connector.class"])

    // A connect-standalone properties file runs as it is.
    let output = worker.directory.appendingPathComponent("props.out")
    try """
      name=props-sink
      connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector
      tasks.max=1
      file=\(output.path)
      topics=third
      """.write(
      to: worker.connectorsDirectory.appendingPathComponent("props-sink.properties"),
      atomically: true, encoding: .utf8)
    try waitUntil("the properties file's connector runs") {
      let s = try worker.getJSON("/connectors/props-sink/status") as? [String: Any]
      return ((s?["tasks"] as? [[String: Any]])?.first?["state"] as? String) == "RUNNING"
    }
    XCTAssertEqual(
      (try worker.getJSON("/connectors/props-sink/config") as? [String: String])?["topics"], "third")
    try "x\n".write(to: input, atomically: false, encoding: .utf8)
    try waitUntil("a line through the properties-file sink") {
      (try? String(contentsOf: output, encoding: .utf8)) == "x\n"
    }
    XCTAssertEqual(try worker.send("DELETE", "/connectors/props-sink").status, 204)

    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines").status, 204)
    XCTAssertEqual(try worker.send("GET", "/connectors/lines").status, 404)
    XCTAssertEqual(try worker.send("DELETE", "/connectors/lines").status, 404)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: worker.connectorsDirectory.path),
      ["handmade.yaml"])
  }

  func testConcurrentChangesOfOneConnectorConflict() throws {
    let input = worker.directory.appendingPathComponent("in.txt")
    FileManager.default.createFile(atPath: input.path, contents: nil)
    let statuses = Statuses()
    let url = URL(string: worker.apiURL + "/connectors/racy/config")!
    DispatchQueue.concurrentPerform(iterations: 8) { i in
      let config = #"{"connector.class": "FileStreamSource", "file": "\#(input.path)", "topic": "t\#(i)"}"#
      var request = URLRequest(url: url)
      request.httpMethod = "PUT"
      request.httpBody = Data(config.utf8)
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
      let done = DispatchSemaphore(value: 0)
      URLSession.shared.dataTask(with: request) { _, response, _ in
        statuses.append((response as? HTTPURLResponse)?.statusCode ?? 0)
        done.signal()
      }.resume()
      done.wait()
    }
    let all = statuses.values
    XCTAssertTrue(all.contains(409), "\(all)")
    XCTAssertTrue(all.contains(201) || all.contains(200), "\(all)")
    XCTAssertTrue(all.allSatisfy { [200, 201, 409].contains($0) }, "\(all)")
  }

  func testInitialStateAndSecretsStayHidden() throws {
    let created = try worker.send(
      "POST", "/connectors",
      json: #"""
        {"name": "hooks", "initial_state": "STOPPED", "config": {"connector.class": "io.aiven.kafka.connect.http.HttpSinkConnector", "topics": "events", "http.url": "http://127.0.0.1:9/x", "http.authorization.type": "static", "http.headers.authorization": "Bearer s3cr3t-token"}}
        """#)
    XCTAssertEqual(created.status, 201, String(decoding: created.body, as: UTF8.self))
    XCTAssertFalse(String(decoding: created.body, as: UTF8.self).contains("s3cr3t-token"))
    try waitUntil("created stopped") {
      let s = try worker.getJSON("/connectors/hooks/status") as? [String: Any]
      return (s?["connector"] as? [String: Any])?["state"] as? String == "STOPPED"
    }
    for path in ["/connectors/hooks", "/connectors/hooks/config", "/connectors/hooks/tasks",
      "/connectors?expand=info", "/connectors/hooks/status",
    ] {
      let (_, body) = try worker.get(path)
      XCTAssertFalse(String(decoding: body, as: UTF8.self).contains("s3cr3t-token"), path)
    }
    XCTAssertFalse(worker.log().contains("s3cr3t-token"))
  }

  /// What AKHQ and Kafka UI build their create forms from: the plugins, each key's definition,
  /// and validation with per-key errors.
  func testPluginsDefinitionsAndValidation() throws {
    let plugins = try XCTUnwrap(worker.getJSON("/connector-plugins") as? [[String: String]])
    let classes = Dictionary(uniqueKeysWithValues: plugins.map { ($0["class"] ?? "", $0) })
    XCTAssertEqual(classes["io.debezium.connector.postgresql.PostgresConnector"]?["type"], "source")
    XCTAssertEqual(classes["io.confluent.connect.jdbc.JdbcSinkConnector"]?["type"], "sink")
    XCTAssertEqual(classes["sluice.source.postgres-cdc"]?["type"], "source")
    XCTAssertNotNil(classes["sluice.sink.http"])
    XCTAssertEqual(try worker.send("GET", "/connector-plugins?connectorsOnly=true").status, 200)

    let keys = try XCTUnwrap(
      worker.getJSON("/connector-plugins/FileStreamSource/config") as? [[String: Any]])
    let file = try XCTUnwrap(keys.first { $0["name"] as? String == "file" })
    for field in ["type", "required", "importance", "documentation", "group"] {
      XCTAssertNotNil(file[field], "definition has \(field)")
    }
    XCTAssertEqual(try worker.send("GET", "/connector-plugins/NoSuchConnector/config").status, 404)

    // AKHQ asks every plugin with just the class and topics.
    let akhq = try worker.send(
      "PUT", "/connector-plugins/io.confluent.connect.jdbc.JdbcSinkConnector/config/validate",
      json: #"{"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "t"}"#)
    XCTAssertEqual(akhq.status, 200, String(decoding: akhq.body, as: UTF8.self))
    let infos = try XCTUnwrap(JSONSerialization.jsonObject(with: akhq.body) as? [String: Any])
    XCTAssertGreaterThan(infos["error_count"] as? Int ?? 0, 0, "connection.url is required")
    let configs = try XCTUnwrap(infos["configs"] as? [[String: Any]])
    let url = try XCTUnwrap(
      configs.first { ($0["definition"] as? [String: Any])?["name"] as? String == "connection.url" })
    XCTAssertFalse(((url["value"] as? [String: Any])?["errors"] as? [String] ?? []).isEmpty)

    let typo = try worker.send(
      "PUT", "/connector-plugins/FileStreamSource/config/validate",
      json: #"{"file": "/tmp/x", "topic": "t", "tasks.max": "many"}"#)
    let typoInfos = try XCTUnwrap(JSONSerialization.jsonObject(with: typo.body) as? [String: Any])
    let tasksMax = (typoInfos["configs"] as? [[String: Any]])?.first {
      ($0["definition"] as? [String: Any])?["name"] as? String == "tasks.max"
    }
    XCTAssertFalse(
      ((tasksMax?["value"] as? [String: Any])?["errors"] as? [String] ?? []).isEmpty,
      "tasks.max=many is an error at tasks.max")
  }

  // MARK: - Helpers

  private func curl(_ method: String, _ path: String, _ body: String) throws -> (
    status: Int, body: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = [
      "-s", "-w", "\n%{http_code}", "-X", method, "-H", "Content-Type: application/json",
      "--data", body, worker.apiURL + path,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
  }

  private func object(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  private func json(_ value: [String: String]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
  }
}

private final class Statuses: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Int] = []
  func append(_ status: Int) { lock.withLock { list.append(status) } }
  var values: [Int] { lock.withLock { list } }
}
