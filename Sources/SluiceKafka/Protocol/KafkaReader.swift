/// A cursor over the bytes of one Kafka message (a frame body, or a part of it) that reads the
/// protocol's primitive types big-endian, as the schemas define them.
///
/// Every read checks the bytes that remain first and throws a ``KafkaDecodingError`` naming the
/// field: a truncated or hostile frame is an error, never a trap, and no length or count is
/// trusted before it is compared with what remains (so nothing is allocated for it).
public struct KafkaReader: Sendable {
  /// The bytes read from; the reader only looks at `position..<end`.
  @usableFromInline let bytes: [UInt8]
  /// The offset of the next byte to read.
  public private(set) var position: Int
  /// One past the last byte this reader may read.
  public let end: Int

  /// A reader over all of `bytes`.
  public init(_ bytes: [UInt8]) {
    self.bytes = bytes
    self.position = 0
    self.end = bytes.count
  }

  /// A reader over a copy of `buffer`.
  public init(_ buffer: UnsafeRawBufferPointer) {
    self.init(Array(buffer))
  }

  init(bytes: [UInt8], position: Int, end: Int) {
    self.bytes = bytes
    self.position = position
    self.end = end
  }

  /// How many bytes are left to read.
  public var remaining: Int { end - position }

  /// Whether every byte has been read.
  public var isAtEnd: Bool { position >= end }

  /// The bytes not yet read, without consuming them.
  public var remainingBytes: [UInt8] { Array(bytes[position..<end]) }

  func error(_ field: String, _ reason: KafkaDecodingError.Reason) -> KafkaDecodingError {
    KafkaDecodingError(field: field, offset: position, reason: reason)
  }

  mutating func require(_ count: Int, _ field: String) throws(KafkaDecodingError) {
    if count > remaining {
      throw error(field, .truncated(needed: count, remaining: remaining))
    }
  }

  /// Reads `count` raw bytes.
  public mutating func readRawBytes(_ count: Int, field: String) throws(KafkaDecodingError)
    -> [UInt8]
  {
    guard count >= 0 else { throw error(field, .invalidLength(Int64(count))) }
    try require(count, field)
    let result = Array(bytes[position..<position + count])
    position += count
    return result
  }

  /// Skips `count` bytes.
  public mutating func skip(_ count: Int, field: String) throws(KafkaDecodingError) {
    guard count >= 0 else { throw error(field, .invalidLength(Int64(count))) }
    try require(count, field)
    position += count
  }

  /// A reader over the next `count` bytes, which this reader then skips.
  public mutating func readSubReader(_ count: Int, field: String) throws(KafkaDecodingError)
    -> KafkaReader
  {
    guard count >= 0 else { throw error(field, .invalidLength(Int64(count))) }
    try require(count, field)
    let sub = KafkaReader(bytes: bytes, position: position, end: position + count)
    position += count
    return sub
  }

  // MARK: - Fixed-width integers

  @inline(__always)
  mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type, _ field: String)
    throws(KafkaDecodingError) -> T
  {
    let size = MemoryLayout<T>.size
    try require(size, field)
    var value: T = 0
    for index in position..<position + size {
      value = (value << 8) | T(truncatingIfNeeded: bytes[index])
    }
    position += size
    return value
  }

  /// Reads an INT8.
  public mutating func readInt8(field: String) throws(KafkaDecodingError) -> Int8 {
    try readBigEndian(Int8.self, field)
  }

  /// Reads an INT16.
  public mutating func readInt16(field: String) throws(KafkaDecodingError) -> Int16 {
    try readBigEndian(Int16.self, field)
  }

  /// Reads an INT32.
  public mutating func readInt32(field: String) throws(KafkaDecodingError) -> Int32 {
    try readBigEndian(Int32.self, field)
  }

  /// Reads an INT64.
  public mutating func readInt64(field: String) throws(KafkaDecodingError) -> Int64 {
    try readBigEndian(Int64.self, field)
  }

  /// Reads a UINT16.
  public mutating func readUInt16(field: String) throws(KafkaDecodingError) -> UInt16 {
    try readBigEndian(UInt16.self, field)
  }

  /// Reads a UINT32.
  public mutating func readUInt32(field: String) throws(KafkaDecodingError) -> UInt32 {
    try readBigEndian(UInt32.self, field)
  }

  /// Reads a FLOAT64 (an IEEE 754 double, big-endian).
  public mutating func readFloat64(field: String) throws(KafkaDecodingError) -> Double {
    Double(bitPattern: try readBigEndian(UInt64.self, field))
  }

  /// Reads a BOOLEAN: 0 is false, 1 is true, anything else is an error.
  public mutating func readBool(field: String) throws(KafkaDecodingError) -> Bool {
    let start = position
    switch try readBigEndian(UInt8.self, field) {
    case 0: return false
    case 1: return true
    case let other:
      throw KafkaDecodingError(
        field: field, offset: start, reason: .invalidValue("bool byte \(other)"))
    }
  }

  /// Reads a UUID (16 bytes).
  public mutating func readUUID(field: String) throws(KafkaDecodingError) -> KafkaUUID {
    try require(16, field)
    let high = try readBigEndian(UInt64.self, field)
    let low = try readBigEndian(UInt64.self, field)
    return KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
  }

  // MARK: - Variable-length integers

  /// Reads an UNSIGNED_VARINT (at most 5 bytes, little-endian groups of 7 bits).
  public mutating func readUnsignedVarint(field: String) throws(KafkaDecodingError) -> UInt32 {
    UInt32(truncatingIfNeeded: try readVarintBits(maxBytes: 5, field))
  }

  /// Reads a VARINT (a zigzag-encoded INT32).
  public mutating func readVarint(field: String) throws(KafkaDecodingError) -> Int32 {
    let raw = UInt32(truncatingIfNeeded: try readVarintBits(maxBytes: 5, field))
    return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
  }

  /// Reads a VARLONG (a zigzag-encoded INT64).
  public mutating func readVarlong(field: String) throws(KafkaDecodingError) -> Int64 {
    let raw = try readVarintBits(maxBytes: 10, field)
    return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
  }

  mutating func readVarintBits(maxBytes: Int, _ field: String) throws(KafkaDecodingError) -> UInt64
  {
    let start = position
    var value: UInt64 = 0
    var shift: UInt64 = 0
    for _ in 0..<maxBytes {
      guard position < end else {
        throw KafkaDecodingError(
          field: field, offset: start, reason: .truncated(needed: 1, remaining: 0))
      }
      let byte = bytes[position]
      position += 1
      value |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 { return value }
      shift += 7
    }
    throw KafkaDecodingError(field: field, offset: start, reason: .varintTooLong)
  }

  // MARK: - Lengths and counts

  /// Checks a decoded length (`-1` meaning null where `nullable`) against the remaining bytes.
  mutating func checkedLength(_ length: Int64, nullable: Bool, _ field: String, start: Int)
    throws(KafkaDecodingError) -> Int?
  {
    if length == -1 && nullable { return nil }
    guard length >= 0 else {
      throw KafkaDecodingError(field: field, offset: start, reason: .invalidLength(length))
    }
    guard length <= Int64(remaining) else {
      throw KafkaDecodingError(
        field: field, offset: start,
        reason: .lengthExceedsRemaining(length: length, remaining: remaining))
    }
    return Int(length)
  }

  /// Reads an INT32 array count; `nil` is a null array (-1).
  public mutating func readArrayCount(field: String, nullable: Bool) throws(KafkaDecodingError)
    -> Int?
  {
    let start = position
    let count = try readInt32(field: field)
    return try checkedLength(Int64(count), nullable: nullable, field, start: start)
  }

  /// Reads an UNSIGNED_VARINT compact array count (N+1, 0 meaning null).
  public mutating func readCompactArrayCount(field: String, nullable: Bool)
    throws(KafkaDecodingError) -> Int?
  {
    let start = position
    let count = Int64(try readUnsignedVarint(field: field)) - 1
    return try checkedLength(count, nullable: nullable, field, start: start)
  }

  /// Reads an array whose elements `element` reads; `nil` for a null array.
  public mutating func readArray<Element>(
    field: String, compact: Bool, nullable: Bool,
    _ element: (inout KafkaReader) throws(KafkaDecodingError) -> Element
  ) throws(KafkaDecodingError) -> [Element]? {
    let count =
      compact
      ? try readCompactArrayCount(field: field, nullable: nullable)
      : try readArrayCount(field: field, nullable: nullable)
    guard let count else { return nil }
    var result: [Element] = []
    // The count is bounded by the remaining bytes, but an element can take far more memory than
    // its encoding; reserve only a little up front and let the array grow with what is read.
    result.reserveCapacity(Swift.min(count, 256))
    for _ in 0..<count { result.append(try element(&self)) }
    return result
  }

  // MARK: - Strings

  mutating func readUTF8(_ count: Int, _ field: String) throws(KafkaDecodingError) -> String {
    let start = position
    let raw = try readRawBytes(count, field: field)
    guard let string = String(validating: raw, as: UTF8.self) else {
      throw KafkaDecodingError(field: field, offset: start, reason: .invalidUTF8)
    }
    return string
  }

  /// Reads a STRING (INT16 length) or, with `nullable`, a NULLABLE_STRING (`nil` for -1).
  public mutating func readString(field: String, nullable: Bool) throws(KafkaDecodingError)
    -> String?
  {
    let start = position
    let length = Int64(try readInt16(field: field))
    guard let count = try checkedLength(length, nullable: nullable, field, start: start) else {
      return nil
    }
    return try readUTF8(count, field)
  }

  /// Reads a COMPACT_STRING (UNSIGNED_VARINT N+1) or, with `nullable`, a COMPACT_NULLABLE_STRING.
  public mutating func readCompactString(field: String, nullable: Bool) throws(KafkaDecodingError)
    -> String?
  {
    let start = position
    let length = Int64(try readUnsignedVarint(field: field)) - 1
    guard let count = try checkedLength(length, nullable: nullable, field, start: start) else {
      return nil
    }
    return try readUTF8(count, field)
  }

  /// Reads a non-null STRING.
  public mutating func readString(field: String) throws(KafkaDecodingError) -> String {
    try readString(field: field, nullable: false) ?? ""
  }

  /// Reads a non-null COMPACT_STRING.
  public mutating func readCompactString(field: String) throws(KafkaDecodingError) -> String {
    try readCompactString(field: field, nullable: false) ?? ""
  }

  // MARK: - Bytes and records

  /// Reads BYTES (INT32 length) or, with `nullable`, NULLABLE_BYTES and RECORDS (`nil` for -1).
  public mutating func readBytes(field: String, nullable: Bool) throws(KafkaDecodingError)
    -> [UInt8]?
  {
    let start = position
    let length = Int64(try readInt32(field: field))
    guard let count = try checkedLength(length, nullable: nullable, field, start: start) else {
      return nil
    }
    return try readRawBytes(count, field: field)
  }

  /// Reads COMPACT_BYTES (UNSIGNED_VARINT N+1) or, with `nullable`, COMPACT_NULLABLE_BYTES and
  /// compact RECORDS.
  public mutating func readCompactBytes(field: String, nullable: Bool) throws(KafkaDecodingError)
    -> [UInt8]?
  {
    let start = position
    let length = Int64(try readUnsignedVarint(field: field)) - 1
    guard let count = try checkedLength(length, nullable: nullable, field, start: start) else {
      return nil
    }
    return try readRawBytes(count, field: field)
  }

  // MARK: - Tagged fields

  /// Reads a tagged-field section (flexible versions): an UNSIGNED_VARINT count, then per field
  /// its tag, its size and its bytes. `body` is handed each field's tag and a reader over exactly
  /// its bytes; tags it does not know it ignores, so unknown fields are skipped safely.
  public mutating func readTaggedFields(
    field: String, _ body: (UInt32, inout KafkaReader) throws(KafkaDecodingError) -> Void
  ) throws(KafkaDecodingError) {
    let start = position
    let count = try readUnsignedVarint(field: field)
    // Every tagged field takes at least two bytes (its tag and its size).
    guard Int64(count) * 2 <= Int64(remaining) else {
      throw KafkaDecodingError(
        field: field, offset: start,
        reason: .lengthExceedsRemaining(length: Int64(count), remaining: remaining))
    }
    for _ in 0..<count {
      let tag = try readUnsignedVarint(field: field)
      let size = try readUnsignedVarint(field: field)
      var fieldReader = try readSubReader(Int(size), field: field)
      try body(tag, &fieldReader)
    }
  }
}
