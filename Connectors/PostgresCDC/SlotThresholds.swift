import SluiceCore

/// `slot_warn_retained_wal` and `slot_fail_retained_wal`: sizes of retained WAL above which
/// the slot's health is DEGRADED and CRITICAL; nil is off.
struct SlotThresholds: Sendable, Equatable {
  var warn: Int64?
  var fail: Int64?

  /// 1 GiB: far above what a streaming slot with heartbeats holds (a few MB between
  /// confirmations), well below a disk's worth, and PostgreSQL's own default `max_wal_size`.
  static let defaultWarn: Int64 = 1 << 30

  init(warn: Int64? = Self.defaultWarn, fail: Int64? = nil) {
    self.warn = warn
    self.fail = fail
  }

  init(_ m: ConfigMapping) throws(ConfigError) {
    warn = try Self.size(m, "slot_warn_retained_wal", default: Self.defaultWarn)
    fail = try Self.size(m, "slot_fail_retained_wal", default: nil)
    if let warn, let fail, fail < warn, let node = m.node("slot_fail_retained_wal") {
      throw node.error(
        "expected at least slot_warn_retained_wal (\(ByteSize.text(warn))), got \(ByteSize.text(fail))"
      )
    }
  }

  /// A size, or `off` (also `0` or `false`) for no threshold.
  private static func size(_ m: ConfigMapping, _ key: String, default value: Int64?)
    throws(ConfigError) -> Int64?
  {
    guard let node = m.node(key) else { return value }
    if let text = try? node.string().trimmingCharacters(in: .whitespaces).lowercased(),
      ["off", "false", "0", "none"].contains(text)
    {
      return nil
    }
    do {
      return try node.bytes()
    } catch {
      throw node.error("expected a size like 512MB or 2GiB, or off, got \(node.kindDescription)")
    }
  }
}
