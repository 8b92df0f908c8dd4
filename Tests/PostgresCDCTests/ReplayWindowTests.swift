import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// `replay_window` without a database: which LSN the task confirms for each durable one, how
/// the option is read, and the positions a replay commits.
final class ReplayWindowTests: XCTestCase {
  // MARK: - The LSN confirmed

  func testWithoutAWindowEachDurableLSNIsConfirmedAsItComes() {
    var window = ReplayWindow(bytes: 0, confirmed: LSN(0x1000))
    XCTAssertEqual(window.durable(LSN(0x1800)), LSN(0x1800))
    XCTAssertEqual(window.durable(LSN(0x2000)), LSN(0x2000))
    XCTAssertNil(window.durable(LSN(0x2000)), "the same LSN again changes nothing")
  }

  func testAWindowConfirmsThatManyBytesBehindTheDurableLSN() {
    var window = ReplayWindow(bytes: 0x800, confirmed: LSN(0x1000))
    // Durable up to 0x1600: 0x1600 - 0x800 = 0xE00 is before what the slot has confirmed.
    XCTAssertNil(window.durable(LSN(0x1600)))
    XCTAssertEqual(window.confirmed, LSN(0x1000))
    XCTAssertEqual(window.durable(LSN(0x1900)), LSN(0x1100))
    XCTAssertEqual(window.durable(LSN(0x4000)), LSN(0x3800))
    XCTAssertEqual(window.confirmed, LSN(0x3800))
  }

  func testTheConfirmedLSNNeverMovesBack() {
    var window = ReplayWindow(bytes: 0x100, confirmed: LSN(0x5000))
    // A durable LSN below the slot's position (a chunk of replayed changes) moves nothing.
    XCTAssertNil(window.durable(LSN(0x5050)))
    XCTAssertNil(window.durable(LSN(0x3000)))
    XCTAssertEqual(window.durable(LSN(0x6000)), LSN(0x5F00))
    XCTAssertNil(window.durable(LSN(0x5F80)))
    XCTAssertEqual(window.confirmed, LSN(0x5F00))
  }

  func testAWindowLargerThanTheWALSoFarConfirmsNothing() {
    var window = ReplayWindow(bytes: 1 << 30, confirmed: .zero)
    XCTAssertNil(window.durable(LSN(0x16B_3748)), "no underflow below 0/0")
    XCTAssertEqual(window.confirmed, .zero)
  }

  // MARK: - The option

  func testTheOptionIsASizeAndDefaultsToNone() throws {
    XCTAssertEqual(try config("").replayWindowBytes, 0)
    XCTAssertEqual(try config("  replay_window: 512MiB").replayWindowBytes, 512 << 20)
    XCTAssertEqual(try config("  replay_window: 64MB").replayWindowBytes, 64_000_000)
    XCTAssertEqual(try config("  replay_window: 0").replayWindowBytes, 0)
    XCTAssertEqual(try config("  replay_window: off").replayWindowBytes, 0)
  }

  func testABadWindowIsAnErrorAtItsLine() {
    let bad = error("  replay_window: lots")
    XCTAssertEqual(bad?.file, "shop.yaml")
    XCTAssertEqual(bad?.line, 7)
    XCTAssertTrue(
      bad?.message.contains("expected a size like 512MiB or 2GiB, or 0 for none") == true,
      bad?.message ?? "no error")
    let list = error("  replay_window: [1]")
    XCTAssertEqual(list?.line, 7)
  }

  func testAWindowAtOrAboveTheWarnThresholdIsAnError() throws {
    let tooLarge = error("  replay_window: 1GiB")
    XCTAssertEqual(tooLarge?.line, 7)
    XCTAssertTrue(
      tooLarge?.message.contains("at or above slot_warn_retained_wal (1.0 GiB)") == true,
      tooLarge?.message ?? "no error")
    let raised = try config("  replay_window: 1GiB\n  slot_warn_retained_wal: 4GiB")
    XCTAssertEqual(raised.replayWindowBytes, 1 << 30)
    XCTAssertEqual(
      try config("  replay_window: 8GiB\n  slot_warn_retained_wal: off").replayWindowBytes, 8 << 30)
  }

  func testDebeziumFormSpellsItReplayDotWindow() throws {
    var registry = ConnectorRegistry()
    PostgresCDCConnectors.register(in: &registry)
    let definition = try ConnectorDefinition.parse(
      text: """
        name=inventory
        connector.class=io.debezium.connector.postgresql.PostgresConnector
        database.hostname=db
        database.user=u
        database.dbname=inventory
        topic.prefix=dbserver1
        table.include.list=public.orders
        replay.window=256MiB
        """, file: "dbz.properties", interpolation: Interpolation(environment: [:]),
      registry: registry)
    XCTAssertEqual(try CDCConfig(definition: definition).replayWindowBytes, 256 << 20)
  }

  // MARK: - Positions of a replay

  func testARewindStartsAGenerationThatSortsAfterEverythingWrittenBefore() throws {
    let written = ChangePosition(commitLSN: LSN(0x9000), index: 3)
    var progress = SnapshotProgress(
      base: 0x100, tables: [QualifiedName(schema: "public", table: "a")])
    progress.done = true
    let rewound = CDCOffsetMove.rewind(to: LSN(0x5000), written: written, progress: progress)
    guard case .change(let at, let kept) = rewound else { return XCTFail("\(rewound)") }
    XCTAssertEqual(at.generation, 1)
    XCTAssertEqual(at.commitLSN, LSN(0x5000))
    XCTAssertEqual(kept, progress, "the snapshot progress stays")
    // The text round-trips, progress and all.
    XCTAssertEqual(CDCPosition(rewound.sourcePosition), rewound)
    // A change streamed again after the rewind LSN sorts after every position written before
    // it (so the runtime writes it), and one at or before the LSN does not pass the rewind
    // position (so the task drops it).
    let again = ChangePosition(commitLSN: LSN(0x6000), index: 0, generation: 1)
    XCTAssertGreaterThan(again.sourcePosition, written.sourcePosition)
    XCTAssertGreaterThan(again.sourcePosition, SourcePosition("FFFFFFFFFFFFFFFF-FFFFFFFF"))
    XCTAssertGreaterThan(again, at)
    XCTAssertLessThanOrEqual(ChangePosition(commitLSN: LSN(0x5000), index: 9, generation: 1), at)
    // Snapshot positions of generation 0 sort before it too.
    XCTAssertLessThan(
      SnapshotPoint(base: 0xFFFF_FFFF, segment: 1, sequence: 1, table: 0, key: nil)
        .sourcePosition(progress: nil), again.sourcePosition)
    // A second rewind starts generation 2, after generation 1.
    let twice = CDCOffsetMove.rewind(to: LSN(0x100), written: again, progress: nil)
    XCTAssertEqual(twice.generation, 2)
    XCTAssertGreaterThan(
      ChangePosition(commitLSN: LSN(0x200), index: 0, generation: 2).sourcePosition,
      ChangePosition(commitLSN: LSN(0xFFFF_0000), index: 0, generation: 1).sourcePosition)
  }

  func testGenerationZeroPositionsKeepTheirTextAndAResetKeepsTheGeneration() {
    let plain = ChangePosition(commitLSN: LSN(0x16B_3748), index: 2)
    XCTAssertEqual(plain.sourcePosition.text, "00000000016B3748-00000002")
    XCTAssertEqual(ChangePosition(plain.sourcePosition), plain)
    let later = ChangePosition(commitLSN: LSN(0x16B_3748), index: 2, generation: 3)
    XCTAssertEqual(later.sourcePosition.text, "G00000003-00000000016B3748-00000002")
    XCTAssertEqual(ChangePosition(later.sourcePosition), later)
    let reset = CDCPosition.reset(generation: 3)
    XCTAssertEqual(CDCPosition(reset.sourcePosition), reset)
    XCTAssertNil(reset.progress)
    // A snapshot after the reset writes in the same generation: after the positions before.
    let point = SnapshotPoint(
      base: 0x100, segment: 0x180, sequence: 1, table: 0, key: "{\"id\":1}", generation: 3)
    XCTAssertEqual(CDCPosition(point.sourcePosition(progress: nil)), .snapshot(point, nil))
    XCTAssertGreaterThan(
      point.sourcePosition(progress: nil),
      ChangePosition(commitLSN: LSN(0xFFFF), index: 0, generation: 2).sourcePosition)
    XCTAssertNil(CDCPosition(SourcePosition("G0000000Z-00000000016B3748-00000002")))
  }

  func testTheRefusalBeforeTheConfirmedLSNNamesReplayWindow() {
    let without = CDCOffsetMove.beforeConfirmedMessage(
      target: LSN(0x100), confirmed: LSN(0x200), slot: "s", windowBytes: 0)
    XCTAssertTrue(without.contains("confirmed_flush_lsn 0/200"), without)
    XCTAssertTrue(without.contains("Set replay_window"), without)
    let with = CDCOffsetMove.beforeConfirmedMessage(
      target: LSN(0x100), confirmed: LSN(0x200), slot: "s", windowBytes: 64 << 20)
    XCTAssertTrue(with.contains("replay_window (64.0 MiB)"), with)
    XCTAssertTrue(with.contains("a larger replay_window"), with)
  }

  func testAPatchBetweenTheSlotAndTheCommittedPositionIsAReplay() {
    let written = CDCPosition.change(ChangePosition(commitLSN: LSN(0x9000), index: 3), nil)
    func decide(_ target: UInt64, committed: CDCPosition? = written) -> CDCOffsetMove {
      CDCOffsetMove.decide(
        target: LSN(target), confirmed: LSN(0x4000), current: LSN(0xA000), committed: committed,
        slot: "s", windowBytes: 1 << 20)
    }
    guard case .refuse(let before) = decide(0x3FFF) else { return XCTFail("not refused") }
    XCTAssertTrue(before.contains("replay_window (1.0 MiB)"), before)
    XCTAssertEqual(
      decide(0x4000),
      .rewind(
        .change(ChangePosition(commitLSN: LSN(0x4000), index: .max, generation: 1), nil)))
    XCTAssertEqual(
      decide(0x8FFF),
      .rewind(
        .change(ChangePosition(commitLSN: LSN(0x8FFF), index: .max, generation: 1), nil)))
    // The committed change's LSN (what GET shows with a window): nothing moves.
    XCTAssertEqual(decide(0x9000), .keep)
    // Past the committed change: forward, as without a window.
    XCTAssertEqual(decide(0x9001), .advance(LSN(0x9001)))
    XCTAssertEqual(decide(0xA000), .advance(LSN(0xA000)))
    guard case .refuse(let past) = decide(0xA001) else { return XCTFail("not refused") }
    XCTAssertTrue(past.contains("past the server's current WAL position"), past)
    // No change committed (a new connector, a snapshot under way): nothing to replay.
    XCTAssertEqual(decide(0x4000, committed: nil), .keep)
    XCTAssertEqual(decide(0x5000, committed: nil), .advance(LSN(0x5000)))
  }

  func testTheSlotWarningSaysHowMuchOfTheRetainedWALIsTheWindow() {
    let reading = SlotStatistics(retainedBytes: 600 << 20, walStatus: "reserved")
    let health = SlotHealth.assess(
      reading, slot: "shop", connector: "shop-cdc", thresholds: SlotThresholds(warn: 512 << 20),
      replayWindowBytes: 256 << 20)
    guard case .degraded(let reason) = health else { return XCTFail("\(health)") }
    XCTAssertTrue(
      reason.contains(
        "retains 600.0 MiB of WAL (up to 256.0 MiB of it the replay_window keeps on purpose)"),
      reason)
    let small = SlotStatistics(retainedBytes: 300 << 20, walStatus: "reserved")
    XCTAssertEqual(
      SlotHealth.assess(
        small, slot: "shop", connector: "shop-cdc", thresholds: SlotThresholds(warn: 512 << 20),
        replayWindowBytes: 256 << 20), .ok)
  }

  // MARK: - Settings

  private func config(_ extra: String) throws -> CDCConfig {
    let definition = try ConnectorDefinition.parse(
      text: """
        name: shop-cdc
        source: postgres-cdc
        topic: "shop.{table}"
        config:
          url: postgresql://sluice@127.0.0.1:5432/shop
          tables: [orders]
        \(extra)
        """, file: "shop.yaml", environment: [:])
    return try CDCConfig(definition: definition)
  }

  private func error(_ extra: String) -> ConfigError? {
    do {
      _ = try config(extra)
      return nil
    } catch {
      return error as? ConfigError
    }
  }
}
