/// A record on its way through a connector's transforms (DESIGN.md §9): where it goes, its key,
/// value, headers and timestamp. Key and value are parsed to JSON at most once for the whole
/// chain, and only when a transform needs the tree (``RecordPart``).
public struct TransformRecord: Sendable {
  public var topic: String
  /// Sources: nil until a partition is chosen (the key decides); sinks: the record's.
  public var partition: Int?
  public var key: RecordPart
  public var value: RecordPart {
    didSet { valueIsJSON = false }
  }
  /// Whether `value` holds bytes known to be one JSON document, because the source or a
  /// transform before wrote them as such: reading a field then needs no pass that checks the
  /// whole value first (the filter after `unwrap` on every CDC record). Any change to `value`
  /// clears it; a transform that writes JSON bytes sets it again.
  public var valueIsJSON = false
  public var headers: [RecordHeader]
  public var timestamp: Int64
  /// Sinks: the record's offset in its partition; nil for sources.
  public var offset: Int64?

  public init(
    topic: String, partition: Int? = nil, key: [UInt8]?, value: [UInt8]?,
    headers: [RecordHeader] = [], timestamp: Int64, offset: Int64? = nil
  ) {
    self.topic = topic
    self.partition = partition
    self.key = .bytes(key)
    self.value = .bytes(value)
    self.headers = headers
    self.timestamp = timestamp
    self.offset = offset
  }

  /// The part a `$Key` or `$Value` transform works on.
  public subscript(side: RecordSide) -> RecordPart {
    get { side == .key ? key : value }
    set {
      if side == .key { key = newValue } else { value = newValue }
    }
  }

  /// Whether the value is null (Kafka's tombstone).
  public var isTombstone: Bool { value.isNull }
}

/// Which part of a record a transform changes: Kafka Connect's `$Key` and `$Value` variants.
public enum RecordSide: String, Sendable { case key, value }

/// A record's key or value in a transform chain: the bytes as they came, or the JSON tree once a
/// transform has asked for it; written back to bytes once, at the end of the chain.
public enum RecordPart: Sendable, Equatable {
  /// As written (nil: no key, or a tombstone's value).
  case bytes([UInt8]?)
  /// Parsed; `.null` is written back as no bytes (a tombstone, like Kafka's JsonConverter).
  case json(JSONValue)

  public var isNull: Bool {
    switch self {
    case .bytes(let bytes): bytes == nil
    case .json(let value): value == .null
    }
  }

  /// The JSON tree, parsing the bytes the first time (the tree replaces them, so the rest of
  /// the chain does not parse again). Bytes that are not JSON are a record error.
  public mutating func json() throws(TransformError) -> JSONValue {
    switch self {
    case .json(let value): return value
    case .bytes(nil):
      self = .json(.null)
      return .null
    case .bytes(let bytes?):
      guard let value = JSONValue.parse(bytes) else {
        throw TransformError("the record's data is not JSON (\(bytes.count) bytes)")
      }
      self = .json(value)
      return value
    }
  }

  /// The bytes the record is written with.
  public var bytes: [UInt8]? {
    switch self {
    case .bytes(let bytes): bytes
    case .json(.null): nil
    case .json(let value): value.jsonBytes
    }
  }

  /// The part as text, for transforms that take it as a string (a key used in a topic name).
  public var text: String? {
    switch self {
    case .bytes(let bytes): bytes.map { String(decoding: $0, as: UTF8.self) }
    case .json(.string(let text)): text
    case .json(.null): nil
    case .json(let value): value.jsonText
    }
  }
}
