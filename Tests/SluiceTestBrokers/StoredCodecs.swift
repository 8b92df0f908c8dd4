import Foundation

/// The codec bits (0 none … 4 zstd) of every batch in the segment files of an embedded log's
/// partition folder (`<data_dir>/log/topics/<topic>/<partition>`), in order: what was written,
/// as it lies on disk.
public func storedBatchCodecs(in folder: URL) throws -> [Int] {
  var codecs: [Int] = []
  for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
  where name.hasSuffix(".log") {
    let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    var at = 0
    // baseOffset i64 | batchLength i32 | leaderEpoch i32 | magic i8 | crc u32 | attributes i16
    while at + 23 <= bytes.count {
      let length = bytes[(at + 8)..<(at + 12)].reduce(0) { $0 << 8 | Int($1) }
      guard length > 0, at + 12 + length <= bytes.count else { break }
      codecs.append(Int(bytes[at + 22] & 0x07))
      at += 12 + length
    }
  }
  return codecs
}
