import SluiceCore

/// `replay_window`: how many bytes of WAL behind the durable point the replication slot keeps
/// decodable, so the connector can be moved back (PATCH its offsets, `sluice replay`) to any
/// LSN inside them.
///
/// PostgreSQL never decodes a logical slot from before its `confirmed_flush_lsn`. Without a
/// window (0, the default) the task confirms each LSN as soon as the records up to it are
/// durable, so nothing the topics hold can be streamed again. With a window the task confirms at
/// most `durable − window`: the slot keeps that much more WAL on disk, and every change inside it
/// can be decoded again.
///
/// A value with no I/O (STYLE.md §1): the task feeds it each durable LSN and sends PostgreSQL
/// what it answers.
struct ReplayWindow: Sendable, Equatable {
  /// The window in bytes of WAL; 0 confirms each durable LSN as it comes.
  var bytes: UInt64
  /// The LSN last confirmed (at first, the slot's `confirmed_flush_lsn`); it never goes back.
  private(set) var confirmed: LSN

  init(bytes: UInt64, confirmed: LSN) {
    self.bytes = bytes
    self.confirmed = confirmed
  }

  /// Everything before `lsn` is durable in the topics: the LSN PostgreSQL may now be told,
  /// `lsn − bytes`, but never before what it was told already (a slot cannot move back, and a
  /// smaller report would only be ignored). Nil when that leaves the confirmed LSN where it is.
  mutating func durable(_ lsn: LSN) -> LSN? {
    let target = LSN(lsn.value > bytes ? lsn.value - bytes : 0)
    guard target > confirmed else { return nil }
    confirmed = target
    return target
  }
}

extension ReplayWindow {
  /// The `replay_window` key: a size like 512MiB, or 0 / off for none.
  static func bytes(_ m: ConfigMapping) throws(ConfigError) -> UInt64 {
    guard let node = m.node("replay_window") else { return 0 }
    if let text = try? node.string().trimmingCharacters(in: .whitespaces).lowercased(),
      ["off", "false", "none"].contains(text)
    {
      return 0
    }
    let size: Int64
    do {
      size = try node.bytes()
    } catch {
      throw node.error(
        "expected a size like 512MiB or 2GiB, or 0 for none, got \(node.kindDescription)")
    }
    guard size >= 0 else {
      throw node.error(
        "expected a size like 512MiB or 2GiB, or 0 for none, got \(node.kindDescription)")
    }
    return UInt64(size)
  }
}
