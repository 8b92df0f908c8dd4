import Foundation

// Writes the seeds of the `record-batch` and `segment-recovery` targets with the log's own
// encoder: `Fuzz/SeedTools/make-log-seeds.sh` compiles it with Sources/SluiceLog's batch files.

@main
struct LogSeeds {
  static func main() throws {
    let root = CommandLine.arguments[1]
    func record(_ i: Int, size: Int = 20, headers: Int = 1) -> LogRecord {
      LogRecord(
        timestamp: 1_700_000_000_000 + Int64(i),
        key: i % 3 == 0 ? nil : Array("key-\(i)".utf8),
        value: i % 5 == 4 ? nil : Array(repeating: UInt8(ascii: "a") + UInt8(i % 26), count: size),
        headers: (0..<headers).map { LogHeader(name: "h\($0)", value: $0 == 1 ? nil : [UInt8(i)]) })
    }
    /// A batch placed at `base`, as a segment stores it.
    func batch(_ records: [LogRecord], base: Int64) -> [UInt8] {
      var bytes = RecordBatch.encode(records)
      withUnsafeBytes(of: base.bigEndian) { bytes.replaceSubrange(0..<8, with: $0) }
      return bytes
    }
    func write(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
      let dir = "\(root)/\(target)"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
    }

    // record-batch: single batches and runs of them.
    try write("record-batch", "one-record", batch([record(1)], base: 0))
    try write("record-batch", "three-records", batch((0..<3).map { record($0) }, base: 0))
    try write(
      "record-batch", "headers-and-nulls",
      batch((0..<5).map { record($0, size: 3, headers: 3) }, base: 42))
    try write("record-batch", "large-value", batch([record(7, size: 3000)], base: 1 << 40))
    try write("record-batch", "empty-value", batch([record(8, size: 0, headers: 0)], base: 0))
    let run =
      batch([record(0), record(1)], base: 0) + batch([record(2)], base: 2)
      + batch((3..<6).map { record($0) }, base: 3)
    try write("record-batch", "three-batches", run)

    // segment-recovery: flags, 2-byte index length, index, log.
    func segment(flags: UInt8, index: [UInt8], log: [UInt8]) -> [UInt8] {
      [flags, UInt8(index.count >> 8), UInt8(index.count & 0xff)] + index + log
    }
    func indexEntry(_ relative: UInt32, _ position: UInt32) -> [UInt8] {
      withUnsafeBytes(of: relative.bigEndian) { Array($0) }
        + withUnsafeBytes(of: position.bigEndian) { Array($0) }
    }
    var log: [UInt8] = []
    var entries: [UInt8] = []
    var offset: Int64 = 0
    for n in 1...6 {
      entries += indexEntry(UInt32(offset), UInt32(log.count))
      log += batch((0..<n).map { record(Int(offset) + $0, size: 10 * n) }, base: offset)
      offset += Int64(n)
    }
    try write("segment-recovery", "recover-six-batches", segment(flags: 0, index: [], log: log))
    try write("segment-recovery", "clean-with-index", segment(flags: 1, index: entries, log: log))
    try write(
      "segment-recovery", "torn-tail", segment(flags: 0, index: [], log: Array(log.dropLast(17))))
    var damaged = log
    damaged[100] ^= 0xff
    try write(
      "segment-recovery", "damaged-then-intact", segment(flags: 2, index: [], log: damaged))
    try write(
      "segment-recovery", "zeros-at-tail",
      segment(flags: 0, index: [], log: log + [UInt8](repeating: 0, count: 300)))
  }
}
