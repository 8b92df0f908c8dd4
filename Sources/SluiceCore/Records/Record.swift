/// One header of a record: a name and opaque bytes, kept in the order the producer gave them.
public struct RecordHeader: Sendable, Hashable {
  public var name: String
  public var value: [UInt8]?

  public init(name: String, value: [UInt8]?) {
    self.name = name
    self.value = value
  }

  public init(_ name: String, _ text: String) {
    self.init(name: name, value: Array(text.utf8))
  }
}

/// A topic partition: the unit of ordering and of offsets.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var topic: String
  public var partition: Int

  public init(_ topic: String, _ partition: Int) {
    self.topic = topic
    self.partition = partition
  }

  public static func < (a: Self, b: Self) -> Bool {
    (a.topic, a.partition) < (b.topic, b.partition)
  }

  public var description: String { "\(topic)/\(partition)" }
}

/// The timestamps a record may carry: milliseconds from the Unix epoch to the end of year 9999.
///
/// Kafka refuses negative timestamps, and within this range the deltas a RecordBatch stores and
/// every age computed from a clock fit in an `Int64`; a timestamp outside it is refused with a
/// reason wherever it enters (API, log), never converted or subtracted.
public enum RecordTimestamp {
  public static let valid: ClosedRange<Int64> = 0...253_402_300_799_999
}

/// A record as stored in a topic: where it is (topic, partition, offset) and what it holds.
///
/// This is DESIGN.md §2's record model; ``TopicStore`` reads return it and sinks receive it.
public struct Record: Sendable, Hashable {
  public var topic: String
  public var partition: Int
  public var offset: Int64
  /// Milliseconds since the Unix epoch.
  public var timestamp: Int64
  public var key: [UInt8]?
  public var value: [UInt8]?
  public var headers: [RecordHeader]

  public init(
    topic: String, partition: Int, offset: Int64, timestamp: Int64,
    key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []
  ) {
    self.topic = topic
    self.partition = partition
    self.offset = offset
    self.timestamp = timestamp
    self.key = key
    self.value = value
    self.headers = headers
  }

  public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

  /// The value of the first header with this name, if any.
  public func header(_ name: String) -> [UInt8]? {
    headers.first { $0.name == name }?.value ?? nil
  }
}

/// A record on its way into a topic partition, before the store has given it an offset.
public struct OutgoingRecord: Sendable, Hashable {
  /// Milliseconds since the Unix epoch.
  public var timestamp: Int64
  public var key: [UInt8]?
  public var value: [UInt8]?
  public var headers: [RecordHeader]

  public init(
    timestamp: Int64 = currentTimeMillis(), key: [UInt8]?, value: [UInt8]?,
    headers: [RecordHeader] = []
  ) {
    self.timestamp = timestamp
    self.key = key
    self.value = value
    self.headers = headers
  }
}

/// Where an appended record landed.
public struct RecordMetadata: Sendable, Hashable, Codable {
  public var topic: String
  public var partition: Int
  public var offset: Int64

  public init(topic: String, partition: Int, offset: Int64) {
    self.topic = topic
    self.partition = partition
    self.offset = offset
  }

  /// The offset of a record not written because it was already durable (a replay).
  public static let replayedOffset: Int64 = -1
  /// The offset of a record not written because a transform (a filter) dropped it.
  public static let droppedOffset: Int64 = -2

  /// Whether the record was not written because it was already durable.
  public var wasReplayed: Bool { offset == Self.replayedOffset }
}
