import CRC32C

/// CRC-32C (Castagnoli), RecordBatch v2's checksum: the CPU's instruction through the CRC32C
/// C target where there is one, else a byte-wise table.
enum CRC32CChecksum {
  private static let hardware = sluice_crc32c_hardware_available() != 0

  private static let table: [UInt32] = (0..<256).map { index in
    var crc = UInt32(index)
    for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    return crc
  }

  static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard bytes.count > 0 else { return 0 }
    if hardware { return sluice_crc32c_hardware(0, bytes.baseAddress, bytes.count) }
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }
}
