import SluiceCore
import SluicePostgres
import XCTest

@testable import PostgresCDCConnector

/// The CDC task's streaming decisions, fed replication messages as the walsender sends them
/// (pgoutput bytes in XLogData) and catalog answers as the control connection gives them.
final class ReplicationSessionTests: XCTestCase {
  let orders: UInt32 = 16401
  let start = ContinuousClock.now

  // MARK: - Streams and messages

  private func config(_ extra: String = "") throws -> CDCConfig {
    let definition = try ConnectorDefinition.parse(
      text: """
        name: shop
        source: postgres-cdc
        topic: "shop.{schema}.{table}"
        config:
          url: postgresql://sluice@127.0.0.1:5432/shop
          tables: [public.orders]
          snapshot: never
        \(extra)
        """,
      file: "shop.yaml", environment: [:])
    return try CDCConfig(definition: definition)
  }

  /// A session streaming from a slot confirmed at 0x100.
  private func streaming(
    committed: SourcePosition? = nil, snapshot: SnapshotProgress? = nil, windowBytes: UInt64 = 0,
    heartbeat: DebeziumHeartbeat? = nil, metadata: Bool = false
  ) throws -> ReplicationSession {
    var session = ReplicationSession(committed: committed)
    session.snapshotFinished()
    session.startStreaming(
      .init(
        settings: .init(
          connectorName: "shop", database: "shop",
          topic: try TopicTemplate("shop.{schema}.{table}"), tombstonesOnDelete: true,
          transactionMetadata: metadata ? TransactionMetadata(topic: "shop.transaction") : nil),
        confirmed: LSN(0x100), committed: committed, snapshot: snapshot,
        replayWindowBytes: windowBytes, heartbeat: heartbeat, config: try config()))
    return session
  }

  private func xLog(_ at: UInt64, _ payload: [UInt8]) -> ReplicationMessage {
    .xLogData(walStart: LSN(at), walEnd: LSN(at), sendTime: 0, payload: payload[...])
  }

  private func begin(final: UInt64, xid: UInt32) -> [UInt8] {
    var w = Wire("B")
    w.u64(final)
    w.u64(0)
    w.u32(xid)
    return w.bytes
  }

  private func commit(_ lsn: UInt64) -> [UInt8] {
    var w = Wire("C")
    w.byte(0)
    w.u64(lsn)
    w.u64(lsn + 8)
    w.u64(0)
    return w.bytes
  }

  /// `public.orders (id int4, note <noteType>)`, keyed by id unless `identity` is full.
  private func relation(identity: Character = "d", noteType: UInt32 = 25) -> [UInt8] {
    var w = Wire("R")
    w.u32(orders)
    w.cString("public")
    w.cString("orders")
    w.byte(UInt8(ascii: identity.unicodeScalars.first!))
    w.u16(2)
    for (name, type, key) in [("id", UInt32(23), identity != "f"), ("note", noteType, false)] {
      w.byte(key ? 1 : 0)
      w.cString(name)
      w.u32(type)
      w.u32(UInt32(bitPattern: -1))
    }
    return w.bytes
  }

  private func insert(_ id: Int, _ note: String = "n") -> [UInt8] {
    var w = Wire("I")
    w.u32(orders)
    w.byte(UInt8(ascii: "N"))
    w.u16(2)
    for text in ["\(id)", note] {
      w.byte(UInt8(ascii: "t"))
      w.u32(UInt32(text.utf8.count))
      w.bytes += Array(text.utf8)
    }
    return w.bytes
  }

  private func logicalMessage(_ prefix: String, _ content: String) -> [UInt8] {
    var w = Wire("M")
    w.byte(1)
    w.u64(0)
    w.cString(prefix)
    w.u32(UInt32(content.utf8.count))
    w.bytes += Array(content.utf8)
    return w.bytes
  }

  /// Feeds messages, answering every catalog lookup with `answer`; returns the lookups.
  @discardableResult
  private func feed(
    _ session: inout ReplicationSession, _ messages: [ReplicationMessage],
    answer: CatalogAnswer = CatalogAnswer()
  ) throws -> [CatalogLookup] {
    var asked: [CatalogLookup] = []
    for message in messages {
      var step = try session.receive(message)
      while case .lookUp(let lookup) = step {
        asked.append(lookup)
        step = try session.found(answer)
      }
    }
    return asked
  }

  /// A transaction committing at `commitLSN` with an insert per id, after the relation.
  private func transaction(_ commitLSN: UInt64, ids: [Int]) -> [ReplicationMessage] {
    [xLog(commitLSN - 0x40, begin(final: commitLSN, xid: 7)), xLog(commitLSN - 0x30, relation())]
      + ids.enumerated().map { xLog(commitLSN - 0x20 + UInt64($0.offset), insert($0.element)) }
      + [xLog(commitLSN, commit(commitLSN))]
  }

  private func text(_ bytes: [UInt8]?) -> String {
    bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
  }

  // MARK: - Catalog

  func testARelationAsksTheCatalogAndIsAppliedWithItsAnswer() throws {
    var session = try streaming()
    _ = try session.receive(xLog(0x400, begin(final: 0x500, xid: 7)))
    // A full replica identity names no key: the catalog's primary key is asked for, with the
    // type created in the database and the table's NOT NULL and defaults.
    XCTAssertEqual(
      try session.receive(xLog(0x410, relation(identity: "f", noteType: 16500))),
      .lookUp(CatalogLookup(primaryKeyOf: orders, userTypes: [16500], columnFactsOf: orders)))
    XCTAssertEqual(
      try session.found(
        CatalogAnswer(primaryKey: ["id"], userTypes: [16500: .named("citext")])), .next)
    _ = try feed(&session, [xLog(0x420, insert(1, "x")), xLog(0x500, commit(0x500))])
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(emit.records.count, 1)
    XCTAssertEqual(text(emit.records[0].key), #"{"id":1}"#, "the key is the catalog's")

    // The next relation message of a table keyed by its replica identity asks only for facts,
    // and types already described are not asked for again.
    var again = session
    _ = try again.receive(xLog(0x600, begin(final: 0x700, xid: 8)))
    XCTAssertEqual(
      try again.receive(xLog(0x610, relation(noteType: 16500))),
      .lookUp(CatalogLookup(primaryKeyOf: nil, userTypes: [], columnFactsOf: orders)))
  }

  // MARK: - Emitting and confirming

  func testAChunkIsConfirmedOnlyWhenItsRecordsAreDurable() throws {
    var session = try streaming()
    try feed(&session, transaction(0x500, ids: [1, 2]))
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(emit.records.count, 2)
    XCTAssertEqual(emit.confirmAfter, LSN(0x508), "the commit's end LSN")
    XCTAssertNil(emit.commit, "no snapshot state to commit on its own")
    XCTAssertEqual(session.madeDurable(emit.receipt).confirm, LSN(0x508))
    XCTAssertNil(session.madeDurable(emit.receipt).confirm, "a durable LSN is confirmed once")
  }

  func testAKeepaliveBetweenTransactionsMovesTheConfirmableLSNButNotInsideOne() throws {
    var session = try streaming()
    try feed(&session, [.keepalive(walEnd: LSN(0x900), sendTime: 0, replyRequested: false)])
    let idle = session.endChunk(now: 0)
    XCTAssertTrue(idle.records.isEmpty)
    XCTAssertEqual(session.madeDurable(idle.receipt).confirm, LSN(0x900))

    try feed(
      &session,
      [
        xLog(0x950, begin(final: 0xA00, xid: 8)),
        .keepalive(walEnd: LSN(0x980), sendTime: 0, replyRequested: false),
      ])
    XCTAssertNil(
      session.madeDurable(session.endChunk(now: 0).receipt).confirm,
      "an open transaction holds the slot where it was")
  }

  func testAReplayWindowConfirmsThatManyBytesBehind() throws {
    var session = try streaming(windowBytes: 0x500)
    try feed(&session, transaction(0x500, ids: [1]))
    XCTAssertNil(
      session.madeDurable(session.endChunk(now: 0).receipt).confirm,
      "0x508 − 0x500 is before the slot's confirmed 0x100")
    try feed(&session, transaction(0x900, ids: [2]))
    XCTAssertEqual(session.madeDurable(session.endChunk(now: 0).receipt).confirm, LSN(0x408))
  }

  func testChangesAtOrBeforeTheCommittedPositionAreDroppedAndCounted() throws {
    let committed = CDCPosition.change(ChangePosition(commitLSN: LSN(0x500), index: 0), nil)
    var session = try streaming(committed: committed.sourcePosition)
    try feed(&session, transaction(0x500, ids: [1, 2]))
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(emit.droppedWritten, 1)
    XCTAssertEqual(emit.records.map { text($0.key) }, [#"{"id":2}"#])
    XCTAssertEqual(session.skipped(emit.droppedWritten), 1)
    XCTAssertEqual(session.skipped(3), 4, "the status counts the stream's skips together")
    XCTAssertEqual(session.endChunk(now: 0).droppedWritten, 0, "counted once")
  }

  func testAfterASnapshotChangesGoThroughItsFilterAndTheLastCarriesItsProgress() throws {
    var progress = SnapshotProgress(base: 0x100, tables: [])
    progress.done = true
    var session = try streaming(snapshot: progress)
    try feed(&session, transaction(0x500, ids: [1, 2]))
    let replayed = try XCTUnwrap(session.takeReplayed())
    XCTAssertEqual(replayed.count, 2, "the changes wait for the replay filter")
    session.kept(replayed.dropFirst().map(\.sourceRecord))
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(emit.records.count, 1)
    XCTAssertEqual(
      emit.records[0].position?.text,
      replayed[1].position.sourcePosition.text + "|" + CDCPosition.encode(progress))

    var plain = try streaming()
    try feed(&plain, transaction(0x500, ids: [1]))
    XCTAssertNil(plain.takeReplayed(), "without a snapshot there is no filter")
    XCTAssertEqual(plain.endChunk(now: 0).records.count, 1)
  }

  /// With transaction metadata, a transaction before the snapshot's last segment comes to
  /// the replay filter with what renders it again; of one written in part before a restart,
  /// the written events come too, marked, for the filter to count (BEGIN does not: it is
  /// never renumbered).
  func testAfterASnapshotAPartlyWrittenTransactionComesWholeToTheFilterWithMetadata() throws {
    var progress = SnapshotProgress(base: 0x100, tables: [])
    progress.open = 0x600
    progress.done = true
    let committed = ChangePosition(commitLSN: LSN(0x500), index: 1).sourcePosition
    var session = try streaming(committed: committed, snapshot: progress, metadata: true)
    try feed(&session, transaction(0x500, ids: [1, 2]))
    let replayed = try XCTUnwrap(session.takeReplayed())
    XCTAssertEqual(replayed.map(\.position.index), [1, 2, 3])
    XCTAssertEqual(replayed.map(\.written), [true, false, false])
    XCTAssertEqual(
      replayed.map(\.topic), ["shop.public.orders", "shop.public.orders", "shop.transaction"])
    XCTAssertTrue(replayed.allSatisfy { $0.renumbering != nil })

    // After the last segment, nothing to renumber: nothing written comes again.
    var after = try streaming(
      committed: ChangePosition(commitLSN: LSN(0x700), index: 1).sourcePosition,
      snapshot: progress, metadata: true)
    try feed(&after, transaction(0x700, ids: [1, 2]))
    let later = try XCTUnwrap(after.takeReplayed())
    XCTAssertEqual(later.map(\.position.index), [2, 3])
    XCTAssertTrue(later.allSatisfy { $0.renumbering == nil && !$0.written })
  }

  func testDebeziumHeartbeatRecordsComeOncePerIntervalWithoutAPosition() throws {
    var session = try streaming(
      heartbeat: DebeziumHeartbeat(
        topic: "__debezium-heartbeat.shop", serverName: "shop", interval: .seconds(1)))
    let first = session.endChunk(now: 5000)
    XCTAssertEqual(first.records.map(\.topic), ["__debezium-heartbeat.shop"])
    XCTAssertNil(first.records[0].position)
    XCTAssertNil(first.commit, "a heartbeat moves no committed position")
    XCTAssertTrue(session.endChunk(now: 5999).records.isEmpty)
    try feed(&session, transaction(0x500, ids: [1]))
    let next = session.endChunk(now: 6000)
    XCTAssertEqual(next.records.map(\.topic), ["shop.public.orders", "__debezium-heartbeat.shop"])
  }

  // MARK: - Incremental snapshots

  func testASignalAsksForAChunkAndItsStateIsCommittedAndOutlivesTheConnection() throws {
    var session = try streaming()
    let signal =
      #"{"id":"s1","type":"execute-snapshot","data":{"data-collections":["public.orders"]}}"#
    try feed(
      &session,
      [
        xLog(0x440, begin(final: 0x500, xid: 7)),
        xLog(0x450, logicalMessage(WatermarkMessage.signalPrefix, signal)),
        xLog(0x500, commit(0x500)),
      ])
    let effects = session.takeEffects()
    guard
      case .read(let request)? = effects.first(where: { if case .read = $0 { true } else { false } }
      )
    else { return XCTFail("the first chunk is asked for: \(effects)") }
    XCTAssertEqual(request.table, QualifiedName(schema: "public", table: "orders"))
    XCTAssertEqual(request.chunk, 0)

    // No record carries the changed state: it is committed on its own, just before the
    // signal's transaction, and is the durable state once that is done.
    let emit = session.endChunk(now: 0)
    XCTAssertTrue(emit.records.isEmpty)
    let commit = try XCTUnwrap(emit.commit)
    XCTAssertTrue(
      commit.text.hasPrefix(ChangePosition(commitLSN: LSN(0x4FF), index: .max).sourcePosition.text))
    XCTAssertEqual(emit.state?.running?.id, "s1")
    XCTAssertNil(session.incrementalDurable.running)
    _ = session.madeDurable(emit.receipt)
    XCTAssertEqual(session.incrementalDurable.running?.id, "s1")

    // A lost connection: the next stream goes on from the durable state and asks again.
    guard case .retry = session.failed(PostgresError(sqlState: nil, message: "gone"), at: start)
    else { return XCTFail("a blip after streaming is retried") }
    session = try session.restarted(try config(), confirmed: LSN(0x508), committed: commit)
    XCTAssertTrue(session.takeEffects().contains(.read(request)))
  }

  func testABlockingSignalStopsTheStreamAfterItsTransactionUntilItsStateIsDurable() throws {
    var session = try streaming()
    let signal =
      #"{"id":"b1","type":"execute-snapshot","data":{"data-collections":["public.orders"],"type":"blocking"}}"#
    // A change, the signal's transaction, and a change after it: streamed twice below.
    let wal =
      transaction(0x400, ids: [1]) + [
        xLog(0x440, begin(final: 0x500, xid: 8)),
        xLog(0x450, logicalMessage(WatermarkMessage.signalPrefix, signal)),
        xLog(0x500, commit(0x500)),
      ] + transaction(0x600, ids: [2])
    try feed(&session, wal)
    XCTAssertTrue(session.isStoppedForBlocking)
    XCTAssertTrue(
      session.takeEffects().contains(.clearWarning), "a new signal clears the last one's warning")
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(
      emit.records.map { text($0.key) }, [#"{"id":1}"#],
      "the transaction after the signal's waits for the next stream")
    XCTAssertEqual(emit.confirmAfter, LSN(0x508), "confirmed up to the signal's transaction")
    XCTAssertEqual(emit.state?.blocking?.id, "b1")
    XCTAssertEqual(emit.state?.blocking?.commitLSN, 0x500)
    XCTAssertNil(session.pendingBlocking, "not before its request is durable")
    _ = session.madeDurable(emit.receipt)
    XCTAssertEqual(session.pendingBlocking?.tables.map(\.name.description), ["public.orders"])
    XCTAssertEqual(
      IncrementalSnapshot.state(in: emit.records.last?.position).blocking?.id, "b1",
      "a restart before the read begins finds the request")

    // The read began (its positions took over) and ended: the next stream goes on after the
    // signal's transaction, with no replay filter and no progress on its positions, and the
    // signal, streamed again, is not taken twice.
    session.blockingTaken()
    var progress = SnapshotProgress(base: 0x501, tables: [])
    progress.blocking = "b1"
    progress.done = true
    session = try session.restarted(
      try config(), confirmed: LSN(0x300), committed: emit.records.last?.position,
      snapshot: progress)
    try feed(&session, wal)
    XCTAssertFalse(session.isStoppedForBlocking)
    XCTAssertFalse(
      session.takeEffects().contains(.clearWarning),
      "streamed again, the signal keeps the warning its snapshot gave")
    XCTAssertNil(session.takeReplayed(), "no replay filter after a blocking snapshot")
    let next = session.endChunk(now: 0)
    XCTAssertEqual(next.records.map { text($0.key) }, [#"{"id":2}"#])
    XCTAssertEqual(
      next.records.first.flatMap { $0.position.flatMap(CDCPosition.init) },
      .change(ChangePosition(commitLSN: LSN(0x600), index: 0), nil))
    XCTAssertEqual(next.droppedWritten, 1, "the change before the signal is in the topics")
    XCTAssertNil(session.pendingBlocking)
  }

  func testABlockingSignalTheInitialSnapshotOverlapsIsRefused() throws {
    var progress = SnapshotProgress(base: 0x100, tables: [])
    progress.open = 0x700
    progress.done = true
    var session = try streaming(snapshot: progress)
    let signal =
      #"{"id":"b1","type":"execute-snapshot","data":{"data-collections":["orders"],"type":"blocking"}}"#
    try feed(
      &session,
      [
        xLog(0x440, begin(final: 0x500, xid: 8)),
        xLog(0x450, logicalMessage(WatermarkMessage.signalPrefix, signal)),
        xLog(0x500, commit(0x500)),
      ])
    XCTAssertFalse(session.isStoppedForBlocking)
    XCTAssertTrue(
      session.takeEffects().contains {
        if case .warn(let m) = $0 {
          m.contains("while the initial snapshot was read")
        } else {
          false
        }
      })
    XCTAssertNil(session.endChunk(now: 0).state?.blocking)
  }

  func testChunkRowsOfATypeNotYetDescribedWaitForTheCatalog() throws {
    var session = try streaming()
    let signal =
      #"{"id":"s1","type":"execute-snapshot","data":{"data-collections":["public.orders"]}}"#
    let table = QualifiedName(schema: "public", table: "orders")
    var open = WatermarkMessage(
      kind: .open, snapshot: 0x450, table: table, chunk: 0, attempt: "a", relation: orders,
      key: ["id"])
    var close = open
    close.kind = .close
    close.columns = [
      .init(name: "id", type: 23, modifier: -1), .init(name: "note", type: 16500, modifier: -1),
    ]
    close.identity = "d"
    close.last = ["1"]
    close.maximum = ["1"]
    close.done = true
    open.columns = nil
    let asked = try feed(
      &session,
      [
        xLog(0x440, begin(final: 0x500, xid: 7)),
        xLog(0x450, logicalMessage(WatermarkMessage.signalPrefix, signal)),
        xLog(0x500, commit(0x500)),
        xLog(0x540, begin(final: 0x600, xid: 8)),
        xLog(0x550, logicalMessage(WatermarkMessage.prefix, open.encoded())),
        xLog(0x600, commit(0x600)),
        xLog(0x640, begin(final: 0x700, xid: 9)),
        xLog(0x650, logicalMessage(WatermarkMessage.prefix, close.encoded(rows: [["1", "x"]]))),
        xLog(0x700, commit(0x700)),
      ], answer: CatalogAnswer(userTypes: [16500: .named("citext")]))
    XCTAssertEqual(
      asked, [CatalogLookup(primaryKeyOf: nil, userTypes: [16500], columnFactsOf: nil)],
      "the rows' type is asked for before they are rendered")
    let emit = session.endChunk(now: 0)
    XCTAssertEqual(emit.records.count, 1)
    XCTAssertEqual(emit.records.first?.topic, "shop.public.orders")
    XCTAssertTrue(text(emit.records.first?.value).contains(#""op":"r""#))
    XCTAssertTrue(text(emit.records.first?.value).contains(#""note":"x""#))
    XCTAssertNil(emit.state?.running, "the one-chunk table ends the snapshot")
  }

  // MARK: - Reconnecting

  func testFailuresBeforeTheSnapshotIsDoneOrOfTheRuntimeFailTheTaskBlipsAreRetried() throws {
    let lost = PostgresError(sqlState: nil, message: "terminating connection")
    var starting = ReplicationSession(committed: nil)
    XCTAssertEqual(starting.failed(lost, at: start), .fail, "a snapshot that failed")

    var session = try streaming()
    XCTAssertEqual(session.failed(lost, at: start), .fail, "it never streamed: a setup to fix")
    guard
      case .retry(_, warn: true) = session.failed(
        PostgresError(sqlState: "55006", message: "slot active"), at: start)
    else { return XCTFail("a slot still held by a killed walsender is waited for") }

    session = try streaming()
    try feed(&session, transaction(0x500, ids: [1]))
    XCTAssertFalse(session.madeDurable(session.endChunk(now: 0).receipt).resumed)
    guard case .retry(_, warn: true) = session.failed(lost, at: start) else {
      return XCTFail("a blip after streaming is retried, with a warning")
    }
    guard case .retry(_, warn: false) = session.failed(lost, at: start + .seconds(1)) else {
      return XCTFail("the same outage is retried quietly")
    }
    XCTAssertEqual(session.failed(lost, at: start + .seconds(16)), .fail, "an outage that lasts")
    XCTAssertEqual(
      session.failed(SendFailure(underlying: lost), at: start), .fail, "the runtime's send")
    XCTAssertEqual(session.failed(SetupError("no such table"), at: start), .fail)
  }

  func testStreamingAgainAfterAnOutageIsReportedOnce() throws {
    var session = try streaming()
    _ = session.madeDurable(session.endChunk(now: 0).receipt)
    guard case .retry = session.failed(PostgresError(sqlState: nil, message: "x"), at: start)
    else { return XCTFail("retried") }
    session = try session.restarted(try config())
    XCTAssertTrue(session.madeDurable(session.endChunk(now: 0).receipt).resumed)
    XCTAssertFalse(session.madeDurable(session.endChunk(now: 0).receipt).resumed)
  }

  // MARK: - Initial snapshot

  func testASnapshotIsTakenOnlyWithoutAPositionOrToFinishOne() throws {
    let confirmed = LSN(0x100)
    XCTAssertEqual(
      ReplicationSession.snapshotPlan(committed: nil, mode: .initial, confirmed: confirmed),
      .snapshot(progress: SnapshotProgress(base: 0x100, tables: []), resumingAfter: nil))
    XCTAssertEqual(
      ReplicationSession.snapshotPlan(committed: nil, mode: .never, confirmed: confirmed),
      .stream(progress: nil))
    var done = SnapshotProgress(base: 0x80, tables: [])
    done.done = true
    let afterSnapshot = CDCPosition.change(ChangePosition(commitLSN: LSN(0x500), index: 0), done)
    XCTAssertEqual(
      ReplicationSession.snapshotPlan(
        committed: afterSnapshot.sourcePosition, mode: .initial, confirmed: confirmed),
      .stream(progress: done), "a finished snapshot's progress goes on filtering the replay")
    let plain = CDCPosition.change(ChangePosition(commitLSN: LSN(0x500), index: 0), nil)
    XCTAssertEqual(
      ReplicationSession.snapshotPlan(
        committed: plain.sourcePosition, mode: .initial, confirmed: confirmed),
      .stream(progress: nil), "a connector with a position is not snapshotted")
    XCTAssertEqual(
      ReplicationSession.snapshotPlan(
        committed: CDCPosition.reset(generation: 2).sourcePosition, mode: .initial,
        confirmed: confirmed),
      .snapshot(progress: SnapshotProgress(base: 0x100, tables: []), resumingAfter: nil),
      "offsets reset after a replay: a new connector in the replay's generation")
  }
}

extension ReplicationSession {
  /// The same session with a new stream, as the task starts one after reconnecting.
  fileprivate func restarted(
    _ config: CDCConfig, confirmed: LSN = LSN(0x100), committed: SourcePosition? = nil,
    snapshot: SnapshotProgress? = nil
  ) throws -> ReplicationSession {
    var session = self
    session.startStreaming(
      .init(
        settings: .init(
          connectorName: "shop", database: "shop",
          topic: try TopicTemplate("shop.{schema}.{table}"), tombstonesOnDelete: true),
        confirmed: confirmed, committed: committed, snapshot: snapshot, config: config))
    return session
  }
}

/// pgoutput message bytes, big-endian as the walsender writes them.
private struct Wire {
  var bytes: [UInt8]
  init(_ kind: Character) { bytes = [UInt8(ascii: kind.unicodeScalars.first!)] }
  mutating func byte(_ value: UInt8) { bytes.append(value) }
  mutating func u16(_ value: UInt16) { bytes += withUnsafeBytes(of: value.bigEndian, Array.init) }
  mutating func u32(_ value: UInt32) { bytes += withUnsafeBytes(of: value.bigEndian, Array.init) }
  mutating func u64(_ value: UInt64) { bytes += withUnsafeBytes(of: value.bigEndian, Array.init) }
  mutating func cString(_ text: String) { bytes += Array(text.utf8) + [0] }
}
