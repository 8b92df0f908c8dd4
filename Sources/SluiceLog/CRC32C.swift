import CRC32C

/// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2: the CPU's crc32 instruction
/// where there is one (x86-64 SSE4.2), else slicing-by-8 tables.
enum CRC32C {
  static let hardware = sluice_crc32c_hardware_available() != 0

  private static let tables: [[UInt32]] = {
    var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
      tables[0][i] = c
    }
    for i in 0..<256 {
      for t in 1..<8 {
        let previous = tables[t - 1][i]
        tables[t][i] = (previous >> 8) ^ tables[0][Int(previous & 0xff)]
      }
    }
    return tables
  }()

  /// One flat table (8 × 256) so the hot loop indexes a single buffer.
  private static let flat: [UInt32] = tables.flatMap { $0 }

  /// The checksum of `bytes`; with `continuing`, of the bytes summed before (whose checksum
  /// it is) followed by these, so a long run can be summed piece by piece.
  static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32
  {
    guard bytes.count > 0 else { return previous }
    if hardware { return sluice_crc32c_hardware(previous, bytes.baseAddress, bytes.count) }
    return software(bytes, continuing: previous)
  }

  /// The table-driven version (also the reference the tests compare the hardware one with).
  static func software(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32
  {
    guard bytes.count > 0 else { return previous }
    return flat.withUnsafeBufferPointer { t in
      var crc: UInt32 = ~previous
      var p = bytes.baseAddress!
      var count = bytes.count
      while count >= 8 {
        let word = p.loadUnaligned(as: UInt64.self).littleEndian
        let low = UInt32(truncatingIfNeeded: word) ^ crc
        let high = UInt32(truncatingIfNeeded: word >> 32)
        crc =
          t[7 * 256 + Int(low & 0xff)] ^ t[6 * 256 + Int((low >> 8) & 0xff)]
          ^ t[5 * 256 + Int((low >> 16) & 0xff)] ^ t[4 * 256 + Int(low >> 24)]
          ^ t[3 * 256 + Int(high & 0xff)] ^ t[2 * 256 + Int((high >> 8) & 0xff)]
          ^ t[1 * 256 + Int((high >> 16) & 0xff)] ^ t[Int(high >> 24)]
        p += 8
        count -= 8
      }
      while count > 0 {
        crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
        p += 1
        count -= 1
      }
      return crc ^ 0xFFFF_FFFF
    }
  }

  static func checksum(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { checksum($0) }
  }
}
