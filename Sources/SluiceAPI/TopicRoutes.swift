import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// `GET /topics`, `GET /topics/{topic}`, `GET /topics/{topic}/offsets`,
  /// `GET /topics/{topic}/records`, `POST /topics/{topic}/records`.
  func addTopicRoutes(to router: Router<BasicRequestContext>) {
    router.get("/topics") { _, _ -> Response in
      let topics = try await store.describeTopics().map(TopicSummary.init)
      return try jsonResponse(encoding: topics)
    }
    router.get("/topics/:topic") { _, context -> Response in
      let topic = try context.parameters.requireDecoded("topic")
      guard let description = try await store.describeTopics().first(where: { $0.name == topic })
      else {
        throw APIError(.notFound, "topic '\(topic)' not found")
      }
      return try jsonResponse(encoding: TopicSummary(description))
    }
    router.get("/topics/:topic/offsets") { request, context -> Response in
      try await offsetsForTimestamp(request, topic: try context.parameters.requireDecoded("topic"))
    }
    router.get("/topics/:topic/records") { request, context -> Response in
      try await readRecords(request, topic: try context.parameters.requireDecoded("topic"))
    }
    router.post("/topics/:topic/records") { request, context -> Response in
      try await produceRecords(
        request, topic: try context.parameters.requireDecoded("topic"), context: context)
    }
  }

  /// Reads up to `limit` records of one partition from `offset` (default: the start), waiting
  /// up to `wait_ms` for new ones when there are none yet (a long poll, for `consume --follow`).
  private func readRecords(_ request: Request, topic: String) async throws -> Response {
    let query = request.uri.queryParameters
    let partition = try integer(
      query["partition"].map(String.init), name: "partition", default: 0, range: 0...Int(Int32.max))
    let limit = try integer(
      query["limit"].map(String.init), name: "limit", default: 100, range: 1...10_000)
    let waitMs = try integer(
      query["wait_ms"].map(String.init), name: "wait_ms", default: 0, range: 0...60_000)
    // A name no topic can have is not asked of the store (a Kafka cluster would be sent it).
    guard TopicName.problem(with: topic) == nil,
      let count = try await store.partitionCount(of: topic)
    else {
      throw APIError(.notFound, "topic '\(topic)' not found")
    }
    guard partition < count else {
      throw APIError(.notFound, "topic '\(topic)' has no partition \(partition) (it has \(count))")
    }
    let tp = TopicPartition(topic, partition)
    let bounds = try await store.offsets(of: tp)
    let offset = Int64(
      try integer(
        query["offset"].map(String.init), name: "offset", default: Int(bounds.start),
        range: 0...Int.max))
    if offset < bounds.start {
      throw APIError(
        .rangeNotSatisfiable,
        "offset \(offset) is no longer kept in \(tp); readable offsets start at \(bounds.start)")
    }
    let consumer = try await store.makeConsumer(group: nil, member: "admin-api")
    await consumer.assign([tp])
    await consumer.seek(tp, to: offset)
    let records = try await consumer.poll(
      maxRecords: limit, maxBytes: 8 << 20, timeout: .milliseconds(waitMs)
    ).records
    await consumer.close()
    // `format=jsonl` gives one record per line (what `sluice consume` prints); else an array.
    if query["format"] == "jsonl" {
      var body = ""
      for record in records { body += RecordJSON.line(for: record) + "\n" }
      return Response(
        status: .ok, headers: [.contentType: "application/x-ndjson"],
        body: .init(byteBuffer: ByteBuffer(string: body)))
    }
    var body = "["
    for (i, record) in records.enumerated() {
      if i > 0 { body += ",\n" }
      body += RecordJSON.line(for: record)
    }
    body += "]\n"
    return jsonResponse(body)
  }

  /// Each partition's (or `partition`'s) first offset whose record's timestamp is at or after
  /// `timestamp` (milliseconds), beside its start and end: what `sluice replay --to-time` moves
  /// a sink to. `offset` is null where every record kept is older.
  private func offsetsForTimestamp(_ request: Request, topic: String) async throws -> Response {
    let query = request.uri.queryParameters
    guard let text = query["timestamp"].map(String.init) else {
      throw APIError(
        .badRequest, "query parameter 'timestamp' (milliseconds since the epoch) is required")
    }
    let timestamp = Int64(try integer(text, name: "timestamp", default: 0, range: 0...Int.max))
    guard TopicName.problem(with: topic) == nil,
      let count = try await store.partitionCount(of: topic)
    else {
      throw APIError(.notFound, "topic '\(topic)' not found")
    }
    var partitions = Array(0..<count)
    if let asked = query["partition"].map(String.init) {
      let partition = try integer(asked, name: "partition", default: 0, range: 0...Int(Int32.max))
      guard partition < count else {
        throw APIError(
          .notFound, "topic '\(topic)' has no partition \(partition) (it has \(count))")
      }
      partitions = [partition]
    }
    var answer = TimestampOffsets(topic: topic, timestamp: timestamp, partitions: [])
    for partition in partitions {
      let tp = TopicPartition(topic, partition)
      let bounds = try await store.offsets(of: tp)
      let found = try await store.firstOffset(in: tp, atOrAfter: timestamp)
      answer.partitions.append(
        .init(partition: partition, offset: found, startOffset: bounds.start, endOffset: bounds.end)
      )
    }
    return try jsonResponse(encoding: answer)
  }

  /// Appends records given as `{"records":[{"key","value","partition","headers"}]}` (or a bare
  /// array) and answers `{"offsets":[{"partition","offset"}]}` once they are durable.
  private func produceRecords(_ request: Request, topic: String, context: BasicRequestContext)
    async throws -> Response
  {
    if let problem = TopicName.problem(with: topic) {
      throw APIError(.badRequest, "invalid topic name '\(topic)': \(problem)")
    }
    let body = try await self.body(of: request)
    let records = try ProduceRequest.parse(Array(body.readableBytesView), topic: topic)
    guard !records.isEmpty else { throw APIError(.badRequest, "no records given") }
    let placed = try await Producer(store: store).send(records)
    let offsets = placed.map { ProducedOffset(partition: $0.partition, offset: $0.offset) }
    return try jsonResponse(encoding: ["offsets": offsets])
  }

  private func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>)
    throws -> Int
  {
    guard let text else { return value }
    guard let number = Int(text), range.contains(number) else {
      throw APIError(
        .badRequest,
        "query parameter '\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'"
      )
    }
    return number
  }
}

struct TopicSummary: Encodable {
  struct Partition: Encodable {
    var partition: Int
    var startOffset: Int64
    var endOffset: Int64

    enum CodingKeys: String, CodingKey {
      case partition
      case startOffset = "start_offset"
      case endOffset = "end_offset"
    }
  }

  var name: String
  var partitions: [Partition]

  init(_ description: TopicDescription) {
    name = description.name
    partitions = description.partitions.enumerated().map {
      Partition(partition: $0.offset, startOffset: $0.element.start, endOffset: $0.element.end)
    }
  }
}

struct ProducedOffset: Encodable {
  var partition: Int
  var offset: Int64
}

/// The answer of `GET /topics/{topic}/offsets?timestamp=`.
struct TimestampOffsets: Encodable {
  struct Partition: Encodable {
    var partition: Int
    /// The first record at or after the timestamp; nil (written as null) when all are older.
    var offset: Int64?
    var startOffset: Int64
    var endOffset: Int64

    enum CodingKeys: String, CodingKey {
      case partition, offset
      case startOffset = "start_offset"
      case endOffset = "end_offset"
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(partition, forKey: .partition)
      try container.encode(offset, forKey: .offset)
      try container.encode(startOffset, forKey: .startOffset)
      try container.encode(endOffset, forKey: .endOffset)
    }
  }

  var topic: String
  var timestamp: Int64
  var partitions: [Partition]
}
