import Foundation
import SluiceCore

/// Records whose order must be kept relative to each other: those of one key of a partition
/// (`ordering: key`), or all of a partition (`ordering: partition`).
struct OrderKey: Hashable, Sendable {
  var partition: TopicPartition
  var key: [UInt8]? = nil
}

/// One HTTP request and the records it carries (one, or a batch from one partition in offset
/// order), or why it cannot be made (a template without a value).
struct Delivery: Sendable {
  var records: [Record]
  var url: String
  var headers: [String]
  var body: [UInt8]
  var orderKeys: [OrderKey]
  /// Set when the request cannot be built; the records go to the DLQ or fail the task at once.
  var problem: String?
}

/// Turns a `put` batch into requests as the config says: one per record, or batches of
/// contiguous records of one partition, bounded by `max_records` and `max_bytes`.
struct DeliveryPlanner: Sendable {
  let config: HTTPSinkConfig
  /// Header lines that are the same for every request, built once.
  private let fixedLines: [String]
  private let idempotencyPrefix: String

  init(config: HTTPSinkConfig) {
    self.config = config
    let contentType =
      config.contentType
      ?? (config.batch?.format == .ndjson ? "application/x-ndjson" : "application/json")
    var fixed = ["Content-Type: \(contentType)"]
    for (name, template) in config.headers where template.isLiteral {
      fixed.append("\(name): \(template.text)")
    }
    fixedLines = fixed
    idempotencyPrefix = "Idempotency-Key: \(config.name):"
  }

  func plan(_ records: [Record]) -> [Delivery] {
    guard let batch = config.batch else { return records.map { single($0) } }
    // The runner's batch holds each partition's records in offset order; keep that order.
    var byPartition: [TopicPartition: [Record]] = [:]
    var order: [TopicPartition] = []
    for record in records {
      if byPartition[record.topicPartition] == nil { order.append(record.topicPartition) }
      byPartition[record.topicPartition, default: []].append(record)
    }
    var deliveries: [Delivery] = []
    for tp in order {
      var chunk: [Record] = []
      var bytes = 0
      for record in byPartition[tp]! {
        let size = (record.value?.count ?? 4) + 1
        if !chunk.isEmpty && (chunk.count >= batch.maxRecords || bytes + size > batch.maxBytes) {
          deliveries.append(batched(chunk, format: batch.format))
          chunk = []
          bytes = 0
        }
        chunk.append(record)
        bytes += size
      }
      if !chunk.isEmpty { deliveries.append(batched(chunk, format: batch.format)) }
    }
    return deliveries
  }

  private func single(_ record: Record) -> Delivery {
    let body = bodyBytes(record)
    var delivery = Delivery(
      records: [record], url: "", headers: [], body: body, orderKeys: orderKeys(record))
    do throws(RenderError) {
      let document = { () -> JSONValue? in record.value.flatMap(JSONValue.parse) }
      delivery.url = try config.url.render(record, value: document())
      delivery.headers = try headers(for: record, body: body, document: document)
    } catch {
      delivery.problem = error.message
    }
    return delivery
  }

  private func batched(_ records: [Record], format: HTTPSinkConfig.BatchFormat) -> Delivery {
    var body: [UInt8] = []
    body.reserveCapacity(records.reduce(2) { $0 + ($1.value?.count ?? 4) + 1 })
    if format == .jsonArray { body.append(UInt8(ascii: "[")) }
    for (i, record) in records.enumerated() {
      if i > 0 && format == .jsonArray { body.append(UInt8(ascii: ",")) }
      body += bodyBytes(record, oneLine: format == .ndjson)
      if format == .ndjson { body.append(UInt8(ascii: "\n")) }
    }
    if format == .jsonArray { body.append(UInt8(ascii: "]")) }
    let keys =
      config.ordering == .partition
      ? [OrderKey(partition: records[0].topicPartition)]
      : Array(Set(records.flatMap(orderKeys)))
    var delivery = Delivery(records: records, url: "", headers: [], body: body, orderKeys: keys)
    do throws(RenderError) {
      // In batch mode templates use only {topic} and {partition}: the first record decides.
      delivery.url = try config.url.render(records[0], value: nil)
      delivery.headers = try headers(for: records[0], body: body, document: { nil })
    } catch {
      delivery.problem = error.message
    }
    return delivery
  }

  private func headers(for record: Record, body: [UInt8], document: () -> JSONValue?)
    throws(RenderError) -> [String]
  {
    var lines = fixedLines
    lines.reserveCapacity(fixedLines.count + config.headers.count + 2)
    // `<connector>:<topic>:<partition>:<first offset>`: the same for the same records across
    // retries and restarts, so a receiver that honours it applies each record once.
    lines.append("\(idempotencyPrefix)\(record.topic):\(record.partition):\(record.offset)")
    for (name, template) in config.headers where !template.isLiteral {
      lines.append("\(name): \(try template.render(record, value: document()))")
    }
    if let auth = config.auth.header(for: body) { lines.append(auth) }
    return lines
  }

  /// With `ordering: key` a record without a key has no order to keep.
  private func orderKeys(_ record: Record) -> [OrderKey] {
    if config.ordering == .partition { return [OrderKey(partition: record.topicPartition)] }
    guard let key = record.key else { return [] }
    return [OrderKey(partition: record.topicPartition, key: key)]
  }

  /// The value as JSON (valid JSON as it is, other UTF-8 as a string, other bytes as base64
  /// in a string, no value as null), or the record envelope of `sluice consume`.
  private func bodyBytes(_ record: Record, oneLine: Bool = false) -> [UInt8] {
    if config.body == .envelope { return RecordJSON.bytes(for: record) }
    guard let value = record.value else { return Array("null".utf8) }
    if JSONValidator.isValid(value) {
      guard oneLine, value.contains(where: { $0 == 10 || $0 == 13 }) else { return value }
      // Newlines between JSON tokens are whitespace; NDJSON needs each record on one line.
      return value.map { $0 == 10 || $0 == 13 ? 32 : $0 }
    }
    var out = JSONWriter(capacity: value.count + 2)
    if String(validating: value, as: UTF8.self) != nil {
      out.string(utf8: value)
    } else {
      out.string(Data(value).base64EncodedString())
    }
    return out.bytes
  }
}
