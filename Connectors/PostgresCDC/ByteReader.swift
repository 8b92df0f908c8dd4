import SluiceCore

/// The reader of replication and pgoutput messages: SluiceCore's, over the slice of a
/// CopyData message it decodes in place.
typealias ByteReader = BigEndianReader<ArraySlice<UInt8>>

/// A replication or pgoutput message that does not follow the protocol.
typealias ProtocolError = MalformedBytes

/// Appends big-endian integers to a byte buffer, for the messages Sluice sends.
extension [UInt8] {
  mutating func appendBigEndian(_ value: UInt64) {
    for shift in stride(from: 56, through: 0, by: -8) {
      append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
  }
}
