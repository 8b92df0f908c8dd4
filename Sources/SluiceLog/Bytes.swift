/// Appends Kafka's wire encodings (big-endian integers, zig-zag varints) to a byte array.
struct ByteWriter {
  var bytes: [UInt8] = []

  init(capacity: Int) { bytes.reserveCapacity(capacity) }

  /// Writes into `buffer` (emptied first), keeping its storage if it is large enough.
  init(reusing buffer: consuming [UInt8], capacity: Int) {
    // `consume`: a copy would leave the storage shared, and emptying it would then allocate.
    bytes = consume buffer
    bytes.removeAll(keepingCapacity: true)
    bytes.reserveCapacity(capacity)
  }

  mutating func int8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
  mutating func int16(_ v: Int16) { append(bigEndian: UInt16(bitPattern: v)) }
  mutating func int32(_ v: Int32) { append(bigEndian: UInt32(bitPattern: v)) }
  mutating func int64(_ v: Int64) { append(bigEndian: UInt64(bitPattern: v)) }

  mutating func append<T: FixedWidthInteger>(bigEndian value: T) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }

  /// Zig-zag varint (Kafka's `varint`/`varlong`).
  mutating func varint(_ v: Int64) {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    while z >= 0x80 {
      bytes.append(UInt8(z & 0x7f) | 0x80)
      z >>= 7
    }
    bytes.append(UInt8(z))
  }

  /// Length-prefixed bytes; nil is length -1.
  mutating func lengthPrefixed(_ data: [UInt8]?) {
    guard let data else { return varint(-1) }
    varint(Int64(data.count))
    bytes.append(contentsOf: data)
  }
}
