import Foundation
import XCTest

/// The admin API's access control on a real `sluice run`: HTTPS with a certificate made at
/// test time and a real client (curl), the CLI against a worker that asks for credentials,
/// the refusal to listen off loopback without auth, and no secret of any connector in any log
/// line or API answer.
final class AdminAccessTests: XCTestCase {
  // MARK: - HTTPS

  func testHTTPSWithASelfSignedCertificateAndBasicAuth() throws {
    let worker = try WorkerProcess(
      api: """
        auth: { type: basic, username: admin, password: "open:sesame" }, \
        tls: { cert: api.pem, key: api.key }
        """)
    try makeAPICertificate(in: worker.directory)
    let base = "https://127.0.0.1:\(worker.port)"
    let ca = worker.directory.appendingPathComponent("api.pem").path
    try worker.start(ready: {
      (try? curlRequest(["--cacert", ca, base + "/health"]).status) == 200
    })

    // A real client, verifying the certificate (no -k).
    let listed = try curlRequest(["--cacert", ca, "-u", "admin:open:sesame", base + "/connectors"])
    XCTAssertEqual(listed.status, 200, listed.body)
    XCTAssertEqual(listed.body.trimmingCharacters(in: .whitespacesAndNewlines), "[]")
    let refused = try curlRequest(["--cacert", ca, "-u", "admin:wrong", base + "/connectors"])
    XCTAssertEqual(refused.status, 401)
    XCTAssertTrue(
      refused.headers.contains("www-authenticate: basic realm=\"sluice\""), refused.headers)
    XCTAssertTrue(refused.body.contains("\"error_code\":401"), refused.body)
    let loggers = try curlRequest([
      "--cacert", ca, "-u", "admin:open:sesame", "-X", "PUT", "-H",
      "Content-Type: application/json",
      "--data", #"{"level":"DEBUG"}"#, base + "/admin/loggers/sluice.api",
    ])
    XCTAssertEqual(loggers.status, 200, loggers.body)
    XCTAssertTrue(loggers.body.contains("\"sluice.api\""), loggers.body)

    // Plain HTTP gets no answer from the HTTPS port.
    XCTAssertEqual(
      httpRequest("GET", "http://127.0.0.1:\(worker.port)/health", timeout: 3).status, 0)

    // The CLI reads address, certificate and credentials from the worker file.
    let workerFile = worker.directory.appendingPathComponent("worker.yaml").path
    let status = try runSluice(["status", "--config", workerFile])
    XCTAssertEqual(status.status, 0, status.stderr)
    XCTAssertTrue(status.stdout.contains("no connectors"), status.stdout)
    // Without the worker's certificate, the CLI does not trust it.
    let untrusted = try runSluice(
      ["status", "--api", base], environment: ["SLUICE_API_TOKEN": "x"])
    XCTAssertNotEqual(untrusted.status, 0)
    XCTAssertTrue(untrusted.stderr.contains("cannot reach the worker"), untrusted.stderr)
  }

  // MARK: - The CLI against a worker with auth

  func testCLISendsTheTokenFromTheWorkerFileOrTheEnvironment() throws {
    let worker = try WorkerProcess(api: "auth: { type: bearer, token: cli-t0ken }")
    try worker.start()
    XCTAssertEqual(try worker.get("/connectors").status, 401)
    XCTAssertEqual(try worker.get("/health").status, 200)

    let without = try runSluice(["status", "--api", worker.apiURL])
    XCTAssertEqual(without.status, 1)
    XCTAssertTrue(without.stderr.contains("401"), without.stderr)
    XCTAssertTrue(without.stderr.contains("SLUICE_API_TOKEN"), without.stderr)

    let wrong = try runSluice(
      ["status"], environment: ["SLUICE_API": worker.apiURL, "SLUICE_API_TOKEN": "nope"])
    XCTAssertEqual(wrong.status, 1)
    XCTAssertTrue(wrong.stderr.contains("401"), wrong.stderr)

    let fromEnvironment = try runSluice(
      ["status"], environment: ["SLUICE_API": worker.apiURL, "SLUICE_API_TOKEN": "cli-t0ken"])
    XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
    XCTAssertTrue(fromEnvironment.stdout.contains("no connectors"), fromEnvironment.stdout)

    let workerFile = worker.directory.appendingPathComponent("worker.yaml").path
    let fromFile = try runSluice(["topics", "--config", workerFile])
    XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
    let produced = try runSluice(["produce", "t", "--config", workerFile], stdin: "one\ntwo\n")
    XCTAssertEqual(produced.status, 0, produced.stderr)
    let consumed = try runSluice(["consume", "t", "--from-beginning", "--config", workerFile])
    XCTAssertEqual(consumed.status, 0, consumed.stderr)
    XCTAssertEqual(consumed.stdout.split(separator: "\n").count, 2, consumed.stdout)
  }

  func testCLISaysNoWorkerAnswersWhenNothingListens() throws {
    let url = "http://127.0.0.1:\(try WorkerProcess.freePort())"
    for command in [["topics"], ["status"], ["consume", "t"]] {
      let started = Date()
      let result = try runSluice(command + ["--api", url])
      XCTAssertEqual(result.status, 1, "\(command)")
      XCTAssertTrue(
        result.stderr.contains("no Sluice worker answers at \(url): connection refused"),
        result.stderr)
      XCTAssertLessThan(Date().timeIntervalSince(started), 4, "a refused connection is not retried")
    }
  }

  // MARK: - Refusal

  func testTheWorkerRefusesToListenOffLoopbackWithoutAuth() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-it-refuse-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("connectors"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("worker.yaml")
    let port = try WorkerProcess.freePort()
    try """
    data_dir: \(folder.path)/data
    connectors_dir: \(folder.path)/connectors
    api: { listen: 0.0.0.0:\(port) }
    """.write(to: file, atomically: true, encoding: .utf8)
    let refused = try runSluice(["run", "--config", file.path])
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(
      refused.stderr.contains("\(file.path):3:16: api.listen: "), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("not a loopback address"), refused.stderr)
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: folder.appendingPathComponent("data").path),
      "nothing started")
  }

  // MARK: - Secrets

  func testSecretsNeverAppearInLogsOrAPIAnswers() throws {
    let secrets = [
      "api-tok-Zq81", "cdc-urlpw-Hx27", "cdc-pw-Lm55", "sink-urlpw-Ub40", "sink-pw-Qe19",
      "http-urlpw-Vb33", "http-query-Nc48", "http-bearer-Rt62", "http-header-Ks74",
      "mqtt-pw-Ya86", "env-secret-Gd12", "hook-tok-Pw97", "hook-basic-Jm13", "dlq-urlpw-Fe05",
      "dlq-query-Wq21",
    ]
    let closed = try WorkerProcess.freePort()
    let hookPort = try WorkerProcess.freePort()
    let worker = try WorkerProcess(api: "auth: { type: bearer, token: api-tok-Zq81 }")
    // Everything the worker can log, from its first line.
    setenv("SLUICE_LOG_LEVEL", "trace", 1)
    setenv("SLUICE_TEST_MQTT_SECRET", "env-secret-Gd12", 1)
    defer {
      unsetenv("SLUICE_LOG_LEVEL")
      unsetenv("SLUICE_TEST_MQTT_SECRET")
    }
    try worker.writeConnector(
      "cdc",
      """
      name: cdc
      source: postgres-cdc
      topic: "cdc.{schema}.{table}"
      config:
        url: postgresql://cdcuser:cdc-urlpw-Hx27@127.0.0.1:\(closed)/shop
        password: cdc-pw-Lm55
        tables: [public.orders]
      """)
    try worker.writeConnector(
      "pgsink",
      """
      name: pgsink
      sink: postgres
      topics: [to-pg]
      config:
        url: postgresql://loader:sink-urlpw-Ub40@127.0.0.1:\(closed)/warehouse
        password: sink-pw-Qe19
        table: events
      """)
    try worker.writeConnector(
      "httpsink",
      """
      name: httpsink
      sink: http
      topics: [to-http]
      config:
        url: http://bob:http-urlpw-Vb33@127.0.0.1:\(closed)/in?api_key=http-query-Nc48
        auth: { type: bearer, token: http-bearer-Rt62 }
        headers: { X-Api-Key: http-header-Ks74 }
        retry: { max_attempts: 2, backoff_ms: 10, max_backoff_ms: 20 }
        timeout_ms: 1000
      """)
    // Dead-lettered: the DLQ's headers quote the URL.
    try worker.writeConnector(
      "httpdlq",
      """
      name: httpdlq
      sink: http
      topics: [to-http]
      errors: { tolerance: all, dlq_topic: http.dlq, retries: 0 }
      config:
        url: http://eve:dlq-urlpw-Fe05@127.0.0.1:\(closed)/in?token=dlq-query-Wq21
        retry: { max_attempts: 1, backoff_ms: 10, max_backoff_ms: 20 }
        timeout_ms: 1000
      """)
    try worker.writeConnector(
      "sensors",
      """
      name: sensors
      source: mqtt
      topic: sensors
      config:
        url: mqtt://127.0.0.1:\(closed)
        username: mqttuser
        password: "${env:SLUICE_TEST_MQTT_SECRET}"
        subscriptions: [{ filter: "a/#", qos: 1 }]
      """)
    try worker.writeConnector(
      "hook",
      """
      name: hook
      source: webhook
      topic: hooks
      config:
        listen: 127.0.0.1:\(hookPort)
        path: /in
        signature: { type: bearer, token: hook-tok-Pw97 }
      """)
    try worker.writeConnector(
      "hook2",
      """
      name: hook2
      source: webhook
      topic: hooks2
      config:
        listen: 127.0.0.1:\(hookPort)
        path: /in2
        signature: { type: basic, username: hooker, password: hook-basic-Jm13 }
      """)
    try worker.start()
    unsetenv("SLUICE_LOG_LEVEL")
    unsetenv("SLUICE_TEST_MQTT_SECRET")
    let auth = ["Authorization": "Bearer api-tok-Zq81"]
    let base = worker.apiURL

    // Records for the sinks to fail on, and a webhook caller with a wrong token.
    for topic in ["to-pg", "to-http"] {
      let produced = httpRequest(
        "POST", base + "/topics/\(topic)/records",
        headers: auth.merging(["Content-Type": "application/json"]) { a, _ in a },
        body: Data(#"{"records":[{"key":"k","value":{"n":1}}]}"#.utf8))
      XCTAssertEqual(produced.status, 200, String(decoding: produced.body, as: UTF8.self))
    }
    _ = httpRequest(
      "POST", "http://127.0.0.1:\(hookPort)/in", headers: ["Authorization": "Bearer hook-tok-Pw9"],
      body: Data("{}".utf8))

    // Wait until the failures have been seen: the HTTP sink fails its task, the databases and
    // the broker refuse connections.
    let deadline = Date().addingTimeInterval(20)
    var failed = false
    while Date() < deadline && !failed {
      let status = httpRequest("GET", base + "/connectors/httpsink/status", headers: auth)
      failed = String(decoding: status.body, as: UTF8.self).contains("FAILED")
      if !failed { Thread.sleep(forTimeInterval: 0.2) }
    }
    XCTAssertTrue(failed, "the HTTP sink should have failed:\n\(worker.log())")
    var deadLettered = false
    while Date() < deadline && !deadLettered {
      let topics = httpRequest("GET", base + "/topics", headers: auth)
      deadLettered = String(decoding: topics.body, as: UTF8.self).contains("http.dlq")
      if !deadLettered { Thread.sleep(forTimeInterval: 0.2) }
    }
    XCTAssertTrue(deadLettered, "the record should have been dead-lettered:\n\(worker.log())")
    Thread.sleep(forTimeInterval: 2)

    var answers: [String: String] = [:]
    var paths = [
      "/", "/health", "/connectors", "/connectors?expand=status", "/connectors?expand=info",
      "/connectors?expand=status&expand=info", "/topics", "/admin/loggers", "/metrics",
      "/connector-plugins",
    ]
    for name in ["cdc", "pgsink", "httpsink", "httpdlq", "sensors", "hook", "hook2"] {
      paths += [
        "/connectors/\(name)", "/connectors/\(name)/status", "/connectors/\(name)/config",
        "/connectors/\(name)/tasks", "/connectors/\(name)/tasks/0/status",
        "/connectors/\(name)/offsets", "/connectors/\(name)/topics",
      ]
    }
    for path in paths {
      let answer = httpRequest("GET", base + path, headers: auth)
      answers["GET \(path) → \(answer.status)"] = String(decoding: answer.body, as: UTF8.self)
    }
    // The sinks' input topics and the dead-letter topic, whose headers quote the URL.
    for topic in ["to-pg", "to-http", "http.dlq"] {
      let answer = httpRequest(
        "GET", base + "/topics/\(topic)/records?partition=0&offset=0", headers: auth)
      answers["GET records of \(topic)"] = String(decoding: answer.body, as: UTF8.self)
    }
    let workerFile = worker.directory.appendingPathComponent("worker.yaml").path
    let cli = try runSluice(["status", "--config", workerFile])
    answers["sluice status"] = cli.stdout + cli.stderr
    let cliJSON = try runSluice(["status", "--json", "--config", workerFile])
    answers["sluice status --json"] = cliJSON.stdout + cliJSON.stderr

    // The test saw failures, not a quiet worker.
    let dlq = answers["GET records of http.dlq"] ?? ""
    XCTAssertTrue(dlq.contains("sluice.http.url"), dlq)
    XCTAssertTrue(dlq.contains("eve:***@") && dlq.contains("token=***"), dlq)
    let status = answers["GET /connectors?expand=status → 200"] ?? ""
    XCTAssertTrue(status.contains("httpsink"), status)
    let log = worker.log()
    XCTAssertTrue(log.contains("trace") || log.contains("debug"), "logged at trace level")
    XCTAssertTrue(log.contains("cdc") && log.contains("sensors"), log)

    for secret in secrets {
      for line in log.split(separator: "\n") where line.contains(secret) {
        XCTFail("secret \(secret) in a log line: \(line)")
      }
      for (request, body) in answers where body.contains(secret) {
        XCTFail("secret \(secret) in the answer to \(request): \(body)")
      }
    }
    _ = worker.terminate()
    for secret in secrets where worker.log().contains(secret) {
      XCTFail("secret \(secret) logged during shutdown")
    }
  }
}

// MARK: - Helpers

/// A self-signed certificate for 127.0.0.1 and localhost, `api.pem` and `api.key` in `folder`.
private func makeAPICertificate(in folder: URL) throws {
  let result = try runProgram(
    "/usr/bin/openssl",
    [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout", folder.appendingPathComponent("api.key").path,
      "-out", folder.appendingPathComponent("api.pem").path,
    ])
  guard result.status == 0 else { throw WorkerError("openssl failed: \(result.output)") }
}

/// curl with `arguments`: the status (0 when the request failed), the response headers (lower
/// case) and the body.
private func curlRequest(_ arguments: [String]) throws -> (
  status: Int, headers: String, body: String
) {
  let headerFile = FileManager.default.temporaryDirectory.appendingPathComponent(
    "curl-headers-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: headerFile) }
  let result = try runProgram(
    "/usr/bin/curl",
    ["-s", "--max-time", "10", "-D", headerFile.path, "-w", "\n%{http_code}"] + arguments)
  var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
  let code = Int(lines.popLast() ?? "") ?? 0
  let headers = ((try? String(contentsOf: headerFile, encoding: .utf8)) ?? "").lowercased()
    .replacingOccurrences(of: "\r", with: "")
  return (code, headers, lines.joined(separator: "\n"))
}
