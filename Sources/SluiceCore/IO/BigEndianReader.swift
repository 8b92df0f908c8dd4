/// Bytes that do not follow the format being read: a message or stored batch that ends early,
/// a string without its terminator, or (from the decoders on top) a value out of place.
public struct MalformedBytes: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Reads the big-endian wire formats Sluice decodes (Kafka's RecordBatch and the PostgreSQL
/// replication protocol): fixed-width integers, zig-zag varints, length-prefixed and
/// NUL-terminated fields. Input can be anything, so reading past the end throws
/// ``MalformedBytes`` rather than trapping, and lengths read from the input are checked against
/// what remains before any arithmetic that could overflow.
///
/// Generic over where the bytes are so both callers read in place: the log over
/// `UnsafeRawBufferPointer` (mapped or decompressed batches), the CDC source over an
/// `ArraySlice<UInt8>` it keeps (`take` hands out slices of it). `position` is an index of
/// `bytes`, which for a slice need not start at 0.
public struct BigEndianReader<Bytes: RandomAccessCollection>
where Bytes.Element == UInt8, Bytes.Index == Int {
  public let bytes: Bytes
  public var position: Int

  @inlinable
  public init(_ bytes: Bytes) {
    self.bytes = bytes
    self.position = bytes.startIndex
  }

  /// Bytes not read yet.
  @inlinable public var remaining: Int { bytes.endIndex - position }

  @inlinable public var isAtEnd: Bool { position >= bytes.endIndex }

  @inlinable
  public mutating func byte() throws(MalformedBytes) -> UInt8 {
    guard position < bytes.endIndex else { throw Self.endsEarly }
    defer { position += 1 }
    return bytes[position]
  }

  @inlinable
  public mutating func int8() throws(MalformedBytes) -> Int8 { Int8(bitPattern: try byte()) }
  @inlinable
  public mutating func uint16() throws(MalformedBytes) -> UInt16 { try bigEndian(UInt16.self) }
  @inlinable
  public mutating func uint32() throws(MalformedBytes) -> UInt32 { try bigEndian(UInt32.self) }
  @inlinable
  public mutating func int32() throws(MalformedBytes) -> Int32 { try bigEndian(Int32.self) }
  @inlinable
  public mutating func uint64() throws(MalformedBytes) -> UInt64 { try bigEndian(UInt64.self) }
  @inlinable
  public mutating func int64() throws(MalformedBytes) -> Int64 { try bigEndian(Int64.self) }

  /// A big-endian integer of up to 8 bytes.
  @inlinable
  public mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws(MalformedBytes) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw Self.endsEarly }
    var value: UInt64 = 0
    for i in position..<(position + size) { value = value << 8 | UInt64(bytes[i]) }
    position += size
    return T(truncatingIfNeeded: value)
  }

  /// A zig-zag varint (Kafka's `varint`/`varlong`).
  @inlinable
  public mutating func varint() throws(MalformedBytes) -> Int64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < bytes.endIndex, shift < 64 else { throw Self.endsEarly }
      let b = bytes[position]
      position += 1
      result |= UInt64(b & 0x7f) << shift
      if b & 0x80 == 0 { break }
      shift += 7
    }
    return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
  }

  /// The next `count` bytes, in place.
  @inlinable
  public mutating func take(_ count: Int) throws(MalformedBytes) -> Bytes.SubSequence {
    // `count <= remaining`, not `position + count <= endIndex`: a stored length near Int.max
    // must be an error, not an overflow trap.
    guard count >= 0, count <= remaining else { throw Self.endsEarly }
    defer { position += count }
    return bytes[position..<(position + count)]
  }

  /// The next `count` bytes, copied.
  @inlinable
  public mutating func bytes(_ count: Int) throws(MalformedBytes) -> [UInt8] {
    [UInt8](try take(count))
  }

  /// Varint-length-prefixed bytes (Kafka's record fields); length -1 is nil.
  @inlinable
  public mutating func lengthPrefixed() throws(MalformedBytes) -> [UInt8]? {
    let length = try varint()
    if length < 0 { return nil }
    guard length <= Int64(remaining) else { throw Self.endsEarly }
    return try bytes(Int(length))
  }

  @inlinable
  public mutating func skip(_ count: Int) throws(MalformedBytes) {
    guard count >= 0, count <= remaining else { throw Self.endsEarly }
    position += count
  }

  /// A NUL-terminated string.
  @inlinable
  public mutating func cString() throws(MalformedBytes) -> String {
    guard let end = bytes[position...].firstIndex(of: 0) else {
      throw MalformedBytes("string without terminator")
    }
    defer { position = end + 1 }
    return String(decoding: bytes[position..<end], as: UTF8.self)
  }

  /// Everything not read yet, in place.
  @inlinable
  public mutating func rest() -> Bytes.SubSequence {
    defer { position = bytes.endIndex }
    return bytes[position...]
  }

  @usableFromInline static var endsEarly: MalformedBytes { MalformedBytes("message ends early") }
}

extension BigEndianReader where Bytes == ArraySlice<UInt8> {
  @inlinable
  public init(_ bytes: [UInt8]) { self.init(bytes[...]) }
}
