/// Where a source is in its upstream: a file's byte offset, a PostgreSQL LSN, a broker sequence.
///
/// The connector defines the text; the runtime only compares positions, by their UTF-8 bytes.
/// Connectors therefore write positions so that later ones sort after earlier ones, typically
/// with fixed-width digits (`"00000000016B3748"` for an LSN). The runtime uses the order to drop,
/// after a crash, records whose position is not past the last one durably in their partition.
///
/// Text after the first ``stateSeparator`` (`|`) is the connector's own state (a snapshot's
/// progress, say): it comes back in ``SourceTaskContext/committedPosition`` but is not compared,
/// so the same record with or without state sorts the same.
public struct SourcePosition: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
  public var text: String

  public init(_ text: String) { self.text = text }

  /// Separates the compared part of a position from state that rides along.
  public static let stateSeparator = UInt8(ascii: "|")

  public static func < (a: Self, b: Self) -> Bool {
    // The runtime compares a position per record it writes: bytes, not Characters, read in
    // place (a native string's own storage; a copy made contiguous only for a bridged one).
    if let ordered = a.text.utf8.withContiguousStorageIfAvailable({ x in
      b.text.utf8.withContiguousStorageIfAvailable { y in isOrdered(x, y) }
    }), let ordered {
      return ordered
    }
    return isOrdered(Array(a.text.utf8)[...], Array(b.text.utf8)[...])
  }

  private static func isOrdered<Bytes: RandomAccessCollection<UInt8>>(_ x: Bytes, _ y: Bytes)
    -> Bool where Bytes.Index == Int
  {
    let (x0, y0) = (x.startIndex, y.startIndex)
    let n = min(x.count, y.count)
    var i = 0
    while i < n {
      let (p, q) = (x[x0 + i], y[y0 + i])
      if p == stateSeparator || q == stateSeparator {
        return p == stateSeparator && q != stateSeparator
      }
      if p != q { return p < q }
      i += 1
    }
    // One is a prefix of the other (up to its state): shorter sorts first, unless the rest of
    // the longer one is only state.
    return x.count < y.count && y[y0 + n] != stateSeparator
  }

  public var description: String { text }

  /// Fixed-width hexadecimal, so the text order equals the numeric order.
  public static func hex(_ value: UInt64, width: Int = 16) -> String {
    let count = max(width, (64 - value.leadingZeroBitCount + 3) / 4)
    return String(unsafeUninitializedCapacity: count) { buffer in
      var rest = value
      for i in stride(from: count - 1, through: 0, by: -1) {
        let digit = UInt8(truncatingIfNeeded: rest & 0xF)
        buffer[i] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "A") + digit - 10
        rest >>= 4
      }
      return count
    }
  }
}

/// A record a source task hands to the runtime: where it goes and the upstream position it came
/// from. The runtime chooses the partition (when `partition` is nil) and the offset.
public struct SourceRecord: Sendable, Hashable {
  public var topic: String
  /// Nil: Kafka's default partitioner decides (murmur2 of the key, round-robin without a key).
  public var partition: Int?
  public var key: [UInt8]?
  public var value: [UInt8]?
  public var headers: [RecordHeader]
  public var timestamp: Int64
  /// Nil for sources whose events have no order (webhooks dedupe by idempotency key instead).
  public var position: SourcePosition?

  public init(
    topic: String, partition: Int? = nil, key: [UInt8]?, value: [UInt8]?,
    headers: [RecordHeader] = [],
    timestamp: Int64 = currentTimeMillis(), position: SourcePosition?
  ) {
    self.topic = topic
    self.partition = partition
    self.key = key
    self.value = value
    self.headers = headers
    self.timestamp = timestamp
    self.position = position
  }
}
