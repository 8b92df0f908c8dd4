import Foundation
import SluiceCore

/// LSN text and the bits of JSON `sluice replay` reads for a CDC source.
enum CDCReplayLSN {
  /// PostgreSQL's `XXX/XXX` form.
  static func parse(_ text: String) -> UInt64? {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let high = UInt32(parts[0], radix: 16),
      let low = UInt32(parts[1], radix: 16)
    else { return nil }
    return UInt64(high) << 32 | UInt64(low)
  }

  static func text(_ lsn: UInt64) -> String {
    String(lsn >> 32, radix: 16, uppercase: true) + "/"
      + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
  }

  /// Whether a `replay_window` value keeps any WAL: set, and not 0 or off.
  static func isWindow(_ text: String?) -> Bool {
    guard let text = text?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty,
      !["off", "false", "none"].contains(text)
    else { return false }
    let digits = text.prefix { $0.isNumber || $0 == "." }
    return (Double(digits) ?? 1) > 0
  }

  /// `source.lsn` of a Debezium change event's value as `GET /topics/{t}/records` shows it.
  static func sourceLSN(ofValue value: JSONValue?) -> UInt64? {
    guard let lsn = value?["source"]?["lsn"]?.integer, lsn >= 0 else { return nil }
    return UInt64(lsn)
  }
}
