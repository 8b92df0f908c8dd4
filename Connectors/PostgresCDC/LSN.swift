import SluiceCore

/// A PostgreSQL write-ahead-log position (`pg_lsn`), printed as PostgreSQL does: `16/B374D848`.
struct LSN: Sendable, Hashable, Comparable, CustomStringConvertible {
  var value: UInt64

  init(_ value: UInt64) { self.value = value }

  /// Parses PostgreSQL's `XXX/XXX` form.
  init?(_ text: String) {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let high = UInt32(parts[0], radix: 16),
      let low = UInt32(parts[1], radix: 16)
    else { return nil }
    value = UInt64(high) << 32 | UInt64(low)
  }

  static let zero = LSN(0)

  static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }

  var description: String {
    String(value >> 32, radix: 16, uppercase: true) + "/"
      + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
  }
}

/// A change's place in the stream as a ``SourcePosition``: the commit LSN of its transaction,
/// then its index inside the transaction, both fixed-width hexadecimal (`CCCCCCCCCCCCCCCC-IIIIIIII`),
/// so byte order is commit order, which is the order the slot replays changes in. After a
/// replay moved the connector back, the text starts with its ``PositionGeneration`` prefix, so
/// changes streamed again sort after those written before.
struct ChangePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
  var commitLSN: LSN
  var index: UInt32
  /// 0 until the connector's offsets are first moved back (``PositionGeneration``).
  var generation: UInt32

  init(commitLSN: LSN, index: UInt32, generation: UInt32 = 0) {
    self.commitLSN = commitLSN
    self.index = index
    self.generation = generation
  }

  init?(_ position: SourcePosition) {
    guard let (generation, text) = PositionGeneration.split(Substring(position.text)) else {
      return nil
    }
    let parts = text.split(separator: "-")
    guard parts.count == 2, parts[0].count == 16, parts[1].count == 8,
      let lsn = UInt64(parts[0], radix: 16), let index = UInt32(parts[1], radix: 16)
    else { return nil }
    self.init(commitLSN: LSN(lsn), index: index, generation: generation)
  }

  /// The same text as `SourcePosition.hex(commitLSN) + "-" + SourcePosition.hex(index, width: 8)`,
  /// written in one go: every change record has one.
  var sourcePosition: SourcePosition {
    let digits: StaticString = "0123456789ABCDEF"
    let text = String(unsafeUninitializedCapacity: 25) { buffer in
      digits.withUTF8Buffer { hex in
        for i in 0..<16 {
          buffer[i] = hex[Int(truncatingIfNeeded: commitLSN.value >> UInt64(60 - 4 * i)) & 15]
        }
        buffer[16] = UInt8(ascii: "-")
        for i in 0..<8 {
          buffer[17 + i] = hex[Int(truncatingIfNeeded: index >> UInt32(28 - 4 * i)) & 15]
        }
      }
      return 25
    }
    if generation != 0 { return SourcePosition(PositionGeneration.prefix(generation) + text) }
    return SourcePosition(text)
  }

  static func < (a: Self, b: Self) -> Bool {
    (a.generation, a.commitLSN, a.index) < (b.generation, b.commitLSN, b.index)
  }

  var description: String {
    generation == 0 ? "\(commitLSN)#\(index)" : "\(commitLSN)#\(index) (generation \(generation))"
  }
}
