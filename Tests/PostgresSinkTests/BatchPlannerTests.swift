import SluiceCore
import XCTest

@testable import PostgresSinkConnector

/// The PostgreSQL sink's batch planning without a database: which statements a batch becomes
/// in each mode, in which order, and what folding changes to one key leaves.
final class BatchPlannerTests: XCTestCase {
  private let orders = TableName(schema: "public", name: "orders")
  private let items = TableName(schema: "public", name: "items")

  func testInsertModeCopiesEachRunOfTheSameColumnsOnce() {
    let planner = BatchPlanner(mode: .insert, tables: [:])
    let steps = planner.plan(
      [
        write(orders, ["id": "1", "total": "10"], index: 0),
        write(orders, ["id": "2", "total": "20"], index: 1),
        write(orders, ["id": "3"], index: 2),  // other columns: a new COPY
        write(items, ["id": "1", "total": "5"], index: 3),  // other table: a new COPY
      ], fold: true)
    XCTAssertEqual(steps.map(\.kind), [.write, .write, .write])
    XCTAssertEqual(steps.map(\.table), [orders, orders, items])
    XCTAssertEqual(steps.map(\.columns), [["id", "total"], ["id"], ["id", "total"]])
    XCTAssertEqual(copyRows(steps[0]), ["1\t10", "2\t20"])
    XCTAssertEqual(copyRows(steps[1]), ["3"])
  }

  func testInsertModeNeverFoldsRepeatedKeys() {
    // Insert mode appends every record: two writes of one key are two rows.
    let steps = BatchPlanner(mode: .insert, tables: [:]).plan(
      [write(orders, ["id": "1", "total": "10"], index: 0),
       write(orders, ["id": "1", "total": "11"], index: 1)], fold: true)
    XCTAssertEqual(steps.count, 1)
    XCTAssertEqual(copyRows(steps[0]), ["1\t10", "1\t11"])
  }

  func testATruncateCutsTheBatchAndKeepsItsPlace() {
    let steps = BatchPlanner(mode: .upsert, tables: [:]).plan(
      [
        write(orders, ["id": "1", "total": "10"], index: 0),
        RowChange(kind: .truncate, table: orders, key: [], fields: [], recordIndex: 1),
        write(orders, ["id": "1", "total": "12"], index: 2),
      ], fold: true)
    XCTAssertEqual(steps.map(\.kind), [.write, .truncate, .write])
    XCTAssertEqual(copyRows(steps[0]), ["1\t10"])
    XCTAssertEqual(copyRows(steps[2]), ["1\t12"], "the write after the truncate is not folded away")
  }

  func testFoldingMergesWritesToOneKeyLaterFieldsWinning() {
    let steps = BatchPlanner(mode: .upsert, tables: [:]).plan(
      [
        write(orders, ["id": "1", "total": "10", "note": "\"a\""], index: 0),
        write(orders, ["id": "2", "total": "20", "note": "\"b\""], index: 1),
        write(orders, ["id": "1", "total": "11", "note": "\"c\""], index: 2),
      ], fold: true)
    XCTAssertEqual(steps.count, 1, "one merge touches each row once")
    XCTAssertEqual(steps[0].keyColumns, ["id"])
    XCTAssertEqual(Set(copyRows(steps[0])), ["1\t11\tc", "2\t20\tb"])
  }

  func testFoldingADeleteAfterAWriteLeavesOnlyTheDelete() {
    let steps = BatchPlanner(mode: .upsert, tables: [:]).plan(
      [write(orders, ["id": "1", "total": "10"], index: 0), delete(orders, id: "1", index: 1)],
      fold: true)
    XCTAssertEqual(steps.map(\.kind), [.delete])
    XCTAssertEqual(steps[0].columns, ["id"])
    XCTAssertEqual(copyRows(steps[0]), ["1"])
  }

  func testFoldingAWriteAfterADeleteDeletesThenWrites() {
    let steps = BatchPlanner(mode: .upsert, tables: [:]).plan(
      [
        delete(orders, id: "1", index: 0),
        write(orders, ["id": "1", "total": "30"], index: 1),
        write(orders, ["id": "2", "total": "40"], index: 2),
      ], fold: true)
    XCTAssertEqual(steps.map(\.kind), [.delete, .write])
    XCTAssertEqual(copyRows(steps[0]), ["1"])
    XCTAssertEqual(Set(copyRows(steps[1])), ["1\t30", "2\t40"])
  }

  func testWithoutFoldingChangesApplyInBatchOrder() {
    let steps = BatchPlanner(mode: .upsert, tables: [:]).plan(
      [
        write(orders, ["id": "1", "total": "10"], index: 0),
        delete(orders, id: "1", index: 1),
        write(orders, ["id": "1", "total": "12"], index: 2),
      ], fold: false)
    XCTAssertEqual(steps.map(\.kind), [.write, .delete, .write])
    XCTAssertEqual(steps.map { copyRows($0) }, [["1\t10"], ["1"], ["1\t12"]])
  }

  func testValuesAreEncodedForTheTableColumnsType() {
    let schema = TableSchema(
      table: orders,
      columns: [
        "id": TableColumn(name: "id", type: "bigint", encoding: .text),
        "doc": TableColumn(name: "doc", type: "jsonb", encoding: .json),
      ], staging: nil)
    let steps = BatchPlanner(mode: .insert, tables: [orders: schema]).plan(
      [write(orders, ["id": "1", "doc": #"{"a":"x\ty"}"#, "gone": "null"], index: 0)], fold: false)
    // JSON keeps its text with its backslash doubled (COPY would read `\t` as a tab), a
    // null is COPY's \N, columns are tab-separated.
    XCTAssertEqual(copyRows(steps[0]), [#"1\#t{"a":"x\\ty"}\#t\N"#])
  }

  // MARK: - Fixtures

  /// A write of `values` (column → JSON text, in the order given), keyed by `id`.
  private func write(_ table: TableName, _ values: KeyValuePairs<String, String>, index: Int)
    -> RowChange
  {
    let fields = values.map { field($0.key, $0.value) }
    return RowChange(
      kind: .write, table: table, key: fields.filter { $0.column == "id" }, fields: fields,
      recordIndex: index)
  }

  private func delete(_ table: TableName, id: String, index: Int) -> RowChange {
    RowChange(kind: .delete, table: table, key: [field("id", id)], fields: [], recordIndex: index)
  }

  private func field(_ column: String, _ json: String) -> FieldValue {
    let bytes = Array(json.utf8)
    let kind: JSONMember.Kind =
      switch bytes.first {
      case UInt8(ascii: "\""): .string
      case UInt8(ascii: "{"): .object
      case UInt8(ascii: "["): .array
      case UInt8(ascii: "n"): .null
      case UInt8(ascii: "t"), UInt8(ascii: "f"): .bool
      default: .number
      }
    return FieldValue(column: column, bytes: bytes, range: 0..<bytes.count, kind: kind)
  }

  private func copyRows(_ step: PlannedStep) -> [String] {
    String(decoding: step.rows, as: UTF8.self).split(separator: "\n").map(String.init)
  }
}
