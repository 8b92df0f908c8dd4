import Foundation
import SluiceCore
import XCTest

/// The typed getters of ``ConfigMapping`` and ``ConfigNode``: values, defaults, and errors at the
/// exact value (or key, for unknown keys).
final class ConfigTypedAccessTests: XCTestCase {
  private func mapping(_ text: String, allowed: [String]) throws -> ConfigMapping {
    try ConfigNode.parse(text: text, file: "t.yaml", environment: [:]).mapping(allowedKeys: allowed)
  }

  /// The error of reading `v: <scalar>` with `read`.
  private func valueError(_ scalar: String, _ read: (ConfigMapping) throws -> Any) -> String {
    ConfigTestSupport.error { try read(try mapping("v: \(scalar)\n", allowed: ["v"])) }
  }

  func testUnknownKeyIsReportedAtTheKeyWithDidYouMean() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("data_dir: data\nlog:\n  partitons: 3\n"),
      "worker.yaml:3:3: log.partitons: unknown key 'partitons'; did you mean 'partitions'?")
    XCTAssertEqual(
      ConfigTestSupport.workerError("log: { fsync: none, segmnt-bytes: 1MiB }\n"),
      "worker.yaml:1:21: log.segmnt-bytes: unknown key 'segmnt-bytes'; did you mean 'segment_bytes'?"
    )
  }

  func testUnknownKeyWithoutACloseMatchListsTheAllowedKeys() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("api:\n  port: 1\n"),
      "worker.yaml:2:3: api.port: unknown key 'port'; expected one of: listen")
    XCTAssertEqual(
      ConfigTestSupport.error { try self.mapping("x: 1\n", allowed: ["a", "b", "c"]) },
      "t.yaml:1:1: x: unknown key 'x'; expected one of: a, b, c")
  }

  func testNotAMappingIsAnError() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log: [1, 2]\n"),
      "worker.yaml:1:6: log: expected a mapping (key: value), got a list")
    XCTAssertEqual(
      ConfigTestSupport.workerError("- a\n"),
      "worker.yaml:1:1: expected a mapping (key: value), got a list")
  }

  func testMissingRequiredKeyIsReportedAtTheMapping() throws {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("source: file\ntopic: t\n"),
      "c.yaml:1:1: missing required key 'name'")
    let m = try mapping("top: 1\nconfig:\n  mode: upsert\n", allowed: ["top", "config"])
    XCTAssertEqual(
      ConfigTestSupport.error {
        try m.mapping("config", allowedKeys: ["url", "mode"]).string("url")
      },
      "t.yaml:3:3: config: missing required key 'url'")
    XCTAssertEqual(
      ConfigTestSupport.error { try m.mapping("absent", allowedKeys: ["url"]).string("url") },
      "t.yaml:1:1: absent: missing required key 'url'")
    XCTAssertEqual(
      ConfigTestSupport.error { try self.mapping("url:\n", allowed: ["url"]).string("url") },
      "t.yaml:1:5: url: 'url' needs a value")
  }

  func testWrongTypes() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log: { partitions: many }\n"),
      "worker.yaml:1:20: log.partitions: expected an integer, got 'many'")
    XCTAssertEqual(
      valueError("abc", { try $0.int("v") }), "t.yaml:1:4: v: expected an integer, got 'abc'")
    XCTAssertEqual(
      valueError("1.5", { try $0.int("v") }), "t.yaml:1:4: v: expected an integer, got '1.5'")
    XCTAssertEqual(
      valueError("{a: 1}", { try $0.int("v") }), "t.yaml:1:4: v: expected an integer, got a mapping"
    )
    XCTAssertEqual(
      valueError("yes", { try $0.bool("v") }), "t.yaml:1:4: v: expected true or false, got 'yes'")
    XCTAssertEqual(
      valueError("[a]", { try $0.string("v") }), "t.yaml:1:4: v: expected a string, got a list")
    XCTAssertEqual(
      valueError("fast", { try $0.double("v") }), "t.yaml:1:4: v: expected a number, got 'fast'")
    XCTAssertEqual(
      valueError("{a: 1}", { try $0.stringList("v") }),
      "t.yaml:1:4: v: expected a list of strings, got a mapping")
  }

  func testScalarValues() throws {
    let m = try mapping(
      "i: -42\nbig: 1_000_000\nb: TRUE\nd: 0.25\ns: 8083\nlist: [a, b]\none: a\n",
      allowed: ["i", "big", "b", "d", "s", "list", "one", "absent"])
    XCTAssertEqual(try m.int("i"), -42)
    XCTAssertEqual(try m.int("big", default: 0), 1_000_000)
    XCTAssertEqual(try m.int("absent", default: 7), 7)
    XCTAssertEqual(try m.bool("b"), true)
    XCTAssertEqual(try m.bool("absent", default: false), false)
    XCTAssertEqual(try m.double("d"), 0.25)
    XCTAssertEqual(try m.double("absent", default: 1.5), 1.5)
    XCTAssertEqual(try m.string("s"), "8083", "numbers read as strings keep their text")
    XCTAssertEqual(try m.string("absent", default: "x"), "x")
    XCTAssertNil(try m.optionalString("absent"))
    XCTAssertEqual(try m.stringList("list"), ["a", "b"])
    XCTAssertEqual(try m.stringList("one"), ["a"], "a single string is a list of one")
    XCTAssertEqual(try m.stringList("absent", default: ["z"]), ["z"])
  }

  func testIntegerRange() {
    XCTAssertEqual(
      valueError("0", { try $0.int("v", range: 1...Int.max) }),
      "t.yaml:1:4: v: expected an integer of at least 1, got 0")
    XCTAssertEqual(
      valueError("70000", { try $0.int("v", default: 1, range: 1...65535) }),
      "t.yaml:1:4: v: expected an integer from 1 to 65535, got 70000")
  }

  func testSizes() throws {
    let m = try mapping(
      "a: 512\nb: 64KiB\nc: 1MiB\nd: 256MiB\ne: 1GiB\nf: 1KB\ng: 2MB\nh: 3GB\ni: 1.5GiB\nj: 10 MiB\n",
      allowed: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
    XCTAssertEqual(try m.bytes("a"), 512)
    XCTAssertEqual(try m.bytes("b"), 64 * 1024)
    XCTAssertEqual(try m.bytes("c"), 1 << 20)
    XCTAssertEqual(try m.bytes("d"), 256 << 20)
    XCTAssertEqual(try m.bytes("e"), 1 << 30)
    XCTAssertEqual(try m.bytes("f"), 1000)
    XCTAssertEqual(try m.bytes("g"), 2_000_000)
    XCTAssertEqual(try m.bytes("h"), 3_000_000_000)
    XCTAssertEqual(try m.bytes("i"), 3 << 29)
    XCTAssertEqual(try m.bytes("j"), 10 << 20)
    XCTAssertEqual(try m.bytes("absent", default: 9), 9)
    XCTAssertNil(try m.optionalBytes("absent"))
  }

  func testBadSizes() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  segment_bytes: 12 apples\n"),
      "worker.yaml:2:18: log.segment_bytes: expected a size like 256MiB, got '12 apples'")
    for bad in ["-1", "MiB", "1mib", "1.2.3MiB", "99999999999TiB"] {
      XCTAssertEqual(
        valueError(bad, { try $0.bytes("v") }),
        "t.yaml:1:4: v: expected a size like 256MiB, got '\(bad)'")
    }
  }

  func testDurations() throws {
    let m = try mapping(
      "a: 500ms\nb: 10s\nc: 5m\nd: 24h\ne: 7d\nf: 250\ng: 1.5s\n",
      allowed: ["a", "b", "c", "d", "e", "f", "g"])
    XCTAssertEqual(try m.durationMilliseconds("a"), 500)
    XCTAssertEqual(try m.durationMilliseconds("b"), 10_000)
    XCTAssertEqual(try m.durationMilliseconds("c"), 300_000)
    XCTAssertEqual(try m.durationMilliseconds("d"), 86_400_000)
    XCTAssertEqual(try m.durationMilliseconds("e"), 604_800_000)
    XCTAssertEqual(try m.durationMilliseconds("f"), 250, "a bare integer means milliseconds")
    XCTAssertEqual(try m.durationMilliseconds("g"), 1500)
    XCTAssertEqual(try m.durationMilliseconds("absent", default: 3), 3)
  }

  func testBadDurations() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  segment_ms: soon\n"),
      "worker.yaml:2:15: log.segment_ms: expected a duration like 500ms, 10s, 5m, 24h or 7d, got 'soon'"
    )
    XCTAssertEqual(
      valueError("10 minutes", { try $0.durationMilliseconds("v") }),
      "t.yaml:1:4: v: expected a duration like 500ms, 10s, 5m, 24h or 7d, got '10 minutes'")
  }

  func testOneOfWithDidYouMean() throws {
    XCTAssertEqual(
      ConfigTestSupport.workerError("log:\n  fsync: bach\n"),
      "worker.yaml:2:10: log.fsync: expected one of batch, interval, none, got 'bach'; did you mean 'batch'?"
    )
    XCTAssertEqual(
      valueError(
        "sometimes", { try $0.oneOf("v", allowed: ["always", "never"], default: "never") }),
      "t.yaml:1:4: v: expected one of always, never, got 'sometimes'")
    let m = try mapping("v: never\n", allowed: ["v", "w"])
    XCTAssertEqual(try m.oneOf("v", allowed: ["always", "never"]), "never")
    XCTAssertEqual(try m.oneOf("w", allowed: ["always", "never"], default: "always"), "always")
  }

  func testHostPort() throws {
    let m = try mapping(
      "a: 127.0.0.1:8083\nb: \"[::1]:9000\"\nc: \":80\"\n", allowed: ["a", "b", "c"])
    XCTAssertEqual(try m.hostPort("a").host, "127.0.0.1")
    XCTAssertEqual(try m.hostPort("a").port, 8083)
    XCTAssertEqual(try m.hostPort("b").host, "::1")
    XCTAssertEqual(try m.hostPort("c").host, "0.0.0.0")
    XCTAssertEqual(try m.hostPort("absent", default: ("localhost", 1)).port, 1)
    XCTAssertEqual(
      ConfigTestSupport.workerError("api: { listen: localhost }\n"),
      "worker.yaml:1:16: api.listen: expected host:port like 127.0.0.1:8083, got 'localhost'")
    XCTAssertEqual(
      ConfigTestSupport.workerError("api:\n  listen: 127.0.0.1:80830\n"),
      "worker.yaml:2:11: api.listen: expected a port from 1 to 65535, got 80830")
  }

  func testCallersCanRaiseTheirOwnErrorsAtANode() throws {
    let m = try mapping("mode: upsert\n", allowed: ["mode"])
    XCTAssertEqual(
      try m.required("mode").error("upsert needs primary_key").description,
      "t.yaml:1:7: mode: upsert needs primary_key")
    XCTAssertEqual(m.entry("mode")?.error("not here").description, "t.yaml:1:1: mode: not here")
  }

  func testDidYouMeanDistance() {
    XCTAssertEqual(DidYouMean.distance("partitons", "partitions"), 1)
    XCTAssertEqual(DidYouMean.distance("fsnyc", "fsync"), 1, "a swap of neighbours counts once")
    XCTAssertEqual(DidYouMean.distance("kitten", "sitting"), 3)
    XCTAssertEqual(
      DidYouMean.suggestion(for: "retention_hour", among: WorkerConfig.logKeys), "retention_hours")
    XCTAssertEqual(
      DidYouMean.suggestion(for: "Partitions", among: WorkerConfig.logKeys), "partitions")
    XCTAssertNil(DidYouMean.suggestion(for: "zzz", among: ["listen"]))
    XCTAssertNil(
      DidYouMean.suggestion(for: "x", among: ["y"]),
      "a one-letter word is not 'corrected' into another")
    XCTAssertNil(
      DidYouMean.suggestion(for: "some", among: ["none", "all"]), "half the letters differ")
    XCTAssertEqual(
      DidYouMean.suggestion(for: "poll", among: ["path", "batch_lines", "poll_ms"]), "poll_ms")
    XCTAssertEqual(
      DidYouMean.suggestion(for: "batch", among: ["path", "batch_lines", "poll_ms"]), "batch_lines")
    XCTAssertEqual(
      DidYouMean.suggestion(for: "listen_address", among: ["listen", "path"]), "listen")
    XCTAssertNil(
      DidYouMean.suggestion(for: "segment", among: WorkerConfig.logKeys),
      "segment_bytes or segment_ms")
  }
}
