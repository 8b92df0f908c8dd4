/// How change events write values, chosen by Debezium's own options so that a consumer written
/// for Debezium (JSON converter, schemas off) reads the same JSON from Sluice.
///
/// The defaults are Debezium's defaults: `precise`, `adaptive`, `numeric`, `bytes`, `json`.
struct ValueConversionOptions: Sendable, Equatable {
  /// Debezium's `decimal.handling.mode`: numeric, decimal and money values.
  enum DecimalHandling: String, Sendable, CaseIterable {
    /// Kafka Connect's Decimal: base64 of the unscaled value's big-endian two's complement;
    /// numerics without a declared scale as `{"scale":n,"value":base64}`.
    case precise
    /// A JSON number (a Java double).
    case double
    /// The value's text, as Java's `BigDecimal.toString()` writes it.
    case string
  }

  /// Debezium's `time.precision.mode`: date, time and timestamp values.
  enum TimePrecision: String, Sendable, CaseIterable {
    /// Days since the epoch; times and timestamps in milliseconds up to precision 3,
    /// microseconds above.
    case adaptive
    /// As adaptive, but `time` always in microseconds.
    case adaptiveTimeMicroseconds = "adaptive_time_microseconds"
    /// Kafka Connect's Date, Time and Timestamp: days, milliseconds, milliseconds.
    case connect
    /// ISO-8601 strings.
    case isostring
  }

  /// Debezium's `interval.handling.mode`.
  enum IntervalHandling: String, Sendable, CaseIterable {
    /// io.debezium.time.MicroDuration: approximate microseconds (a month is 365.25/12 days).
    case numeric
    /// io.debezium.time.Interval: `P<y>Y<m>M<d>DT<h>H<m>M<s>S`.
    case string
  }

  /// Debezium's `binary.handling.mode`: bytea values.
  enum BinaryHandling: String, Sendable, CaseIterable {
    /// Bytes, which the JSON converter writes as base64.
    case bytes
    case base64
    case base64UrlSafe = "base64-url-safe"
    case hex
  }

  /// Debezium's `hstore.handling.mode`.
  enum HstoreHandling: String, Sendable, CaseIterable {
    /// The hstore as JSON text in a string.
    case json
    /// The hstore as a JSON object (a Connect map).
    case map
  }

  var decimal: DecimalHandling = .precise
  var time: TimePrecision = .adaptive
  var interval: IntervalHandling = .numeric
  var binary: BinaryHandling = .bytes
  var hstore: HstoreHandling = .json
  /// `schemas` (the JSON converter's `schemas.enable`): keys and values as
  /// `{"schema","payload"}` with Debezium's Connect schemas. Kept with the value modes because
  /// the schema of each column follows them, and every renderer of events gets these options.
  var schemas = false

  /// Debezium's defaults.
  static let debezium = ValueConversionOptions()
}
