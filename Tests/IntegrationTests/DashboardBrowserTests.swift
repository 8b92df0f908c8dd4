import Foundation
import SluiceTestBrokers
import XCTest

/// The dashboard on a real worker running the file pipeline (`lines-in` → topic `lines` →
/// `lines-out`) with a 1 s sample interval: read with `curl`, as a page without JavaScript, and
/// in headless Chromium through Tests/Dashboard/dashboard_check.py (selenium from the
/// virtualenv `make rest-tools` makes; Debian's chromium and chromium-driver from `make deps`).
/// The browser run leaves its screenshot at `.build/dashboard.png`.
final class DashboardBrowserTests: XCTestCase {
  static let repository = TestServers.repository
  static let python = repository.appendingPathComponent(".build/rest-venv/bin/python")
  static let script = repository.appendingPathComponent("Tests/Dashboard/dashboard_check.py")
  static let screenshot = repository.appendingPathComponent(".build/dashboard.png")

  private var pipeline: FileLinesPipeline!

  override func tearDown() {
    if let pipeline {
      _ = pipeline.worker.terminate()
      if let run = testRun, run.failureCount > 0 { print(pipeline.worker.log()) }
    }
  }

  private func startPipeline(api: String = "") throws {
    pipeline = try FileLinesPipeline(
      workerYAMLExtra: "dashboard: { sample_interval_ms: 1s }", api: api)
    // Ready when /health answers (open whatever the auth): URLSession on Linux can hang on a
    // 401 with a Basic challenge, so nothing here asks a route that needs credentials with it.
    let health = pipeline.worker.apiURL + "/health"
    try pipeline.worker.start(ready: {
      (try? self.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", health], mayFail: true))
        == "200"
    })
  }

  /// `curl` the way a person or a script would: the static parts are in the HTML itself.
  func testCurlSeesConnectorsStatesAndTopicsWithoutJavaScript() throws {
    try startPipeline()
    try pipeline.append(1...3)
    try waitUntil("the sink wrote the lines") { pipeline.outputLines().count == 3 }
    let url = pipeline.worker.apiURL

    let page = try curl(["-sS", "-D", "-", url + "/ui"])
    XCTAssertTrue(page.lowercased().contains("content-type: text/html; charset=utf-8"), page)
    for fragment in [
      #"<div class="name">lines-in</div>"#, #"<div class="name">lines-out</div>"#,
      #"data-role="state">RUNNING</span>"#, "0: RUNNING", #"<tr data-topic="lines">"#,
      "p0 <b>0</b>→<b>3</b>", "source · file", "sink · file",
    ] {
      XCTAssertTrue(page.contains(fragment), "\(fragment) not in:\n\(page)")
    }

    // `GET /`: a browser's Accept gets the same page, curl's `*/*` the worker JSON.
    let negotiated = try curl([
      "-sS", "-H", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      url + "/",
    ])
    XCTAssertTrue(negotiated.contains(#"<div class="name">lines-in</div>"#), negotiated)
    let json = try curl(["-sS", url + "/"])
    let info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    XCTAssertEqual((info?["version"] as? String)?.hasPrefix("3.9.0-sluice-"), true, json)

    // The assets the page names are served.
    for asset in ["/ui/dashboard.js", "/ui/dashboard.css"] {
      XCTAssertEqual(
        try curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", url + asset]), "200")
    }
  }

  /// The page's state after records flowed: a rate above zero in the charts' series.
  func testStateChartsTheRecordsThatFlowed() throws {
    try startPipeline()
    /// Each connector's charted rates (records/s), by name.
    func charted() throws -> [String: [Double]] {
      let state = try pipeline.worker.getJSON("/ui/state") as? [String: Any]
      var rates: [String: [Double]] = [:]
      for connector in state?["connectors"] as? [[String: Any]] ?? [] {
        let points = (connector["throughput"] as? [String: Any])?["points"] as? [[Any]] ?? []
        rates[connector["name"] as? String ?? "?"] = points.compactMap {
          ($0.last as? NSNumber)?.doubleValue
        }
      }
      return rates
    }
    try waitUntil("both connectors charted, at rest", timeout: 10) {
      let rates = try charted()
      return rates.count == 2
        && rates.values.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 == 0 } }
    }
    try pipeline.append(1...200)
    try waitUntil("the sink wrote the lines") { pipeline.outputLines().count == 200 }
    try waitUntil("a non-zero rate charted for both connectors", timeout: 10) {
      let rates = try charted()
      return rates.count == 2 && rates.values.allSatisfy { ($0.max() ?? 0) > 0 }
    }
  }

  func testDashboardInHeadlessChromium() throws {
    try startPipeline()
    try runBrowserCheck(["--screenshot", Self.screenshot.path])
    XCTAssertTrue(FileManager.default.fileExists(atPath: Self.screenshot.path))
  }

  /// With basic auth the page and every request its script makes carry the credentials (here
  /// sent as the browser's prompt would); without them the page is refused.
  func testDashboardBehindBasicAuth() throws {
    try startPipeline(api: "auth: { type: basic, username: admin, password: s3cret }")
    let refused = try curl(["-s", "-o", "/dev/null", "-D", "-", pipeline.worker.apiURL + "/ui"])
      .lowercased()
    XCTAssertTrue(refused.hasPrefix("http/1.1 401"), refused)
    XCTAssertTrue(refused.contains(#"www-authenticate: basic realm="sluice""#), refused)
    let page = try curl(["-s", "-u", "admin:s3cret", pipeline.worker.apiURL + "/ui"])
    XCTAssertTrue(page.contains(#"<div class="name">lines-in</div>"#), page)
    try runBrowserCheck([
      "--basic", "admin:s3cret", "--path", "/",
      "--screenshot", pipeline.worker.directory.appendingPathComponent("auth.png").path,
    ])
  }

  // MARK: - Tools

  private func runBrowserCheck(_ arguments: [String]) throws {
    for tool in [Self.python.path, "/usr/bin/chromium", "/usr/bin/chromedriver"] {
      guard FileManager.default.isExecutableFile(atPath: tool) else {
        XCTFail("\(tool) is missing: run `make deps rest-tools` (or `make test`)")
        return
      }
    }
    let process = Process()
    process.executableURL = Self.python
    process.arguments =
      [
        Self.script.path, "--api", pipeline.worker.apiURL, "--source", pipeline.input.path,
      ] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // Read while it runs, so a chatty chromedriver cannot fill the pipe and stall it.
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    print(text)
    XCTAssertEqual(process.terminationStatus, 0, text)
    XCTAssertTrue(text.contains(" passed, 0 failed"), text)
  }

  /// What curl printed; a curl that failed fails the test unless `mayFail` (polling a worker
  /// that is still starting).
  private func curl(_ arguments: [String], mayFail: Bool = false) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["--max-time", "10"] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if !mayFail {
      XCTAssertEqual(process.terminationStatus, 0, "curl \(arguments.joined(separator: " "))")
    }
    return String(decoding: data, as: UTF8.self)
  }
}
