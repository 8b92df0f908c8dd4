import Foundation

/// One scrape of a worker's `GET /metrics`, read with a small parser of Prometheus's text
/// format: enough to find a sample by name and labels.
struct MetricsScrape {
  struct Sample {
    var name: String
    var labels: [String: String]
    var value: Double
  }

  var samples: [Sample] = []

  init(_ text: String) {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " "),
        let value = Double(line[line.index(after: space)...])
      else { continue }
      let series = line[..<space]
      guard let brace = series.firstIndex(of: "{") else {
        samples.append(Sample(name: String(series), labels: [:], value: value))
        continue
      }
      var labels: [String: String] = [:]
      // name="value" pairs; values here never hold quotes or commas.
      for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)]
        .split(separator: ",")
      {
        let parts = pair.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { continue }
        labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
      }
      samples.append(Sample(name: String(series[..<brace]), labels: labels, value: value))
    }
  }

  /// The value of the sample `name` whose labels include `labels`; nil when there is none.
  func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
    samples.first { sample in
      sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
    }?.value
  }

  /// Whether any sample of `name` has these labels.
  func has(_ name: String, _ labels: [String: String] = [:]) -> Bool {
    value(name, labels) != nil
  }
}

extension WorkerProcess {
  /// `GET /metrics`, parsed.
  func metrics() throws -> MetricsScrape {
    let (status, body) = try get("/metrics")
    guard status == 200 else { throw WorkerError("GET /metrics answered \(status)") }
    return MetricsScrape(String(decoding: body, as: UTF8.self))
  }
}
