/// One sample line of Prometheus's text exposition format (version 0.0.4):
/// `name{label="value",…} 42`.
public struct ExpositionSample: Sendable, Equatable {
  public var name: String
  public var labels: [String: String]
  public var value: Double

  public init(name: String, labels: [String: String] = [:], value: Double) {
    self.name = name
    self.labels = labels
    self.value = value
  }
}

/// A small reader of Prometheus's text exposition format, for ``MetricsHistory``, which reads
/// the worker's own `GET /metrics` text back to chart a few of its series.
///
/// It reads what swift-prometheus writes and what the format allows around it: `# HELP` and
/// `# TYPE` comments (skipped), labels with `\\`, `\"` and `\n` escapes and an optional trailing
/// comma, values including `NaN` and `±Inf`, and an optional timestamp (ignored). A line it cannot
/// read is skipped rather than failing the whole text: a chart missing one series is better than
/// a dashboard with none.
public enum ExpositionParser {
  /// The samples of `text` whose metric name is in `names` (every sample when `names` is nil).
  /// Lines of other metrics are skipped before their labels are read.
  public static func samples(in text: String, names: Set<String>? = nil) -> [ExpositionSample] {
    var samples: [ExpositionSample] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if let sample = sample(in: line, names: names) { samples.append(sample) }
    }
    return samples
  }

  /// The sample on one line, nil for comments, blank lines, other metrics and unreadable lines.
  static func sample(in line: Substring, names: Set<String>?) -> ExpositionSample? {
    var rest = line.drop { $0 == " " || $0 == "\t" }
    guard let first = rest.first, first != "#" else { return nil }
    let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " || $0 == "\t" } ?? rest.endIndex
    let name = String(rest[..<nameEnd])
    if let names, !names.contains(name) { return nil }
    rest = rest[nameEnd...]
    var labels: [String: String] = [:]
    if rest.first == "{" {
      guard let (read, after) = self.labels(in: rest.dropFirst()) else { return nil }
      labels = read
      rest = after
    }
    let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
    // The value, then an optional timestamp in milliseconds.
    guard fields.count == 1 || fields.count == 2, let value = number(fields[0]) else { return nil }
    return ExpositionSample(name: name, labels: labels, value: value)
  }

  /// Reads `a="x",b="y"}` (after the opening brace); returns the labels and what follows `}`.
  private static func labels(in text: Substring) -> ([String: String], Substring)? {
    var labels: [String: String] = [:]
    var rest = text
    while true {
      rest = rest.drop { $0 == " " }
      if rest.first == "}" { return (labels, rest.dropFirst()) }
      guard let equals = rest.firstIndex(of: "=") else { return nil }
      let name = rest[..<equals].trimmingSpaces()
      rest = rest[rest.index(after: equals)...].drop { $0 == " " }
      guard rest.first == "\"", !name.isEmpty else { return nil }
      rest = rest.dropFirst()
      var value = ""
      var closed = false
      while let c = rest.first {
        rest = rest.dropFirst()
        if c == "\"" {
          closed = true
          break
        }
        if c == "\\", let escaped = rest.first {
          rest = rest.dropFirst()
          switch escaped {
          case "n": value.append("\n")
          case "\\", "\"": value.append(escaped)
          default: value += "\\\(escaped)"
          }
        } else {
          value.append(c)
        }
      }
      guard closed else { return nil }
      labels[String(name)] = value
      rest = rest.drop { $0 == " " }
      if rest.first == "," { rest = rest.dropFirst() }
    }
  }

  /// A sample value: a decimal or exponent number, `NaN`, `+Inf` or `-Inf`.
  static func number(_ text: Substring) -> Double? {
    switch text {
    case "NaN": return .nan
    case "+Inf", "Inf": return .infinity
    case "-Inf": return -.infinity
    default: return Double(text)
    }
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    guard let first = firstIndex(where: { $0 != " " }), let last = lastIndex(where: { $0 != " " })
    else { return "" }
    return self[first...last]
  }
}
