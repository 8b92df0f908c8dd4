import SluiceCore

/// A record header: a name and an optional value.
public struct KafkaHeader: Sendable, Equatable, Hashable {
  /// The header's name.
  public var name: String
  /// The header's value (nil is a null value).
  public var value: [UInt8]?

  /// A header `name` = `value`.
  public init(name: String, value: [UInt8]?) {
    self.name = name
    self.value = value
  }
}

/// A record to produce: key, value, headers and its timestamp (milliseconds since the epoch).
public struct KafkaRecord: Sendable, Equatable {
  /// The key, or nil.
  public var key: [UInt8]?
  /// The value, or nil (a tombstone on a compacted topic).
  public var value: [UInt8]?
  /// The headers, in order.
  public var headers: [KafkaHeader]
  /// CreateTime in milliseconds since the epoch.
  public var timestamp: Int64

  /// A record; the timestamp defaults to now.
  public init(
    key: [UInt8]? = nil, value: [UInt8]?, headers: [KafkaHeader] = [],
    timestamp: Int64 = currentTimeMillis()
  ) {
    self.key = key
    self.value = value
    self.headers = headers
    self.timestamp = timestamp
  }
}

/// A record read from a partition: the produced record and the offset it was stored at.
public struct FetchedRecord: Sendable, Equatable {
  /// The record's offset in its partition.
  public var offset: Int64
  /// Key, value, headers and timestamp.
  public var record: KafkaRecord

  /// A record at `offset`.
  public init(offset: Int64, record: KafkaRecord) {
    self.offset = offset
    self.record = record
  }
}
