import Foundation

// Fuzz target `segment-recovery`: bytes as a segment file (and its index) left by a crash,
// opened the way the log opens one after a crash (`Segment.recover`) or after a clean shutdown
// (`Segment.loadClean`), then read back whole (Sources/SluiceLog/Segment.swift).
//
// Input: byte 0 = flags (bit 0: open as clean, bit 1: leave CRCs as they are instead of fixing
// them, so mutations get past the CRC check), bytes 1–2 = length of the index file, then the
// index file, then the log file.

private let directory: String = {
  // tmpfs when there is one: recovery fdatasyncs, and a disk would make that the cost.
  let temporary =
    FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
  let path = temporary + "sluice-fuzz-segment-\(getpid())"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  atexit { try? FileManager.default.removeItem(atPath: directory) }
  return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 3 else { return 0 }
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  let flags = input[0]
  let indexLength = min(Int(input[1]) << 8 | Int(input[2]), size - 3)
  let index = Array(input[3..<(3 + indexLength)])
  var log = Array(input[(3 + indexLength)...])
  if flags & 2 == 0 { fixCRCs(&log) }

  let logPath = directory + "/" + Segment.fileName(0, ".log")
  let indexPath = directory + "/" + Segment.fileName(0, ".index")
  FileManager.default.createFile(atPath: logPath, contents: Data(log))
  FileManager.default.createFile(atPath: indexPath, contents: Data(index))

  do {
    // A pool of one descriptor, so the segment's files are closed and reopened as it works.
    let segment = try Segment(
      directory: directory, baseOffset: 0, indexIntervalBytes: 64, files: DescriptorPool(limit: 1))
    if flags & 1 != 0 {
      try segment.loadClean()
    } else {
      _ = try segment.recover()
    }
    // Recovery kept only whole, CRC-valid, consecutive batches: they must all read back.
    var records: [StoredLogRecord] = []
    var bytesRead = 0
    _ = try segment.read(
      from: 0, below: .max, segmentEnd: segment.size, limit: 100_000, maxBytes: 1 << 20,
      into: &records, bytesRead: &bytesRead)
    // A read from the middle, through the index, as a consumer at an offset does.
    if segment.nextOffset > 1 {
      var tail: [StoredLogRecord] = []
      bytesRead = 0
      _ = try segment.read(
        from: segment.nextOffset / 2, below: segment.nextOffset, segmentEnd: segment.size,
        limit: 10, maxBytes: 256, into: &tail, bytesRead: &bytesRead)
    }
  } catch {
    // Refusing a corrupt segment, or records that do not decode, is an answer; only a trap is
    // a bug.
  }
  return 0
}

/// Writes the right CRC-32C into every batch header that parses, so that mutated records reach
/// the decoder instead of stopping at the CRC check.
private func fixCRCs(_ log: inout [UInt8]) {
  log.withUnsafeMutableBytes { raw in
    var position = 0
    while position + RecordBatch.headerSize <= raw.count,
      let header = RecordBatch.header(UnsafeRawBufferPointer(rebasing: raw[position...])),
      header.size <= raw.count - position
    {
      let crc = CRC32C.checksum(
        UnsafeRawBufferPointer(
          rebasing: raw[(position + RecordBatch.attributesOffset)..<(position + header.size)]))
      raw.storeBytes(
        of: crc.bigEndian, toByteOffset: position + RecordBatch.crcOffset, as: UInt32.self)
      position += header.size
    }
  }
}
