/// Reads big-endian integers and NUL-terminated strings from a message's bytes, throwing on
/// truncated input rather than trapping, so a malformed message cannot crash the worker.
///
/// It reads a slice in place (a CopyData message's payload), so decoding copies nothing but
/// what it returns; indexes are the slice's own, as Swift's slices keep their base's.
struct ByteReader {
  let bytes: ArraySlice<UInt8>
  private(set) var index: Int

  init(_ bytes: ArraySlice<UInt8>) {
    self.bytes = bytes
    self.index = bytes.startIndex
  }

  init(_ bytes: [UInt8]) { self.init(bytes[...]) }

  var isAtEnd: Bool { index >= bytes.endIndex }

  /// Bytes not read yet.
  var remaining: Int { bytes.endIndex - index }

  mutating func byte() throws(ProtocolError) -> UInt8 {
    guard index < bytes.endIndex else { throw ProtocolError("message ends early") }
    defer { index += 1 }
    return bytes[index]
  }

  mutating func uint16() throws(ProtocolError) -> UInt16 { UInt16(try fixed(2)) }
  mutating func uint32() throws(ProtocolError) -> UInt32 { UInt32(try fixed(4)) }
  mutating func int32() throws(ProtocolError) -> Int32 { Int32(bitPattern: try uint32()) }
  mutating func uint64() throws(ProtocolError) -> UInt64 { try fixed(8) }
  mutating func int64() throws(ProtocolError) -> Int64 { Int64(bitPattern: try uint64()) }

  private mutating func fixed(_ size: Int) throws(ProtocolError) -> UInt64 {
    guard bytes.endIndex - index >= size else { throw ProtocolError("message ends early") }
    var value: UInt64 = 0
    for i in index..<(index + size) { value = value << 8 | UInt64(bytes[i]) }
    index += size
    return value
  }

  /// A NUL-terminated string.
  mutating func cString() throws(ProtocolError) -> String {
    guard let end = bytes[index...].firstIndex(of: 0) else {
      throw ProtocolError("string without terminator")
    }
    defer { index = end + 1 }
    return String(decoding: bytes[index..<end], as: UTF8.self)
  }

  /// The next `count` bytes.
  mutating func take(_ count: Int) throws(ProtocolError) -> ArraySlice<UInt8> {
    guard count >= 0, bytes.endIndex - index >= count else {
      throw ProtocolError("message ends early")
    }
    defer { index += count }
    return bytes[index..<(index + count)]
  }

  /// Everything not read yet.
  mutating func rest() -> ArraySlice<UInt8> {
    defer { index = bytes.endIndex }
    return bytes[index...]
  }
}

/// A replication or pgoutput message that does not follow the protocol.
struct ProtocolError: Error, CustomStringConvertible, Sendable {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Appends big-endian integers to a byte buffer, for the messages Sluice sends.
extension [UInt8] {
  mutating func appendBigEndian(_ value: UInt64) {
    for shift in stride(from: 56, through: 0, by: -8) {
      append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
  }
}
