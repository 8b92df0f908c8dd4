/// A Kafka UUID (topic IDs, directory IDs): 16 bytes, written most significant byte first.
/// Kafka's "zero UUID" (``zero``) means "no ID".
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
  /// The first 8 bytes, big-endian.
  public var mostSignificantBits: UInt64
  /// The last 8 bytes, big-endian.
  public var leastSignificantBits: UInt64

  /// The all-zero UUID Kafka uses as "unset".
  public static let zero = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)

  public init(mostSignificantBits: UInt64, leastSignificantBits: UInt64) {
    self.mostSignificantBits = mostSignificantBits
    self.leastSignificantBits = leastSignificantBits
  }

  /// The 16 bytes in wire order.
  public var bytes: [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(16)
    for shift in stride(from: 56, through: 0, by: -8) {
      result.append(UInt8(truncatingIfNeeded: mostSignificantBits >> UInt64(shift)))
    }
    for shift in stride(from: 56, through: 0, by: -8) {
      result.append(UInt8(truncatingIfNeeded: leastSignificantBits >> UInt64(shift)))
    }
    return result
  }

  public var description: String {
    let hex = bytes.map { byte in
      let digits = Array("0123456789abcdef")
      return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
    return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]]
      .map { $0.joined() }.joined(separator: "-")
  }
}
