import ArgumentParser
import Foundation
import SluiceCore

/// `sluice consume TOPIC`: prints records as JSON lines, like kafka-console-consumer.
struct ConsumeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "consume",
    abstract: "Print a topic's records as JSON lines (from a running worker).",
    discussion: """
      Starts at the end of each partition (only new records) unless --from-beginning or \
      --offset is given, like kafka-console-consumer. Without --follow it stops when it has \
      caught up; with --follow it waits for new records until interrupted or --limit is reached.
      """)

  @OptionGroup var options: APIOptions
  @Argument(help: "The topic to read.") var topic: String
  @Flag(help: "Start at the first record still kept.") var fromBeginning = false
  @Option(help: "Start at this offset (needs --partition when the topic has several).") var offset:
    Int64?
  @Option(help: "Read only this partition.") var partition: Int?
  @Flag(help: "Keep waiting for new records.") var follow = false
  @Option(help: "Stop after this many records.") var limit: Int?

  func validate() throws {
    if fromBeginning && offset != nil {
      throw ValidationError("use either --from-beginning or --offset, not both")
    }
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
  }

  func run() async throws {
    let client = try APIClient(options)
    let path = "/topics/\(APIClient.escape(topic))"
    let info = try await client.getJSON(path)
    var next: [Int: Int64] = [:]
    for p in info["partitions"]?.array ?? [] {
      guard let id = p["partition"]?.integer.map({ Int($0) }), partition == nil || partition == id
      else { continue }
      let start = p["start_offset"]?.integer ?? 0
      let end = p["end_offset"]?.integer ?? 0
      next[id] = offset ?? (fromBeginning ? start : end)
    }
    guard !next.isEmpty else {
      throw Failure("topic '\(topic)' has no partition \(partition ?? 0)")
    }
    if offset != nil && next.count > 1 {
      throw Failure("--offset needs --partition: topic '\(topic)' has \(next.count) partitions")
    }

    var printed = 0
    while true {
      var gotAny = false
      for id in next.keys.sorted() {
        let remaining = limit.map { $0 - printed } ?? 1000
        if remaining <= 0 { return }
        let wait = follow && next.count == 1 ? 1000 : 0
        let query =
          "?partition=\(id)&offset=\(next[id]!)&limit=\(min(remaining, 1000))&wait_ms=\(wait)&format=jsonl"
        let data = try await client.get("\(path)/records\(query)")
        let lines = data.split(separator: UInt8(ascii: "\n"))
        guard !lines.isEmpty else { continue }
        gotAny = true
        FileHandle.standardOutput.write(data)
        printed += lines.count
        let last = JSONValue.parse(Array(lines.last!))
        next[id] = (last?["offset"]?.integer ?? next[id]! + Int64(lines.count) - 1) + 1
      }
      if !gotAny {
        if !follow { return }
        if next.count > 1 { try await Task.sleep(for: .milliseconds(200)) }
      }
    }
  }
}

/// `sluice produce TOPIC`: sends each line of stdin as one record, like kafka-console-producer.
struct ProduceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "produce",
    abstract: "Send lines from stdin to a topic, one record per line (through a running worker).",
    discussion: """
      Each line becomes a record's value (JSON lines are kept as JSON). With --key-separator, \
      the text before the first separator is the key. A record is acknowledged only when it is \
      durable; the command exits non-zero on the first error.
      """)

  @OptionGroup var options: APIOptions
  @Argument(help: "The topic to write (created with the worker's default partitions if new).")
  var topic: String
  @Option(help: "Split each line into key and value at the first occurrence of this text.")
  var keySeparator: String?
  @Option(help: "Write to this partition instead of choosing by key.") var partition: Int?

  func run() async throws {
    let client = try APIClient(options)
    let path = "/topics/\(APIClient.escape(topic))/records"
    // Interactive use sends each line at once; piped input is sent in batches.
    let batchSize = isatty(0) != 0 ? 1 : 500
    var batch: [JSONValue] = []
    var sent = 0
    func flush() async throws {
      guard !batch.isEmpty else { return }
      let body = JSONValue.object(["records": .array(batch)]).jsonBytes
      _ = try await client.post(path, json: Data(body))
      sent += batch.count
      batch.removeAll()
    }
    while let line = readLine(strippingNewline: true) {
      var record = JSONObject()
      var value = Substring(line)
      if let keySeparator, let range = line.range(of: keySeparator) {
        record["key"] = .string(String(line[..<range.lowerBound]))
        value = line[range.upperBound...]
      }
      record["value"] = .string(String(value))
      if let partition { record["partition"] = .int(Int64(partition)) }
      batch.append(.object(record))
      if batch.count >= batchSize { try await flush() }
    }
    try await flush()
    FileHandle.standardError.writeLine("\(sent) record\(sent == 1 ? "" : "s") sent to \(topic)")
  }
}
