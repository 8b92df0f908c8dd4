/// Suggests the known word a user probably meant (`partitons` → `partitions`), for messages such
/// as `unknown key 'partitons'; did you mean 'partitions'?`.
public enum DidYouMean {
  /// The candidate `word` most likely stands for, if any.
  ///
  /// First, the one candidate that starts with the word, or that the word extends by a `_`/`-`
  /// part: `poll` → `poll_ms`, `listen_address` → `listen`; with several (`segment` →
  /// `segment_bytes`, `segment_ms`) none is taken. Then the closest candidate, if close enough
  /// to be a likely typo: an edit distance (see ``distance(_:_:)``, compared without regard to
  /// case) of at most 2 or at most a third of the word's length, whichever is larger, that
  /// also changes less than half of the longer word — so `bach` suggests `batch`, but `some`
  /// does not suggest `none`. On a tie the candidate listed first wins.
  public static func suggestion(for word: String, among candidates: [String]) -> String? {
    extended(word, among: candidates) ?? closest(to: word, among: candidates)
  }

  /// The candidate within a typo's distance of `word`.
  private static func closest(to word: String, among candidates: [String]) -> String? {
    let typed = word.lowercased()
    var best: (candidate: String, distance: Int)?
    for candidate in candidates where candidate != word {
      let d = distance(typed, candidate.lowercased())
      let limit = max(2, word.count / 3)
      guard d <= limit, 2 * d < max(word.count, candidate.count) else { continue }
      if best == nil || d < best!.distance { best = (candidate, d) }
    }
    return best?.candidate
  }

  /// The only candidate that starts with `word` (of 3 or more letters), or whose name plus a
  /// `_`/`-` part `word` is.
  private static func extended(_ word: String, among candidates: [String]) -> String? {
    let typed = word.lowercased()
    let matches = candidates.filter {
      let candidate = $0.lowercased()
      if typed.count >= 3, candidate.count > typed.count, candidate.hasPrefix(typed) { return true }
      guard typed.count > candidate.count, typed.hasPrefix(candidate) else { return false }
      let next = typed[typed.index(typed.startIndex, offsetBy: candidate.count)]
      return next == "_" || next == "-"
    }
    return matches.count == 1 ? matches[0] : nil
  }

  /// The optimal-string-alignment (restricted Damerau–Levenshtein) distance: the number of
  /// single-character insertions, deletions, substitutions and swaps of neighbours that turn
  /// `a` into `b`.
  public static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    // Three rows suffice: the swap looks two rows back.
    var previousPrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], previousPrevious[j - 2] + 1)
        }
      }
      (previousPrevious, previous, current) = (previous, current, previousPrevious)
    }
    return previous[b.count]
  }
}
