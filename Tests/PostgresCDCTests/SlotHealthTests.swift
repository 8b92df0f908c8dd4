import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// The slot-health decision as a value: thresholds and `wal_status` → OK, DEGRADED, CRITICAL
/// or lost, each with a reason that names the figures and what to do; and its settings, in
/// Sluice's YAML and in Debezium's form.
final class SlotHealthTests: XCTestCase {
  let thresholds = SlotThresholds(warn: 1 << 20, fail: 8 << 20)

  func assess(_ retained: Int64?, _ walStatus: String? = "reserved", safe: Int64? = nil)
    -> SlotHealth
  {
    SlotHealth.assess(
      SlotStatistics(
        retainedBytes: retained, confirmedLagBytes: retained, walStatus: walStatus,
        safeWALSizeBytes: safe),
      slot: "shop", connector: "shop-cdc", thresholds: thresholds)
  }

  func testBelowTheWarnThresholdIsOK() {
    XCTAssertEqual(assess(0), .ok)
    XCTAssertEqual(assess(1 << 20), .ok, "at the threshold is not above it")
    XCTAssertEqual(assess(nil, nil), .ok, "PostgreSQL before 13 gives no wal_status")
    XCTAssertNil(assess(10).warning)
  }

  func testAboveWarnIsDegradedWithTheFiguresAndWhatToDo() throws {
    guard case .degraded(let reason) = assess(3 << 20) else {
      return XCTFail("\(assess(3 << 20))")
    }
    XCTAssertTrue(reason.contains("replication slot 'shop' retains 3.0 MiB of WAL"), reason)
    XCTAssertTrue(reason.contains("above slot_warn_retained_wal (1.0 MiB)"), reason)
    XCTAssertTrue(reason.contains("paused, failing or slow connector"), reason)
    let warning = try XCTUnwrap(assess(3 << 20).warning)
    XCTAssertEqual(warning.severity, .warning)
    XCTAssertEqual(warning.source, "replication_slot")
  }

  func testAboveFailIsCriticalAndSaysTheTaskKeepsStreaming() throws {
    guard case .critical(let reason) = assess(9 << 20) else {
      return XCTFail("\(assess(9 << 20))")
    }
    XCTAssertTrue(reason.contains("above slot_fail_retained_wal (8.0 MiB)"), reason)
    XCTAssertTrue(reason.contains("the task keeps streaming"), reason)
    XCTAssertEqual(assess(9 << 20).warning?.severity, .critical)
  }

  func testUnreservedIsCriticalWhateverTheThresholds() {
    guard case .critical(let reason) = assess(10, "unreserved", safe: -4096) else {
      return XCTFail("\(assess(10, "unreserved"))")
    }
    XCTAssertTrue(reason.contains("wal_status unreserved (safe_wal_size -4096 B)"), reason)
    XCTAssertTrue(reason.contains("raise max_slot_wal_keep_size"), reason)
  }

  func testLostFailsWithHowToRecover() {
    guard case .lost(let reason) = assess(nil, "lost") else {
      return XCTFail("\(assess(nil, "lost"))")
    }
    XCTAssertTrue(reason.contains("invalidated"), reason)
    XCTAssertTrue(reason.contains("SELECT pg_drop_replication_slot('shop');"), reason)
    XCTAssertTrue(reason.contains("DELETE /connectors/shop-cdc/offsets"), reason)
    XCTAssertNil(assess(nil, "lost").warning, "lost is a failure, not a warning")
  }

  func testNoThresholdsOnlyWalStatusCounts() {
    let off = SlotThresholds(warn: nil, fail: nil)
    let huge = SlotStatistics(retainedBytes: 1 << 40, walStatus: "extended")
    XCTAssertEqual(SlotHealth.assess(huge, slot: "s", connector: "c", thresholds: off), .ok)
  }

  func testByteSizesReadAsPeopleReadThem() {
    XCTAssertEqual(ByteSize.text(512), "512 B")
    XCTAssertEqual(ByteSize.text(1536), "1.5 KiB")
    XCTAssertEqual(ByteSize.text(1_000_000), "976.6 KiB")
    XCTAssertEqual(ByteSize.text(3 << 30), "3.0 GiB")
  }

  // MARK: - Settings

  func config(_ extra: String) throws -> CDCConfig {
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

  func testDefaultsWarnAt1GiBWithNoFailThresholdEvery10s() throws {
    let c = try config("")
    XCTAssertEqual(c.slotThresholds, SlotThresholds(warn: 1 << 30, fail: nil))
    XCTAssertEqual(c.slotHealthPollInterval, .seconds(10))
  }

  func testSizesOffAndThePollInterval() throws {
    let c = try config(
      """
        slot_warn_retained_wal: 512MB
        slot_fail_retained_wal: 2GiB
        slot_health_poll_ms: 2s
      """)
    XCTAssertEqual(c.slotThresholds, SlotThresholds(warn: 512_000_000, fail: 2 << 30))
    XCTAssertEqual(c.slotHealthPollInterval, .seconds(2))
    XCTAssertEqual(
      try config("  slot_warn_retained_wal: off\n  slot_fail_retained_wal: 1048576").slotThresholds,
      SlotThresholds(warn: nil, fail: 1 << 20))
  }

  func testBadValuesAreErrorsAtTheirLine() {
    func error(_ extra: String) -> ConfigError? {
      do {
        _ = try config(extra)
        return nil
      } catch {
        return error as? ConfigError
      }
    }
    let size = error("  slot_warn_retained_wal: lots")
    XCTAssertEqual(size?.line, 7)
    XCTAssertTrue(size?.message.contains("expected a size like 512MB or 2GiB, or off") == true)
    let order = error("  slot_warn_retained_wal: 2GiB\n  slot_fail_retained_wal: 1GiB")
    XCTAssertEqual(order?.line, 8)
    XCTAssertEqual(
      order?.message, "expected at least slot_warn_retained_wal (2.0 GiB), got 1.0 GiB")
    let poll = error("  slot_health_poll_ms: 10")
    XCTAssertEqual(poll?.line, 7)
    XCTAssertTrue(poll?.message.contains("at least 100 ms") == true)
  }

  func testDebeziumFormCarriesTheSlotHealthKeys() throws {
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
        slot.warn.retained.wal=256MiB
        slot.fail.retained.wal=off
        slot.health.poll.interval.ms=500
        """, file: "dbz.properties", interpolation: Interpolation(environment: [:]),
      registry: registry)
    let c = try CDCConfig(definition: definition)
    XCTAssertEqual(c.slotThresholds, SlotThresholds(warn: 256 << 20, fail: nil))
    XCTAssertEqual(c.slotHealthPollInterval, .milliseconds(500))
  }
}
