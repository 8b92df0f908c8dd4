import Foundation
import XCTest

/// Sluice's change events against the real Debezium's (issue 16): Tests/Debezium/compare.py
/// (in the virtualenv `make debezium-tools` makes) runs the Debezium PostgreSQL connector,
/// embedded, and a Sluice worker on the same table and changes, for Debezium's default options,
/// for `decimal.handling.mode=string, time.precision.mode=isostring,
/// interval.handling.mode=string`, with `provide.transaction.metadata=true` (BEGIN/END records
/// of the transaction topic and the events' `transaction` blocks, ids, counts and commit times
/// included), with the JSON converter's schemas (Debezium's `schemas.enable=true`, Sluice's
/// `schemas: true`), and with ExtractNewRecordState (`unwrap`) in `rewrite` mode with added
/// fields, with and without schemas, and in `tombstone` mode with schemas, and compares their events field by field, the
/// schemas member by member.
/// The differences
/// must be exactly those listed in Tests/Debezium/known-differences.json: a new one fails, and
/// so does a listed one that no longer occurs (it was fixed: remove it from the list).
final class DebeziumParityTests: XCTestCase {
  static let repository = OpenAPIConformanceTests.repository
  static let python = repository.appendingPathComponent(".build/debezium-venv/bin/python")
  static let tool = repository.appendingPathComponent("Tests/Debezium/compare.py")
  static let known = repository.appendingPathComponent("Tests/Debezium/known-differences.json")

  func testEventsDifferFromDebeziumOnlyAsListed() throws {
    guard FileManager.default.isExecutableFile(atPath: Self.python.path) else {
      XCTFail("\(Self.python.path) is missing: run `make debezium-tools`")
      return
    }
    let environment = ProcessInfo.processInfo.environment
    let url =
      environment["SLUICE_TEST_PG_URL"] ?? "postgresql://sluice:sluice@127.0.0.1:5432/sluice_test"
    let stderr = FileManager.default.temporaryDirectory.appendingPathComponent(
      "dbz-parity-\(UUID().uuidString).log")
    FileManager.default.createFile(atPath: stderr.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: stderr) }

    let process = Process()
    process.executableURL = Self.python
    process.arguments = [
      Self.tool.path, "--pg-url", url, "--sluice-bin", WorkerProcess.binary,
      "--set", "default", "--set", "strings", "--set", "transactions", "--set", "schemas",
      "--set", "unwrap", "--set", "unwrap-json", "--set", "unwrap-tombstone",
      "--known", Self.known.path,
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = try FileHandle(forWritingTo: stderr)
    let started = Date()
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let seconds = Date().timeIntervalSince(started)
    let log = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""

    guard let report = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
      return XCTFail(
        "compare.py exited \(process.terminationStatus) without a report:\n"
          + String(decoding: output, as: UTF8.self) + "\n" + log)
    }
    let sets = report["option_sets"] as? [[String: Any]] ?? []
    for set in sets {
      print(
        "Debezium parity, \(set["name"] ?? "?"): \(set["fields_differing"] ?? "?") of "
          + "\(set["fields_compared"] ?? "?") fields differ; not accepted by Sluice: "
          + "\(set["not_accepted_by_sluice"] ?? [:])")
    }
    print(String(format: "Debezium parity: %.1f s", seconds))
    XCTAssertEqual(report["errors"] as? [String] ?? ["no errors field"], [], log)
    XCTAssertEqual(sets.count, 7)
    // The transaction metadata was compared, not missing on both sides: the events' blocks
    // and the BEGIN/END records' every field.
    let compared = Set(
      sets.first { $0["name"] as? String == "transactions" }?["fields"] as? [String] ?? [])
    for field in [
      "value.transaction.id", "value.transaction.total_order",
      "value.transaction.data_collection_order", "key.id", "value.status", "value.id",
      "value.event_count", "value.data_collections[0].data_collection",
      "value.data_collections[0].event_count",
    ] {
      XCTAssertTrue(compared.contains(field), "\(field) was not compared")
    }
    // The unwrapped rows were compared, schemas and added fields included: both sides ran
    // the transform, Sluice's accepted it (nothing left out).
    for (name, fields) in [
      (
        "unwrap",
        [
          "value.payload.__deleted", "value.payload.__snapshot", "value.schema.name",
          "value.schema.optional", "value.schema.fields[__lsn].type",
          "value.schema.fields[__snapshot].parameters.allowed",
        ]
      ),
      ("unwrap-json", ["value.__deleted", "value.__snapshot", "value.__lsn", "value.__db"]),
      ("unwrap-tombstone", ["value.payload.__op", "value.payload", "value.schema.optional"]),
    ] {
      let set = sets.first { $0["name"] as? String == name }
      let compared = Set(set?["fields"] as? [String] ?? [])
      for field in fields {
        XCTAssertTrue(compared.contains(field), "\(name): \(field) was not compared")
      }
      XCTAssertEqual(
        (set?["not_accepted_by_sluice"] as? [String: Any])?.count, 0, "\(name): \(set ?? [:])")
    }

    let known = report["known"] as? [String: Any] ?? [:]
    let unexpected = known["unexpected"] as? [[String: Any]] ?? []
    let gone = known["no_longer_occurring"] as? [[String: Any]] ?? []
    XCTAssertTrue(
      unexpected.isEmpty,
      "\(unexpected.count) difference(s) from Debezium not in Tests/Debezium/known-differences.json"
        + " (fix Sluice, or list them with a reason):\n" + Self.lines(unexpected))
    XCTAssertTrue(
      gone.isEmpty,
      "\(gone.count) difference(s) listed in Tests/Debezium/known-differences.json no longer occur"
        + " (fixed? remove them from the list; compare.py --write-known rewrites it):\n"
        + Self.lines(gone))
    if unexpected.isEmpty && gone.isEmpty {
      XCTAssertEqual(process.terminationStatus, 0, log)
    }
  }

  /// One line per difference: set, path, Debezium's value, Sluice's value.
  static func lines(_ differences: [[String: Any]]) -> String {
    differences.prefix(60).map { d in
      "  [\(d["set"] ?? "?")] \(d["path"] ?? "?"): debezium \(json(d["debezium"])), sluice \(json(d["sluice"]))"
    }.joined(separator: "\n")
      + (differences.count > 60 ? "\n  … \(differences.count - 60) more" : "")
  }

  static func json(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "null" }
    if let data = try? JSONSerialization.data(
      withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]),
      let text = String(data: data, encoding: .utf8)
    {
      return text
    }
    return "\(value)"
  }
}
