import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// A log handler that writes each event as one JSON object on one line, for log shippers
/// (worker file `log_format: json`):
/// `{"ts":"2026-12-06T11:20:04.123Z","level":"info","label":"sluice","message":"…","connector":"orders","task":"0"}`.
///
/// `ts` is UTC with milliseconds; every metadata key (the logger's own, the metadata
/// provider's, the event's, in that order of precedence) is a field of its own, nested values
/// as JSON arrays and objects. A metadata key that would shadow one of the four fixed fields
/// is written as `metadata.<key>` instead. Wrap it in ``MaskingLogHandler`` to keep passwords
/// out, as the text format is.
public struct JSONLogHandler: LogHandler {
  /// Writes one finished line (with its newline).
  public typealias Output = @Sendable (String) -> Void

  public let label: String
  public var logLevel: Logger.Level = .info
  public var metadata: Logger.Metadata = [:]
  public var metadataProvider: Logger.MetadataProvider?
  private let output: Output

  public init(
    label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
    output: @escaping Output = JSONLogHandler.standardError
  ) {
    self.label = label
    self.metadataProvider = metadataProvider
    self.output = output
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var fields = metadata
    if let provided = metadataProvider?.get() {
      fields.merge(provided) { _, provided in provided }
    }
    if let explicit = event.metadata { fields.merge(explicit) { _, explicit in explicit } }
    if let error = event.error, fields["error"] == nil { fields["error"] = "\(error)" }
    output(
      Self.line(
        timestamp: Self.now(), level: event.level, label: label,
        message: "\(event.message)", metadata: fields))
  }

  /// The JSON line of one event (exposed for tests and for other writers).
  public static func line(
    timestamp: String, level: Logger.Level, label: String, message: String,
    metadata: Logger.Metadata
  ) -> String {
    var out = JSONWriter(capacity: 128 + message.utf8.count)
    out.raw("{\"ts\":")
    out.string(timestamp)
    out.raw(",\"level\":")
    out.string(level.rawValue)
    out.raw(",\"label\":")
    out.string(label)
    out.raw(",\"message\":")
    out.string(message)
    for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
      out.byte(",")
      out.key(fixedFields.contains(key) ? "metadata.\(key)" : key)
      append(value, to: &out)
    }
    out.raw("}\n")
    return out.text
  }

  /// Standard error, one `write` per line so lines of concurrent tasks do not interleave.
  public static let standardError: Output = { line in
    var line = line
    // Nowhere to report a failed write to standard error: the line is dropped.
    line.withUTF8 { bytes in _ = try? WriteAll.write(UnsafeRawBufferPointer(bytes), to: 2) }
  }

  // MARK: - Encoding

  private static let fixedFields: Set<String> = ["ts", "level", "label", "message"]

  private static func append(_ value: Logger.MetadataValue, to out: inout JSONWriter) {
    switch value {
    case .string(let text): out.string(text)
    case .stringConvertible(let value): out.string(value.description)
    case .array(let values):
      out.byte("[")
      for (i, value) in values.enumerated() {
        if i > 0 { out.byte(",") }
        append(value, to: &out)
      }
      out.byte("]")
    case .dictionary(let values):
      out.byte("{")
      for (i, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
        if i > 0 { out.byte(",") }
        out.key(key)
        append(value, to: &out)
      }
      out.byte("}")
    }
  }

  /// Now, in UTC with milliseconds: `2026-12-06T11:20:04.123Z`.
  static func now() -> String {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    var seconds = spec.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ n: Int32, _ width: Int) -> String {
      let text = String(n)
      return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return
      "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(spec.tv_nsec / 1_000_000), 3))Z"
  }
}
