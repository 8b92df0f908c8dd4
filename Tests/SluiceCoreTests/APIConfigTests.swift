import Foundation
import Logging
import XCTest

@testable import SluiceCore

/// `api:` in worker.yaml: auth, tls and allow_unauthenticated read with secrets interpolated
/// and never printed; a non-loopback `listen` without auth refused at its line; every bad key
/// or value an error at its line.
final class APIConfigTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-api-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for name in ["api.pem", "api.key"] {
      FileManager.default.createFile(
        atPath: folder.appendingPathComponent(name).path, contents: Data("pem".utf8))
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  private var file: String { folder.appendingPathComponent("worker.yaml").path }

  private func parse(_ text: String) throws(ConfigError) -> WorkerConfig {
    try WorkerConfig.parse(
      text: text, file: file, environment: ["API_TOKEN": "t0ken-from-env", "API_PASSWORD": "pw"])
  }

  private func error(_ text: String) -> String {
    do {
      _ = try parse(text)
      return "no error"
    } catch {
      return error.description
    }
  }

  func testDefaultIsOpenOnLoopback() throws {
    let config = try parse("data_dir: d\n")
    XCTAssertEqual(config.api.host, "127.0.0.1")
    XCTAssertEqual(config.api.port, 8083)
    XCTAssertNil(config.api.auth)
    XCTAssertNil(config.api.tls)
    XCTAssertEqual(config.api.scheme, "http")
  }

  func testBearerBasicAndTLSAreRead() throws {
    let bearer = try parse(
      """
      api:
        listen: 0.0.0.0:8083
        auth: { type: bearer, token: "${env:API_TOKEN}" }
        tls: { cert: api.pem, key: api.key }
      """)
    XCTAssertEqual(bearer.api.auth, .bearer(token: "t0ken-from-env"))
    XCTAssertEqual(bearer.api.tls?.certificateFile, folder.appendingPathComponent("api.pem").path)
    XCTAssertEqual(bearer.api.tls?.privateKeyFile, folder.appendingPathComponent("api.key").path)
    XCTAssertEqual(bearer.api.scheme, "https")
    // Printing the config never shows the token.
    XCTAssertFalse("\(bearer.api)".contains("t0ken-from-env"), "\(bearer.api)")

    let basic = try parse(
      """
      api:
        listen: 10.1.2.3:8083
        auth: { type: basic, username: admin, password: "${env:API_PASSWORD}" }
      """)
    XCTAssertEqual(basic.api.auth, .basic(username: "admin", password: "pw"))
    XCTAssertEqual("\(basic.api.auth!)", "basic admin:[hidden]")
  }

  func testNonLoopbackListenWithoutAuthIsRefusedAtTheListenLine() {
    XCTAssertEqual(
      error("data_dir: d\napi:\n  listen: 0.0.0.0:8083\n").prefix(
        "\(file):3:11: api.listen:".count),
      "\(file):3:11: api.listen:")
    let message = error("api: { listen: 0.0.0.0:8083 }\n")
    XCTAssertTrue(message.hasPrefix("\(file):1:16: api.listen: "), message)
    XCTAssertTrue(message.contains("not a loopback address"), message)
    XCTAssertTrue(message.contains("allow_unauthenticated"), message)
    XCTAssertTrue(error("api: { listen: \"[::]:8083\" }\n").contains("not a loopback"))
    XCTAssertTrue(error("api: { listen: 192.168.1.5:8083 }\n").contains("not a loopback"))
    XCTAssertTrue(error("api: { listen: \":8083\" }\n").contains("not a loopback"))
    // Told so, or on loopback, it starts.
    XCTAssertEqual(
      error("api: { listen: 0.0.0.0:8083, allow_unauthenticated: true }\n"), "no error")
    for loopback in ["127.0.0.1:8083", "127.8.9.10:8083", "localhost:8083", "\"[::1]:8083\""] {
      XCTAssertEqual(error("api: { listen: \(loopback) }\n"), "no error", loopback)
    }
  }

  func testLoopbackAddresses() {
    for host in [
      "127.0.0.1", "127.255.0.3", "localhost", "LOCALHOST", "::1", "[::1]",
      "::ffff:127.0.0.1",
    ] {
      XCTAssertTrue(APIConfig.isLoopback(host), host)
    }
    for host in [
      "0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.0.0", "example.com", "127.0.0.1.nip.io",
    ] {
      XCTAssertFalse(APIConfig.isLoopback(host), host)
    }
  }

  func testBadAuthIsAnErrorAtItsLine() {
    XCTAssertEqual(
      error("api:\n  auth: { type: bearer }\n"),
      "\(file):2:9: api.auth: type bearer needs token (write it as ${env:NAME} or ${file:path})")
    let unknown = error("api:\n  auth: { type: bearrer, token: x }\n")
    XCTAssertTrue(
      unknown.hasPrefix("\(file):2:17: api.auth.type: expected one of bearer, basic"), unknown)
    XCTAssertTrue(unknown.contains("did you mean 'bearer'"), unknown)
    XCTAssertTrue(
      error("api:\n  auth: { token: x }\n").hasPrefix("\(file):2:9: api.auth: auth needs type"))
    XCTAssertEqual(
      error("api:\n  auth: { type: basic, username: admin }\n"),
      "\(file):2:9: api.auth: type basic needs password (write it as ${env:NAME} or ${file:path})")
    XCTAssertTrue(
      error("api:\n  auth: { type: bearer, token: x, password: y }\n").contains("api.auth.password")
    )
    let empty = error("api:\n  auth: { type: bearer, token: \"\" }\n")
    XCTAssertTrue(empty.hasPrefix("\(file):2:32: api.auth.token: token is empty"), empty)
    let missingEnv = error("api:\n  auth: { type: bearer, token: \"${env:NOT_SET_ANYWHERE}\" }\n")
    XCTAssertTrue(missingEnv.hasPrefix("\(file):2:"), missingEnv)
    XCTAssertTrue(missingEnv.contains("NOT_SET_ANYWHERE"), missingEnv)
  }

  func testBadTLSIsAnErrorAtItsLine() {
    XCTAssertEqual(
      error("api:\n  tls: { cert: api.pem }\n"),
      "\(file):2:16: api.tls.cert: cert without key: tls needs both cert and key")
    XCTAssertEqual(
      error("api:\n  tls: { key: api.key }\n"),
      "\(file):2:8: api.tls: a key without cert: tls needs both cert and key")
    let missing = error("api:\n  tls: { cert: nowhere.pem, key: api.key }\n")
    XCTAssertEqual(
      missing,
      "\(file):2:16: api.tls.cert: cert: cannot read the PEM file \(folder.appendingPathComponent("nowhere.pem").path)"
    )
    XCTAssertTrue(
      error("api:\n  tls: { cert: api.pem, key: api.key, ca: x }\n").contains("api.tls.ca"))
    XCTAssertTrue(error("api:\n  allow_unauthenticated: maybe\n").hasPrefix("\(file):2:26:"))
    XCTAssertTrue(
      error("api:\n  listen: 127.0.0.1:8083\n  auht: {}\n").contains("did you mean 'auth'"))
  }
}

/// ``LogLevels``: log4j's hierarchy by dotted name, Kafka's level names, and the handler that
/// consults the registry for every event.
final class LogLevelsTests: XCTestCase {
  func testLevelsAreInheritedByDottedPrefix() {
    let levels = LogLevels(root: .info)
    levels.register("sluice.connector.orders")
    XCTAssertEqual(levels.level(for: "sluice.connector.orders"), .info)
    XCTAssertEqual(
      levels.set("sluice.connector", to: .debug, at: Date(timeIntervalSince1970: 5)),
      ["sluice.connector", "sluice.connector.orders"])
    XCTAssertEqual(levels.level(for: "sluice.connector.orders"), .debug)
    XCTAssertEqual(levels.level(for: "sluice.connector.other"), .debug)
    XCTAssertEqual(levels.level(for: "sluice.connectors"), .info, "a prefix is a whole name")
    XCTAssertEqual(levels.level(for: "sluice"), .info)
    XCTAssertEqual(levels.entry(for: "sluice.connector.orders")?.lastModified, 5000)
    XCTAssertNil(levels.entry(for: "sluice.connector.other"), "never seen")
    XCTAssertEqual(levels.entry(for: "sluice")?.lastModified, nil)
    XCTAssertEqual(levels.entry(for: "root"), LogLevels.Entry(level: .info, lastModified: nil))

    // A child set on its own keeps its level until an ancestor is set again.
    levels.set("sluice.connector.orders", to: .trace)
    XCTAssertEqual(levels.level(for: "sluice.connector.orders"), .trace)
    XCTAssertEqual(
      levels.set("root", to: .warn),
      ["root", "sluice", "sluice.connector", "sluice.connector.orders"])
    XCTAssertEqual(levels.level(for: "sluice.connector.orders"), .warn)
    XCTAssertEqual(
      Set(levels.all().keys), ["root", "sluice", "sluice.connector", "sluice.connector.orders"])
  }

  func testGateIsTheLowestThresholdAtOrBelowAName() {
    let levels = LogLevels(root: .info)
    XCTAssertEqual(levels.gate(for: "sluice"), .info)
    levels.set("sluice.connector.orders", to: .debug)
    XCTAssertEqual(levels.gate(for: "sluice"), .debug)
    XCTAssertEqual(levels.gate(for: "sluice.kafka"), .info)
    levels.set("sluice", to: .off)
    XCTAssertEqual(levels.gate(for: "sluice"), .off)
  }

  func testKafkaAndSwiftLogLevelNames() {
    XCTAssertEqual(LogLevel(name: "debug"), .debug)
    XCTAssertEqual(LogLevel(name: "WARN"), .warn)
    XCTAssertEqual(LogLevel(name: "warning"), .warn)
    XCTAssertEqual(LogLevel(name: "critical"), .fatal)
    XCTAssertEqual(LogLevel(name: "notice"), .info)
    XCTAssertNil(LogLevel(name: "loud"))
    XCTAssertTrue(LogLevel.info.allows(.notice))
    XCTAssertFalse(LogLevel.warn.allows(.notice))
    XCTAssertTrue(LogLevel.fatal.allows(.critical))
    XCTAssertFalse(LogLevel.off.allows(.critical))
  }

  func testHandlerWritesWhatTheRegistryLetsThroughAndNamesConnectors() {
    let levels = LogLevels(root: .info)
    let lines = LevelTestLines()
    var logger = Logger(label: "sluice") {
      LeveledLogHandler(label: $0, levels: levels, wrapping: LevelTestHandler(lines: lines))
    }
    logger.debug("hidden")
    logger.info("shown")
    var orders = logger
    orders[metadataKey: "connector"] = "orders"
    XCTAssertNotNil(levels.entry(for: "sluice.connector.orders"), "registered by the metadata")
    levels.set("sluice.connector.orders", to: .debug)
    orders.debug("orders debug")
    logger.debug("still hidden")
    // Metadata on the event names the connector too.
    logger.debug("event names orders", metadata: ["connector": "orders"])
    levels.set("sluice", to: .error)
    logger.warning("warning hidden")
    orders.warning("orders warning hidden too")
    levels.set("sluice", to: .off)
    logger.critical("off means off")
    XCTAssertEqual(lines.all, ["shown", "orders debug", "event names orders"])
  }
}

private final class LevelTestLines: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []
  func append(_ line: String) { lock.withLock { lines.append(line) } }
  var all: [String] { lock.withLock { lines } }
}

private struct LevelTestHandler: LogHandler {
  let lines: LevelTestLines
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) { lines.append("\(event.message)") }
}
