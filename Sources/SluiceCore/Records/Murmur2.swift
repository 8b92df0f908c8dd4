/// Kafka's 32-bit murmur2 hash, as `org.apache.kafka.common.utils.Utils.murmur2` computes it
/// (seed 0x9747b28c), so that Sluice assigns keys to the same partitions as a Kafka producer.
public enum Murmur2 {
  public static func hash<Bytes: Collection>(_ data: Bytes) -> Int32 where Bytes.Element == UInt8 {
    let bytes = Array(data)
    let length = bytes.count
    let m: UInt32 = 0x5bd1_e995
    let r: UInt32 = 24
    var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)

    let fullWords = length / 4
    for i in 0..<fullWords {
      let j = i * 4
      var k =
        UInt32(bytes[j]) | UInt32(bytes[j + 1]) << 8 | UInt32(bytes[j + 2]) << 16
        | UInt32(bytes[j + 3]) << 24
      k &*= m
      k ^= k >> r
      k &*= m
      h &*= m
      h ^= k
    }

    // The tail: Kafka's switch falls through from 3 to 1.
    let tail = fullWords * 4
    let remaining = length % 4
    if remaining >= 3 { h ^= UInt32(bytes[tail + 2]) << 16 }
    if remaining >= 2 { h ^= UInt32(bytes[tail + 1]) << 8 }
    if remaining >= 1 {
      h ^= UInt32(bytes[tail])
      h &*= m
    }

    h ^= h >> 13
    h &*= m
    h ^= h >> 15
    return Int32(bitPattern: h)
  }

  /// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on Int32.min).
  public static func toPositive(_ value: Int32) -> Int32 {
    value & 0x7fff_ffff
  }
}
