/// Appends the Kafka protocol's primitive types, big-endian, to a byte array: the encoding side
/// of ``KafkaReader``.
///
/// Lengths that do not fit their prefix (a STRING over 32767 UTF-8 bytes) are clamped, and only
/// that many bytes are written, so a frame stays well-formed; the messages a broker writes never
/// come near those limits.
public struct KafkaWriter: Sendable {
  /// The bytes written so far.
  public private(set) var bytes: [UInt8]

  /// An empty writer; `capacity` reserves room up front.
  public init(capacity: Int = 0) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  /// How many bytes have been written.
  public var count: Int { bytes.count }

  // MARK: - Length prefixes

  /// Writes a placeholder INT32 and returns where it is, for ``patchLengthPrefix(at:)`` once
  /// the bytes it measures have been written.
  public mutating func reserveLengthPrefix() -> Int {
    let position = bytes.count
    writeInt32(0)
    return position
  }

  /// Sets the INT32 at `position` (from ``reserveLengthPrefix()``) to the number of bytes
  /// written after it.
  public mutating func patchLengthPrefix(at position: Int) {
    let length = Int32(clamping: bytes.count - position - 4)
    for index in 0..<4 {
      bytes[position + index] = UInt8(truncatingIfNeeded: length >> Int32(24 - 8 * index))
    }
  }

  // MARK: - Fixed-width values

  @inline(__always)
  mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
    var shift = T.bitWidth - 8
    while shift >= 0 {
      bytes.append(UInt8(truncatingIfNeeded: value >> T(shift)))
      shift -= 8
    }
  }

  /// Appends raw bytes with no length prefix.
  public mutating func writeRawBytes(_ raw: some Collection<UInt8>) {
    bytes.append(contentsOf: raw)
  }

  /// Writes an INT8.
  public mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
  /// Writes an INT16.
  public mutating func writeInt16(_ value: Int16) { writeBigEndian(value) }
  /// Writes an INT32.
  public mutating func writeInt32(_ value: Int32) { writeBigEndian(value) }
  /// Writes an INT64.
  public mutating func writeInt64(_ value: Int64) { writeBigEndian(value) }
  /// Writes a UINT16.
  public mutating func writeUInt16(_ value: UInt16) { writeBigEndian(value) }
  /// Writes a UINT32.
  public mutating func writeUInt32(_ value: UInt32) { writeBigEndian(value) }
  /// Writes a FLOAT64.
  public mutating func writeFloat64(_ value: Double) { writeBigEndian(value.bitPattern) }
  /// Writes a BOOLEAN.
  public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

  /// Writes a UUID.
  public mutating func writeUUID(_ value: KafkaUUID) {
    writeBigEndian(value.mostSignificantBits)
    writeBigEndian(value.leastSignificantBits)
  }

  // MARK: - Variable-length integers

  /// Writes an UNSIGNED_VARINT.
  public mutating func writeUnsignedVarint(_ value: UInt32) { writeVarintBits(UInt64(value)) }

  /// Writes a VARINT (zigzag).
  public mutating func writeVarint(_ value: Int32) {
    writeVarintBits(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
  }

  /// Writes a VARLONG (zigzag).
  public mutating func writeVarlong(_ value: Int64) {
    writeVarintBits(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
  }

  mutating func writeVarintBits(_ value: UInt64) {
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  // MARK: - Counts

  /// Writes an INT32 array count, -1 for `nil`.
  public mutating func writeArrayCount(_ count: Int?) {
    writeInt32(count.map { Int32(clamping: $0) } ?? -1)
  }

  /// Writes a compact array count (N+1, 0 for `nil`).
  public mutating func writeCompactArrayCount(_ count: Int?) {
    writeUnsignedVarint(count.map { UInt32(clamping: $0 + 1) } ?? 0)
  }

  /// Writes an array (`nil` as a null array) with `element` writing each element.
  public mutating func writeArray<Element>(
    _ array: [Element]?, compact: Bool, _ element: (inout KafkaWriter, Element) -> Void
  ) {
    if compact { writeCompactArrayCount(array?.count) } else { writeArrayCount(array?.count) }
    for item in array ?? [] { element(&self, item) }
  }

  // MARK: - Strings

  /// Writes a STRING, or a NULLABLE_STRING's -1 for `nil`.
  public mutating func writeString(_ value: String?) {
    guard let value else { return writeInt16(-1) }
    let utf8 = value.utf8.prefix(Int(Int16.max))
    writeInt16(Int16(utf8.count))
    bytes.append(contentsOf: utf8)
  }

  /// Writes a COMPACT_STRING, or a COMPACT_NULLABLE_STRING's 0 for `nil`.
  public mutating func writeCompactString(_ value: String?) {
    guard let value else { return writeUnsignedVarint(0) }
    let utf8 = value.utf8.prefix(Int(Int32.max) - 1)
    writeUnsignedVarint(UInt32(utf8.count + 1))
    bytes.append(contentsOf: utf8)
  }

  // MARK: - Bytes and records

  /// Writes BYTES, or NULLABLE_BYTES' -1 for `nil` (RECORDS too).
  public mutating func writeBytes(_ value: [UInt8]?) {
    guard let value else { return writeInt32(-1) }
    writeInt32(Int32(clamping: value.count))
    bytes.append(contentsOf: value.prefix(Int(Int32.max)))
  }

  /// Writes COMPACT_BYTES, or COMPACT_NULLABLE_BYTES' 0 for `nil` (compact RECORDS too).
  public mutating func writeCompactBytes(_ value: [UInt8]?) {
    guard let value else { return writeUnsignedVarint(0) }
    let count = min(value.count, Int(Int32.max) - 1)
    writeUnsignedVarint(UInt32(count + 1))
    bytes.append(contentsOf: value.prefix(count))
  }

  // MARK: - Tagged fields

  /// Writes a tagged-field section: the fields of `tagged` in ascending tag order.
  public mutating func writeTaggedFields(_ tagged: KafkaTaggedFields) {
    let fields = tagged.fields.sorted { $0.tag < $1.tag }
    writeUnsignedVarint(UInt32(fields.count))
    for field in fields {
      writeUnsignedVarint(field.tag)
      writeUnsignedVarint(UInt32(field.bytes.count))
      bytes.append(contentsOf: field.bytes)
    }
  }
}

/// The tagged fields of one struct in a flexible version, collected before they are written by
/// ``KafkaWriter/writeTaggedFields(_:)`` (each one's size precedes its bytes).
public struct KafkaTaggedFields: Sendable {
  /// Each field's tag and encoded value.
  public private(set) var fields: [(tag: UInt32, bytes: [UInt8])] = []

  public init() {}

  /// Adds the field `tag`, whose value `body` writes.
  public mutating func add(tag: UInt32, _ body: (inout KafkaWriter) -> Void) {
    var writer = KafkaWriter()
    body(&writer)
    fields.append((tag, writer.bytes))
  }
}
