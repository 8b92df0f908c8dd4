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

  static func varintSize(_ v: Int64) -> Int {
    var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
    var n = 1
    while z >= 0x80 {
      z >>= 7
      n += 1
    }
    return n
  }
}

/// Reads Kafka's wire encodings from a buffer, failing (not trapping) past its end.
struct ByteReader {
  let base: UnsafeRawPointer
  let count: Int
  var position = 0

  init(_ buffer: UnsafeRawBufferPointer) {
    base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    count = buffer.count
  }

  struct Truncated: Error {}

  mutating func int8() throws -> Int8 {
    guard position + 1 <= count else { throw Truncated() }
    defer { position += 1 }
    return Int8(bitPattern: base.load(fromByteOffset: position, as: UInt8.self))
  }

  mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
    let size = MemoryLayout<T>.size
    guard position + size <= count else { throw Truncated() }
    defer { position += size }
    return T(bigEndian: base.loadUnaligned(fromByteOffset: position, as: T.self))
  }

  mutating func varint() throws -> Int64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < count, shift < 64 else { throw Truncated() }
      let b = base.load(fromByteOffset: position, as: UInt8.self)
      position += 1
      result |= UInt64(b & 0x7f) << shift
      if b & 0x80 == 0 { break }
      shift += 7
    }
    return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
  }

  mutating func bytes(_ length: Int) throws -> [UInt8] {
    // `length <= count - position`, not `position + length <= count`: a stored length near
    // Int.max must be an error, not an overflow trap.
    guard length >= 0, length <= count - position else { throw Truncated() }
    defer { position += length }
    return [UInt8](UnsafeRawBufferPointer(start: base + position, count: length))
  }

  mutating func lengthPrefixed() throws -> [UInt8]? {
    let length = try varint()
    if length < 0 { return nil }
    guard length <= Int64(count) else { throw Truncated() }
    return try bytes(Int(length))
  }

  mutating func skip(_ length: Int) throws {
    guard length >= 0, length <= count - position else { throw Truncated() }
    position += length
  }
}
