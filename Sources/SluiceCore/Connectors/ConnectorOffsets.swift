// MARK: - A connector's offsets as Kafka Connect's REST API shows them (KIP-875)

/// One partition's offset: `{"partition": {…}, "offset": {…}}`, each map shaped by the
/// connector type (a file source: `{"filename": …}` → `{"position": …}`; a sink:
/// `{"kafka_topic", "kafka_partition"}` → `{"kafka_offset": …}`). In a PATCH, `"offset": null`
/// removes the partition's offset.
public struct ConnectorOffset: Sendable, Codable, Equatable {
  public var partition: [String: JSONValue]
  public var offset: [String: JSONValue]?

  public init(partition: [String: JSONValue], offset: [String: JSONValue]?) {
    self.partition = partition
    self.offset = offset
  }

  enum CodingKeys: String, CodingKey { case partition, offset }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    guard
      let partition = try container.decodeIfPresent([String: JSONValue].self, forKey: .partition)
    else {
      throw DecodingError.keyNotFound(
        CodingKeys.partition,
        .init(
          codingPath: container.codingPath,
          debugDescription: "every entry needs a \"partition\" object"))
    }
    self.partition = partition
    offset = try container.decodeIfPresent([String: JSONValue].self, forKey: .offset)
  }

  /// `"offset": null` is written out, as Kafka Connect does, not left away.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(partition, forKey: .partition)
    if let offset {
      try container.encode(offset, forKey: .offset)
    } else {
      try container.encodeNil(forKey: .offset)
    }
  }
}

/// The body of `GET /connectors/{c}/offsets` and of a PATCH: `{"offsets": [...]}`.
public struct ConnectorOffsets: Sendable, Codable, Equatable {
  public var offsets: [ConnectorOffset]

  public init(offsets: [ConnectorOffset]) { self.offsets = offsets }
}

/// Offsets a connector cannot take as given (a partition it does not have, an LSN PostgreSQL
/// cannot go back to): the admin API answers 400 with this message.
public struct ConnectorOffsetsError: Error, CustomStringConvertible, Sendable {
  public var message: String

  public init(_ message: String) { self.message = message }

  public var description: String { message }
}

/// What becomes of a source's committed position when its offsets are altered or reset.
public enum SourceOffsetChange: Sendable, Equatable {
  /// The committed position stays (the connector moved its upstream instead: a CDC slot).
  case keep
  /// This position is committed; the next task resumes after it.
  case commit(SourcePosition)
  /// No position is committed any more: the next task starts as a new connector would.
  case clear
}

// MARK: - Defaults

extension SourceConnector {
  /// The runtime's committed position as one offset without a partition:
  /// `{"partition": {}, "offset": {"position": "<text>"}}`; nothing when none is committed.
  public func offsets(committed: SourcePosition?) async throws -> [ConnectorOffset] {
    guard let committed else { return [] }
    return [ConnectorOffset(partition: [:], offset: ["position": .string(committed.text)])]
  }

  /// Takes the shape ``offsets(committed:)`` shows: one entry, partition `{}`, offset
  /// `{"position": "<text>"}` (committed as given) or null (cleared).
  public func alterOffsets(_ offsets: [ConnectorOffset], committed: SourcePosition?) async throws
    -> SourceOffsetChange
  {
    let entry = try SourceOffsetShape.single(offsets, partition: [:])
    guard let offset = entry.offset else { return .clear }
    guard offset.count == 1, let text = offset["position"]?.string else {
      throw ConnectorOffsetsError(
        "this connector's offset is {\"position\": \"<text>\"}, got \(JSONValue.object(JSONObject(offset)).jsonText)"
      )
    }
    return .commit(SourcePosition(text))
  }

  /// Forgets the committed position: the connector starts as a new one would.
  public func resetOffsets(committed: SourcePosition?) async throws -> SourceOffsetChange {
    .clear
  }
}

extension SinkConnector {
  /// A sink without offsets of its own: the consumer group's apply.
  public func storedOffsets(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
  {
    [:]
  }

  /// A sink without offsets of its own has nothing to change downstream.
  public func alterOffsets(_ offsets: [TopicPartition: Int64?]) async throws {}
}

/// Checks shared by connectors whose offsets have one fixed partition.
public enum SourceOffsetShape {
  /// The one entry of a PATCH for a connector with one partition, which must be `partition`.
  public static func single(_ offsets: [ConnectorOffset], partition: [String: JSONValue]) throws
    -> ConnectorOffset
  {
    guard offsets.count == 1, let entry = offsets.first else {
      throw ConnectorOffsetsError(
        "this connector has one partition, \(JSONValue.object(JSONObject(partition)).jsonText); got \(offsets.count) entries"
      )
    }
    guard entry.partition == partition else {
      throw ConnectorOffsetsError(
        "this connector's partition is \(JSONValue.object(JSONObject(partition)).jsonText), got \(JSONValue.object(JSONObject(entry.partition)).jsonText)"
      )
    }
    return entry
  }
}

// MARK: - Sinks: Kafka Connect's topic-partition shape

/// A sink's offsets in Kafka Connect's shape:
/// `{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 42}}`,
/// the offset being the next record to deliver.
public enum SinkOffsetShape {
  public static let topicKey = "kafka_topic"
  public static let partitionKey = "kafka_partition"
  public static let offsetKey = "kafka_offset"

  /// One entry per partition, sorted by topic and partition.
  public static func entries(_ offsets: [TopicPartition: Int64]) -> [ConnectorOffset] {
    offsets.sorted { $0.key < $1.key }.map { tp, offset in
      ConnectorOffset(
        partition: [topicKey: .string(tp.topic), partitionKey: .int(Int64(tp.partition))],
        offset: [offsetKey: .int(offset)])
    }
  }

  /// The partitions and next offsets of a PATCH body (nil: remove that partition's offset).
  public static func parse(_ offsets: [ConnectorOffset]) throws -> [TopicPartition: Int64?] {
    var result: [TopicPartition: Int64?] = [:]
    for entry in offsets {
      let shown = JSONValue.object(JSONObject(entry.partition)).jsonText
      guard let topic = entry.partition[topicKey]?.string, !topic.isEmpty else {
        throw ConnectorOffsetsError(
          "a sink's partition needs \"\(topicKey)\" (a topic name), got \(shown)")
      }
      guard let partition = entry.partition[partitionKey]?.integer else {
        throw ConnectorOffsetsError(
          "a sink's partition needs \"\(partitionKey)\" (an integer), got \(shown)")
      }
      guard partition >= 0, partition <= Int64(Int32.max) else {
        throw ConnectorOffsetsError("kafka_partition must not be negative, got \(partition)")
      }
      if let unknown = entry.partition.keys.first(where: { $0 != topicKey && $0 != partitionKey }) {
        throw ConnectorOffsetsError("unknown key \"\(unknown)\" in the partition \(shown)")
      }
      let tp = TopicPartition(topic, Int(partition))
      guard result[tp] == nil else {
        throw ConnectorOffsetsError("partition \(shown) is given twice")
      }
      guard let offset = entry.offset else {
        result[tp] = .some(nil)
        continue
      }
      guard let next = offset[offsetKey]?.integer else {
        throw ConnectorOffsetsError(
          "a sink's offset needs \"\(offsetKey)\" (an integer), got \(JSONValue.object(JSONObject(offset)).jsonText)"
        )
      }
      guard next >= 0 else {
        throw ConnectorOffsetsError("kafka_offset must not be negative, got \(next)")
      }
      if let unknown = offset.keys.first(where: { $0 != offsetKey }) {
        throw ConnectorOffsetsError("unknown key \"\(unknown)\" in the offset of \(shown)")
      }
      result[tp] = .some(next)
    }
    return result
  }
}
