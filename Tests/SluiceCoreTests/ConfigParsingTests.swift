import Foundation
import SluiceCore
import XCTest

/// Turning YAML and JSON into located nodes: positions, syntax errors, duplicates, key paths.
final class ConfigParsingTests: XCTestCase {
  private func parse(_ text: String, file: String = "f.yaml") throws -> ConfigNode {
    try ConfigNode.parse(text: text, file: file, environment: [:])
  }

  private func parseError(_ text: String) -> String { ConfigTestSupport.error { try parse(text) } }

  func testNodesCarryOneBasedLinesColumnsAndKeyPaths() throws {
    let root = try parse("# comment\nconfig:\n  url: x\n  tables:\n    - a\n    - b\n")
    let config = try root.mapping(allowedKeys: ["config"])
    XCTAssertEqual(config.entry("config")?.line, 2)
    XCTAssertEqual(config.entry("config")?.column, 1)
    let inner = try config.required("config").mapping(allowedKeys: ["url", "tables"])
    let url = try inner.required("url")
    XCTAssertEqual([url.path, "\(url.line):\(url.column)"], ["config.url", "3:8"])
    let tables = try inner.required("tables").list()
    XCTAssertEqual(tables.map(\.path), ["config.tables[0]", "config.tables[1]"])
    XCTAssertEqual(tables.map { "\($0.line):\($0.column)" }, ["5:7", "6:7"])
    XCTAssertEqual(try tables[1].string(), "b")
  }

  func testYAMLSyntaxErrorHasYamsPosition() {
    XCTAssertEqual(
      ConfigTestSupport.workerError("data_dir: data\napi: { listen: 127.0.0.1:8083\nlog: {}\n"),
      "worker.yaml:3:4: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping)"
    )
    XCTAssertEqual(
      parseError("a: 1\n b: 2\n"),
      "f.yaml:2:3: invalid YAML: mapping values are not allowed in this context")
    XCTAssertEqual(
      parseError("---\na: 1\n---\nb: 2\n"),
      "f.yaml:3:1: invalid YAML: but found another document (expected a single document in the stream)"
    )
  }

  func testEmptyFileIsAnError() {
    XCTAssertEqual(parseError(""), "f.yaml:1:1: file is empty")
    XCTAssertEqual(parseError("\n  \n"), "f.yaml:1:1: file is empty")
    XCTAssertEqual(parseError("# only a comment\n"), "f.yaml:1:1: file is empty")
  }

  func testDuplicateKeyIsAnErrorAtItsSecondOccurrence() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [t]\nname: y\n"),
      "c.yaml:4:1: name: duplicate key 'name' (first given at line 1, column 1)")
    XCTAssertEqual(
      parseError("log:\n  fsync: batch\n  partitions: 1\n  fsync: none\n  fsync: interval\n"),
      "f.yaml:4:3: log.fsync: duplicate key 'fsync' (first given at line 2, column 3)")
    XCTAssertEqual(
      parseError("x: {a: 1, b: 1, a: 2}\n"),
      "f.yaml:1:17: x.a: duplicate key 'a' (first given at line 1, column 5)")
    XCTAssertEqual(
      parseError("- {a: 1}\n- {b: 1, b: 2}\n"),
      "f.yaml:2:10: [1].b: duplicate key 'b' (first given at line 2, column 4)")
    // Yams tells `1` and `"1"` apart; as config keys they are the same name.
    XCTAssertEqual(
      parseError("1: a\n\"1\": b\n"),
      "f.yaml:2:1: 1: duplicate key '1' (first given at line 1, column 1)")
  }

  func testJSONIsAccepted() throws {
    let text = """
      {
        "name": "j",
        "sink": "file",
        "topics": ["a", "b"],
        "tasks": 2,
        "config": {"path": "/tmp/x", "flush": true, "empty": null}
      }
      """
    let definition = try ConnectorDefinition.parse(text: text, file: "j.json", environment: [:])
    XCTAssertEqual(definition.name, "j")
    XCTAssertEqual(definition.role, .sink("file"))
    XCTAssertEqual(definition.topics, ["a", "b"])
    XCTAssertEqual(definition.tasks, 2)
    let config = try definition.configMapping(allowedKeys: ["path", "flush", "empty"])
    XCTAssertEqual(try config.string("path"), "/tmp/x")
    XCTAssertEqual(try config.bool("flush", default: false), true)
    XCTAssertNil(config.node("empty"))
    XCTAssertEqual(try config.required("path").column, 22)
  }

  func testJSONErrorsArePositionedToo() {
    XCTAssertEqual(
      ConfigTestSupport.error { try parse(#"{"a": 1, "b": {"c": 1, "c": 2}}"#, file: "j.json") },
      "j.json:1:24: b.c: duplicate key 'c' (first given at line 1, column 16)")
    XCTAssertEqual(
      ConfigTestSupport.error { try parse("{\"a\": 1,\n \"b\" 2}", file: "j.json") },
      "j.json:2:6: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping)")
  }

  func testNullValuesAndQuotedNullStrings() throws {
    let m = try parse("a:\nb: ~\nc: null\nd: \"null\"\ne: ''\n").mapping(allowedKeys: [
      "a", "b", "c", "d", "e",
    ])
    XCTAssertNil(m.node("a"))
    XCTAssertNil(m.node("b"))
    XCTAssertNil(m.node("c"))
    XCTAssertEqual(try m.string("d"), "null")
    XCTAssertEqual(try m.string("e"), "")
    XCTAssertEqual(m.keys, ["a", "b", "c", "d", "e"])
  }

  func testKeysMustBeNames() {
    XCTAssertEqual(parseError("? [a, b]\n: 1\n"), "f.yaml:1:3: a key must be a name, not a list")
  }

  func testLoadReportsAnUnreadableFile() {
    XCTAssertEqual(
      ConfigTestSupport.error {
        try ConfigNode.load(path: "/no/such/dir/worker.yaml", environment: [:])
      },
      "/no/such/dir/worker.yaml:1:1: cannot read the file: No such file or directory")
  }

  func testErrorDescriptionLeavesOutAnEmptyKey() {
    XCTAssertEqual(
      ConfigError(file: "a.yaml", line: 2, column: 3, key: "log.fsync", message: "m").description,
      "a.yaml:2:3: log.fsync: m")
    XCTAssertEqual(
      ConfigError(file: "a.yaml", line: 1, column: 1, key: "", message: "m").description,
      "a.yaml:1:1: m")
  }
}
