import Foundation

/// Which of two answers `GET /` gives: the dashboard or Kafka Connect's worker JSON.
///
/// A browser sends `text/html,…,*/*;q=0.8`; kcctl and the Connect clients send
/// `application/json`; curl sends `*/*`; some clients send nothing. Only a request that ranks
/// HTML strictly above JSON gets the page, so every API client, including those that accept
/// anything, keeps today's JSON (RFC 9110 §12.5.1: the most specific range decides a type's
/// weight; an absent header accepts anything).
enum ContentNegotiation {
  /// Whether the `Accept` header values prefer `text/html` to `application/json`.
  static func prefersHTML(_ accept: [String]) -> Bool {
    let ranges = accept.flatMap { $0.split(separator: ",") }.compactMap(MediaRange.init)
    guard !ranges.isEmpty else { return false }
    return weight(of: "text", "html", in: ranges) > weight(of: "application", "json", in: ranges)
  }

  /// The quality the most specific matching range gives `type/subtype` (0 when none matches).
  static func weight(of type: String, _ subtype: String, in ranges: [MediaRange]) -> Double {
    var best: (specificity: Int, quality: Double)?
    for range in ranges {
      let specificity: Int
      switch (range.type, range.subtype) {
      case (type, subtype): specificity = 2
      case (type, "*"): specificity = 1
      case ("*", "*"): specificity = 0
      default: continue
      }
      if best == nil || specificity > best!.specificity {
        best = (specificity, range.quality)
      }
    }
    return best?.quality ?? 0
  }

  /// One element of an `Accept` header: `type/subtype;param=…;q=0.8`.
  struct MediaRange: Equatable {
    var type: String
    var subtype: String
    var quality: Double

    init?(_ text: Substring) {
      let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
      guard let media = parts.first else { return nil }
      let names = media.lowercased().split(separator: "/", omittingEmptySubsequences: false)
      guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty else { return nil }
      type = String(names[0])
      subtype = String(names[1])
      quality = 1
      for parameter in parts.dropFirst() {
        let pair = parameter.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "q"
        else { continue }
        // A malformed weight counts as 0 rather than 1: a client that meant "less" never gets
        // the other answer because of a typo.
        quality = min(max(Double(pair[1].trimmingCharacters(in: .whitespaces)) ?? 0, 0), 1)
      }
    }
  }
}
