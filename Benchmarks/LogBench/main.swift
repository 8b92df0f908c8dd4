// sluice-log-bench: appends fixed-size records to the embedded log from concurrent producers
// (one partition each, fsync: batch) and reads them back; prints machine-readable figures.
import Foundation
import SluiceLog

struct Options {
  var directory = ""
  var records = 262_144
  var recordBytes = 1024
  var batchRecords = 256
  var producers = 4
  /// Partitions of the topic; producer `i` appends to partition `i % partitions`. Defaults to
  /// one per producer (the workload); fewer models many clients of one partition (the
  /// webhook source: every request its own append).
  var partitions: Int?
  /// Appends each producer keeps in flight (Kafka producers allow up to 5).
  var inFlight = 1

  init(_ arguments: [String]) {
    var i = 1
    while i + 1 < arguments.count {
      let value = arguments[i + 1]
      switch arguments[i] {
      case "--dir": directory = value
      case "--records": records = Int(value)!
      case "--record-bytes": recordBytes = Int(value)!
      case "--batch-records": batchRecords = Int(value)!
      case "--producers": producers = Int(value)!
      case "--partitions": partitions = Int(value)!
      case "--in-flight": inFlight = Int(value)!
      default: fatalError("unknown option \(arguments[i])")
      }
      i += 2
    }
    precondition(!directory.isEmpty, "--dir is required")
  }
}

let options = Options(CommandLine.arguments)
let log = try EmbeddedLog(
  directory: options.directory, configuration: LogConfiguration(fsync: .batch))
let partitionCount = options.partitions ?? options.producers
try log.createTopic("bench", partitions: partitionCount)
let value = [UInt8](repeating: 0x61, count: options.recordBytes)
let perProducer = options.records / options.producers
let batch = (0..<options.batchRecords).map { _ in
  LogRecord(timestamp: 1_700_000_000_000, key: nil, value: value)
}

/// CPU seconds (user + system) this process has used so far.
func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func minorFaults() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_minflt
}

let appendFaultsStart = minorFaults()
let appendCPUStart = cpuSeconds()
let appendStart = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
  for p in 0..<options.producers {
    group.addTask {
      // Up to `inFlight` appends at once per producer, like a Kafka producer's pipeline.
      let batches = (perProducer + options.batchRecords - 1) / options.batchRecords
      try await withThrowingTaskGroup(of: Void.self) { pipeline in
        for b in 0..<batches {
          if b >= options.inFlight { try await pipeline.next() }
          let n = min(options.batchRecords, perProducer - b * options.batchRecords)
          let records = n == batch.count ? batch : Array(batch.prefix(n))
          pipeline.addTask {
            _ = try await log.append(records, topic: "bench", partition: p % partitionCount)
          }
        }
        try await pipeline.waitForAll()
      }
    }
  }
  try await group.waitForAll()
}
let appendSeconds = (ContinuousClock.now - appendStart) / .seconds(1)
let appendCPU = cpuSeconds() - appendCPUStart
let appendFaults = minorFaults() - appendFaultsStart
let totalBytes = Double(perProducer * options.producers * options.recordBytes)

let readFaultsStart = minorFaults()
let readCPUStart = cpuSeconds()
let readStart = ContinuousClock.now
var readRecords = 0
for p in 0..<partitionCount {
  var next: Int64 = 0
  while true {
    let records = try log.read(
      topic: "bench", partition: p, from: next, maxRecords: 4096, maxBytes: 8 << 20)
    guard let last = records.last else { break }
    readRecords += records.count
    next = last.offset + 1
  }
}
let readSeconds = (ContinuousClock.now - readStart) / .seconds(1)
let readCPU = cpuSeconds() - readCPUStart
let readFaults = minorFaults() - readFaultsStart
precondition(readRecords == perProducer * options.producers, "read \(readRecords) records")

print(String(format: "append_mb_s=%.1f", totalBytes / appendSeconds / 1e6))
print(String(format: "read_mb_s=%.1f", totalBytes / readSeconds / 1e6))
print(
  String(format: "read_s=%.3f read_cpu_s=%.3f", readSeconds, readCPU), "read_faults=\(readFaults)")
print(
  String(format: "append_s=%.3f append_cpu_s=%.3f", appendSeconds, appendCPU),
  "append_faults=\(appendFaults)")
print("fsyncs=\(log.fsyncCount) batches=\(options.records / options.batchRecords)")
log.close()
