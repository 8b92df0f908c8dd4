import Prometheus

/// The samples of a Prometheus text exposition by series, for unit tests that read what a
/// registry emits: `sluice_task_state{connector="c",task="0",state="RUNNING"}` → 1. (The
/// integration tests read `/metrics` with prometheus-client's parser; this is the unit-test
/// reading of one registry's own output.)
struct PrometheusText {
  struct Series: Hashable {
    var name: String
    var labels: [String: String]
  }

  let samples: [Series: Double]

  init(_ registry: PrometheusCollectorRegistry) {
    self.init(text: registry.emitToString())
  }

  init(text: String) {
    var samples: [Series: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " "),
        let value = Double(line[line.index(after: space)...])
      else { continue }
      let series = line[..<space]
      guard let open = series.firstIndex(of: "{") else {
        samples[Series(name: String(series), labels: [:])] = value
        continue
      }
      var labels: [String: String] = [:]
      // Sluice's label values hold no `",` sequences, so splitting on it is enough here.
      let body = series[series.index(after: open)..<series.index(before: series.endIndex)]
      for pair in body.split(separator: "\",") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { continue }
        labels[String(parts[0])] = parts[1].replacingOccurrences(of: "\"", with: "")
      }
      samples[Series(name: String(series[..<open]), labels: labels)] = value
    }
    self.samples = samples
  }

  func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
    samples[Series(name: name, labels: labels)]
  }

  /// The series named `name`.
  func series(_ name: String) -> [Series] { samples.keys.filter { $0.name == name } }
}
