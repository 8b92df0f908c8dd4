import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// Incremental snapshots as values: the watermark window (DBLog), the state machine that
/// signals and watermarks drive, the watermark messages and the signals' checks.
final class IncrementalSnapshotTests: XCTestCase {
  typealias V = PgOutputMessage.TupleValue
  let orders = QualifiedName(schema: "public", table: "orders")

  func row(_ id: Int, _ name: String?) -> [V] {
    [.text(Array(String(id).utf8)), name.map { .text(Array($0.utf8)) } ?? .null]
  }

  func key(_ id: Int) -> IncrementalSnapshotWindow.Key { [Array(String(id).utf8)] }

  func header(
    _ kind: WatermarkMessage.Kind, chunk: UInt32 = 0, attempt: String = "a",
    snapshot: UInt64 = 100, last: [String]? = nil, done: Bool = false, maximum: [String]? = nil
  ) -> WatermarkMessage {
    var message = WatermarkMessage(
      kind: kind, snapshot: snapshot, table: orders, chunk: chunk, attempt: attempt,
      relation: 16384, key: ["id"])
    if kind == .close {
      message.columns = [
        .init(name: "id", type: 23, modifier: -1), .init(name: "name", type: 25, modifier: -1),
      ]
      message.identity = "d"
      message.last = last
      message.done = done
      message.maximum = maximum
    }
    return message
  }

  // MARK: - Window

  func testWindowDropsTheRowsWhoseKeysChangedBetweenTheWatermarks() {
    var window = IncrementalSnapshotWindow(
      snapshot: 1, table: orders, chunk: 0, attempt: "a", relation: 1, keyColumns: ["id"])
    window.changed(key(2))
    window.changed(key(9))
    let rows = [row(1, "a"), row(2, "b"), row(3, "c")]
    XCTAssertEqual(window.surviving(rows, keyIndexes: [0]), [row(1, "a"), row(3, "c")])
  }

  func testWindowAfterATruncateKeepsNoRowAndAnUnknownKeyMeansReadAgain() {
    var truncated = IncrementalSnapshotWindow(
      snapshot: 1, table: orders, chunk: 0, attempt: "a", relation: 1, keyColumns: ["id"])
    truncated.truncate()
    XCTAssertEqual(truncated.surviving([row(1, "a")], keyIndexes: [0]), [])
    var uncertain = truncated
    uncertain.changed(nil)
    XCTAssertNil(uncertain.surviving([row(1, "a")], keyIndexes: [0]))
  }

  // MARK: - State machine

  func start(_ machine: inout IncrementalSnapshot) -> [IncrementalSnapshot.Action] {
    machine.signal(
      .execute(.init(id: "s1", tables: [.init(name: orders, filter: "id > 0")])),
      commitLSN: LSN(100), at: LSN(100))
  }

  func testAnExecuteSignalAsksForTheFirstChunkWithTheFilter() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    let actions = start(&machine)
    XCTAssertTrue(
      actions.contains(
        .read(
          .init(
            snapshot: 100, table: orders, filter: "id > 0", chunk: 0, after: nil, maximum: nil,
            size: 2))))
    XCTAssertTrue(machine.unsaved)
    XCTAssertEqual(machine.state.running?.tables.map(\.name), [orders])
  }

  func testChangesInsideTheWindowRemoveTheirRowsAndTheNextChunkFollows() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    machine.lowWatermark(header(.open), confirmable: LSN(150))
    XCTAssertEqual(machine.hold, LSN(150), "the slot is not confirmed past the open window")
    machine.changed(relation: 16384, keys: [key(2)])
    machine.changed(relation: 999, keys: [key(1)])  // another table: no effect
    let actions = machine.highWatermark(
      header(.close, last: ["2"], maximum: ["5"]), rows: [row(1, "a"), row(2, "b")],
      commitLSN: LSN(200), at: LSN(190))
    XCTAssertEqual(
      actions.first, .emit(rows: [row(1, "a")], header: header(.close, last: ["2"], maximum: ["5"]))
    )
    XCTAssertTrue(
      actions.contains(
        .read(
          .init(
            snapshot: 100, table: orders, filter: "id > 0", chunk: 1, after: ["2"], maximum: ["5"],
            size: 2))))
    XCTAssertNil(machine.hold)
    XCTAssertEqual(machine.state.running?.rows, 1)
  }

  func testAHighWatermarkWithoutItsLowOneOrOfAnotherAttemptIsIgnored() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    XCTAssertEqual(
      machine.highWatermark(
        header(.close, last: ["2"]), rows: [row(1, "a")], commitLSN: LSN(200), at: LSN(190)), [])
    machine.lowWatermark(header(.open, attempt: "b"), confirmable: LSN(150))
    XCTAssertEqual(
      machine.highWatermark(
        header(.close, attempt: "a", last: ["2"]), rows: [row(1, "a")], commitLSN: LSN(200),
        at: LSN(190)), [])
    XCTAssertEqual(machine.state.running?.chunk, 0)
  }

  func testReplayedMessagesAreNotAppliedTwice() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    machine.lowWatermark(header(.open), confirmable: LSN(150))
    _ = machine.highWatermark(
      header(.close, last: ["2"], maximum: ["5"]), rows: [row(1, "a"), row(2, "b")],
      commitLSN: LSN(200), at: LSN(190))
    let durable = machine.state
    // After a restart the slot streams the signal and the chunk again.
    var restarted = IncrementalSnapshot(state: durable, chunkSize: 2)
    _ = restarted.start()
    XCTAssertEqual(
      restarted.signal(
        .execute(.init(id: "s1", tables: [.init(name: orders)])), commitLSN: LSN(100), at: LSN(100)),
      [])
    restarted.lowWatermark(header(.open), confirmable: LSN(150))
    XCTAssertEqual(
      restarted.highWatermark(
        header(.close, last: ["2"]), rows: [row(1, "a")], commitLSN: LSN(200), at: LSN(190)), [])
    XCTAssertEqual(restarted.state, durable)
  }

  func testAReplayBeforeTheStateWasDurableEmitsTheSameRowsAgain() {
    var first = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&first)
    let before = first.state
    first.lowWatermark(header(.open), confirmable: LSN(150))
    first.changed(relation: 16384, keys: [key(1)])
    let emitted = first.highWatermark(
      header(.close, last: ["2"]), rows: [row(1, "a"), row(2, "b")], commitLSN: LSN(200),
      at: LSN(190))
    var again = IncrementalSnapshot(state: before, chunkSize: 2)
    _ = again.start()
    again.lowWatermark(header(.open), confirmable: LSN(150))
    again.changed(relation: 16384, keys: [key(1)])
    let replayed = again.highWatermark(
      header(.close, last: ["2"]), rows: [row(1, "a"), row(2, "b")], commitLSN: LSN(200),
      at: LSN(190))
    XCTAssertEqual(emitted.first, replayed.first)
    XCTAssertEqual(emitted.first, .emit(rows: [row(2, "b")], header: header(.close, last: ["2"])))
  }

  func testTheLastChunkEndsTheTableAndTheSnapshot() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    machine.lowWatermark(header(.open), confirmable: LSN(150))
    let actions = machine.highWatermark(
      header(.close, last: ["1"], done: true), rows: [row(1, "a")], commitLSN: LSN(200),
      at: LSN(190))
    XCTAssertNil(machine.state.running)
    XCTAssertFalse(actions.contains { if case .read = $0 { true } else { false } })
    XCTAssertEqual(machine.state.through, 200, "the finished state still says what was applied")
  }

  func testPauseHoldsTheNextChunkResumeAsksForItStopEndsTheSnapshot() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    _ = machine.signal(.pause(id: "p"), commitLSN: LSN(120), at: LSN(120))
    machine.lowWatermark(header(.open), confirmable: LSN(150))
    let closed = machine.highWatermark(
      header(.close, last: ["2"]), rows: [row(1, "a")], commitLSN: LSN(200), at: LSN(190))
    XCTAssertFalse(closed.contains { if case .read = $0 { true } else { false } }, "paused")
    let resumed = machine.signal(.resume(id: "r"), commitLSN: LSN(300), at: LSN(300))
    XCTAssertTrue(resumed.contains { if case .read(let r) = $0 { r.chunk == 1 } else { false } })
    _ = machine.signal(.stop(id: "x", tables: nil), commitLSN: LSN(400), at: LSN(400))
    XCTAssertNil(machine.state.running)
    machine.lowWatermark(header(.open, chunk: 1), confirmable: LSN(450))
    XCTAssertNil(machine.window, "no window once stopped")
    // A stop while a window is open lets the slot go on.
    var open = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&open)
    open.lowWatermark(header(.open), confirmable: LSN(150))
    XCTAssertEqual(open.hold, LSN(150))
    _ = open.signal(.stop(id: "x", tables: nil), commitLSN: LSN(160), at: LSN(160))
    XCTAssertNil(open.hold)
  }

  func testASkippedTableIsAWarningAndTheNextTableIsRead() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    let other = QualifiedName(schema: "public", table: "items")
    _ = machine.signal(
      .execute(.init(id: "s", tables: [.init(name: orders), .init(name: other)])),
      commitLSN: LSN(100), at: LSN(100))
    var skip = header(.skip)
    skip.reason = "table public.orders does not exist"
    let actions = machine.skipped(skip, commitLSN: LSN(200), at: LSN(200))
    XCTAssertTrue(
      actions.contains { if case .warn(let m) = $0 { m.contains("does not exist") } else { false } }
    )
    XCTAssertTrue(
      actions.contains {
        if case .read(let r) = $0 { r.table == other && r.chunk == 0 } else { false }
      })
  }

  func testTheStateRidesInPositionsAfterTheSnapshotProgress() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&machine)
    let stamp = machine.stamp()
    XCTAssertFalse(machine.unsaved)
    let plain = IncrementalSnapshot.appending(
      stamp, to: SourcePosition("0000000000000100-00000000"))
    XCTAssertEqual(IncrementalSnapshot.state(in: plain), machine.state)
    guard case .change(let change, nil)? = CDCPosition(plain) else {
      return XCTFail("still a change position: \(plain)")
    }
    XCTAssertEqual(change.commitLSN, LSN(0x100))
    let progress = SnapshotProgress(base: 5, tables: [orders])
    let withProgress = IncrementalSnapshot.appending(
      stamp, to: CDCPosition.change(change, progress).sourcePosition)
    XCTAssertEqual(CDCPosition(withProgress)?.progress, progress)
    XCTAssertEqual(IncrementalSnapshot.state(in: withProgress), machine.state)
    XCTAssertFalse(plain < SourcePosition("0000000000000100-00000000"))
    XCTAssertFalse(SourcePosition("0000000000000100-00000000") < plain, "the state is not compared")
  }

  // MARK: - Regular expressions and surrogate keys

  func testAnExpressionIsMatchedByTheReaderAndTheTablesItListsTakeItsPlace() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    let items = QualifiedName(schema: "public", table: "items")
    let actions = machine.signal(
      .execute(
        .init(
          id: "r",
          tables: [
            .init(
              pattern: "public\\.(orders|items)",
              conditions: [.init(collection: "public.items", filter: "id > 3")],
              surrogateKey: "code"),
            .init(pattern: "nothing\\..*"),
          ])), commitLSN: LSN(100), at: LSN(100))
    guard case .read(let request)? = actions.last else { return XCTFail("\(actions)") }
    XCTAssertEqual(request.pattern, "public\\.(orders|items)", "the reader matches it first")
    var expand = WatermarkMessage(
      kind: .expand, snapshot: 100, table: QualifiedName(schema: "", table: ""), chunk: 0,
      attempt: "e")
    expand.pattern = request.pattern
    expand.tables = [items, orders]
    let expanded = machine.expanded(expand, commitLSN: LSN(200), at: LSN(190))
    XCTAssertEqual(
      machine.state.running?.tables.prefix(2).map { [$0.name.description, $0.filter ?? "-"] },
      [["public.items", "id > 3"], ["public.orders", "-"]],
      "each with the condition that selects it")
    XCTAssertEqual(machine.state.running?.tables.first?.surrogateKey, "code")
    XCTAssertTrue(
      expanded.contains(
        .read(
          .init(
            snapshot: 100, table: items, filter: "id > 3", chunk: 0, after: nil, maximum: nil,
            size: 2, surrogateKey: "code"))))
    XCTAssertEqual(
      machine.expanded(expand, commitLSN: LSN(200), at: LSN(190)), [], "a replay is not applied")

    // The second expression matches nothing: a warning, and the snapshot ends with the tables.
    var skip = header(.skip)
    skip.table = items
    _ = machine.skipped(skip, commitLSN: LSN(300), at: LSN(300))
    _ = machine.skipped(header(.skip), commitLSN: LSN(400), at: LSN(400))
    var none = expand
    none.pattern = "nothing\\..*"
    none.tables = []
    let unmatched = machine.expanded(none, commitLSN: LSN(500), at: LSN(500))
    XCTAssertTrue(
      unmatched.contains {
        if case .warn(let m) = $0 {
          m.contains("/nothing\\..*/ matches no captured table")
        } else {
          false
        }
      }, "\(unmatched)")
    XCTAssertNil(machine.state.running)
  }

  func testTableSelectorsAreNamesOrExpressionsOverTheWholeId() throws {
    let name = try TableSelector(parsing: "public.orders")
    XCTAssertEqual(name.name, orders)
    XCTAssertEqual(try TableSelector(parsing: "orders").name, orders, "schema public")
    XCTAssertEqual(
      try TableSelector(parsing: #""Odd.Schema"."T""#).name,
      QualifiedName(schema: "Odd.Schema", table: "T"))
    let expression = try TableSelector(parsing: "public\\.ord.*")
    XCTAssertNil(expression.name)
    XCTAssertTrue(expression.matches(orders))
    XCTAssertFalse(
      expression.matches(QualifiedName(schema: "other", table: "public.orders")),
      "anchored at the start")
    XCTAssertFalse(
      try TableSelector(parsing: "public\\.ord").matches(orders), "and at the end: the whole id")
    XCTAssertTrue(try TableSelector(parsing: "public.orders|public.items").matches(orders))
    XCTAssertFalse(
      try TableSelector(parsing: "Public\\.orders").matches(orders), "case-sensitive, as Java's")
    XCTAssertThrowsError(try TableSelector(parsing: "public.(orders"))
    XCTAssertThrowsError(try TableSelector(parsing: "a)(b"), "only valid inside the wrapper")
  }

  func testSignalsWithExpressionsAndASurrogateKey() throws {
    let signal = try SnapshotSignal.parse(
      document: Array(
        #"{"id":"x","type":"execute-snapshot","data":{"data-collections":["public.orders","inventory\\..*"],"surrogate-key":" code ","additional-conditions":[{"data-collection":"inventory\\.parts","filter":"qty > 0"}]}}"#
          .utf8))
    XCTAssertEqual(
      signal,
      .execute(
        .init(
          id: "x",
          tables: [
            .init(name: orders, surrogateKey: "code"),
            .init(
              pattern: "inventory\\..*",
              conditions: [.init(collection: "inventory\\.parts", filter: "qty > 0")],
              surrogateKey: "code"),
          ])))
    let blocking = try SnapshotSignal.parse(
      id: "b", type: "execute-snapshot",
      data: JSONValue.parse(Array(#"{"data-collections":["orders"],"type":"BLOCKING"}"#.utf8))!)
    XCTAssertEqual(
      blocking, .execute(.init(id: "b", blocking: true, tables: [.init(name: orders)])))
    XCTAssertEqual(
      try SnapshotSignal.parse(
        id: "s", type: "stop-snapshot",
        data: JSONValue.parse(Array(#"{"data-collections":["public\\.ord.*"]}"#.utf8))!),
      .stop(id: "s", tables: [TableSelector(expression: "public\\.ord.*")]))
  }

  func testAStopWithAnExpressionTakesOutTheTablesItSelects() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    let items = QualifiedName(schema: "public", table: "items")
    let parts = QualifiedName(schema: "inventory", table: "parts")
    _ = machine.signal(
      .execute(
        .init(id: "s", tables: [.init(name: orders), .init(name: items), .init(name: parts)])),
      commitLSN: LSN(100), at: LSN(100))
    let actions = machine.signal(
      .stop(id: "x", tables: [TableSelector(expression: "public\\..*")]), commitLSN: LSN(200),
      at: LSN(200))
    XCTAssertEqual(machine.state.running?.tables.map(\.name), [parts])
    XCTAssertTrue(
      actions.contains { if case .read(let r) = $0 { r.table == parts } else { false } })
  }

  func testAChunkOfASurrogateKeyedTableWithoutAPrimaryKeyIsComparedByThatColumn() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = machine.signal(
      .execute(.init(id: "s", tables: [.init(name: orders, surrogateKey: "id")])),
      commitLSN: LSN(100), at: LSN(100))
    var open = header(.open)
    open.primaryKey = []
    open.surrogateKey = "id"
    machine.lowWatermark(open, confirmable: LSN(150))
    XCTAssertEqual(machine.window?.keyColumns, ["id"])
    machine.changed(relation: 16384, keys: [key(1)])
    var close = header(.close, last: ["2"], maximum: ["9"])
    close.primaryKey = []
    close.surrogateKey = "id"
    close.note = "surrogate-key id is not declared unique"
    let actions = machine.highWatermark(
      close, rows: [row(1, "a"), row(2, "b")], commitLSN: LSN(200), at: LSN(190))
    XCTAssertEqual(actions.first, .emit(rows: [row(2, "b")], header: close))
    XCTAssertTrue(actions.contains(.warn("incremental snapshot s: \(close.note!)")))
    XCTAssertTrue(
      actions.contains {
        if case .read(let r) = $0 { r.after == ["2"] && r.surrogateKey == "id" } else { false }
      })
  }

  // MARK: - Blocking snapshots

  func testABlockingSignalIsRecordedForTheTaskButNotWhileAnIncrementalSnapshotRuns() {
    var machine = IncrementalSnapshot(state: .init(), chunkSize: 2)
    let blocking = SnapshotSignal.execute(
      .init(id: "b", blocking: true, tables: [.init(name: orders)]))
    let actions = machine.signal(blocking, commitLSN: LSN(100), at: LSN(90))
    XCTAssertEqual(
      machine.state.blocking, .init(id: "b", commitLSN: 100, tables: [.init(name: orders)]))
    XCTAssertFalse(actions.contains { if case .read = $0 { true } else { false } })
    XCTAssertTrue(machine.unsaved, "the request is made durable before the slot moves past it")
    machine.blockingTaken()
    XCTAssertNil(machine.state.blocking)

    var running = IncrementalSnapshot(state: .init(), chunkSize: 2)
    _ = start(&running)
    let refused = running.signal(blocking, commitLSN: LSN(200), at: LSN(200))
    XCTAssertNil(running.state.blocking)
    XCTAssertTrue(
      refused.contains { if case .warn(let m) = $0 { m.contains("is running") } else { false } })

    // A stream after a blocking snapshot starts past its signal's transaction.
    var after = IncrementalSnapshot(state: .init(), chunkSize: 2, floor: 100)
    XCTAssertEqual(after.signal(blocking, commitLSN: LSN(100), at: LSN(90)), [])
    XCTAssertNil(after.state.blocking)
  }

  // MARK: - Messages and signals

  func testWatermarkRowsRoundTripThroughTheMessageText() throws {
    let message = header(.close, last: ["2"])
    let text = message.encoded(rows: [["1", "a:b"], ["2", nil], ["3", ""]])
    let (decoded, rows) = try WatermarkMessage.decode(Array(text.utf8))
    XCTAssertEqual(decoded, message)
    XCTAssertEqual(rows, [row(1, "a:b"), row(2, nil), [.text(Array("3".utf8)), .text([])]])
    XCTAssertThrowsError(try WatermarkMessage.decode(Array("garbage".utf8)))
    XCTAssertThrowsError(try WatermarkMessage.decode(Array((text.dropLast(2)).utf8)))
  }

  func testSignalsAreCheckedAsDebeziumDocumentsAre() throws {
    let execute = try SnapshotSignal.parse(
      document: Array(
        #"{"id":"x","type":"execute-snapshot","data":{"data-collections":["public.orders"],"type":"INCREMENTAL","additional-conditions":[{"data-collection":"public.orders","filter":"id > 5"}]}}"#
          .utf8))
    XCTAssertEqual(
      execute, .execute(.init(id: "x", tables: [.init(name: orders, filter: "id > 5")])))
    XCTAssertEqual(
      try SnapshotSignal.parse(id: "s", type: "stop-snapshot", data: .null),
      .stop(id: "s", tables: nil))
    for (type, data, reason) in [
      ("execute-snapshot", #"{}"#, "data-collections"),
      ("execute-snapshot", #"{"data-collections":[1]}"#, "not a table name"),
      (
        "execute-snapshot", #"{"data-collections":["a.b"],"type":"snapshot-please"}"#,
        "\"incremental\" or \"blocking\""
      ),
      (
        "execute-snapshot", #"{"data-collections":["a.b"],"type":"blocking","surrogate-key":"k"}"#,
        "surrogate-key"
      ),
      ("execute-snapshot", #"{"data-collections":["public.(orders"]}"#, "not a valid regular"),
      ("execute-snapshot", #"{"data-collections":["a.b"],"surrogate-key":5}"#, "column name"),
      (
        "execute-snapshot",
        #"{"data-collections":["a.b"],"type":"blocking","additional-conditions":[{"data-collection":"a.b","filter":"x"}]}"#,
        "not built for blocking"
      ),
      ("stop-snapshot", #"{"type":"blocking"}"#, "runs to its end"),
      (
        "execute-snapshot",
        #"{"data-collections":["a.b"],"additional-conditions":[{"data-collection":"c.d","filter":"x"}]}"#,
        "not in data-collections"
      ),
      ("snapshot-now", #"{}"#, "not one Sluice acts on"),
    ] {
      XCTAssertThrowsError(
        try SnapshotSignal.parse(id: "i", type: type, data: JSONValue.parse(Array(data.utf8))!)
      ) { error in
        XCTAssertTrue("\(error)".contains(reason), "\(type) \(data): \(error)")
      }
    }
  }
}
