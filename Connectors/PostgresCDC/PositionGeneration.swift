import SluiceCore

/// The generation of a CDC source position: how many times the connector's offsets were moved
/// back (a replay) or reset after one.
///
/// The runtime drops a source record whose position is not past the last one durably in its
/// partition. A rewind must write records again whose LSNs are already in the topics, so, as
/// the file source does with ``FilePosition``'s generation, it starts a new generation whose
/// positions sort after every position of the ones before. Generation 0 has no prefix (every
/// position written before replays existed is one); generation N ≥ 1 is prefixed `GNNNNNNNN-`
/// (hexadecimal), and `G` sorts after every hexadecimal digit, so a later generation sorts after
/// an earlier one whatever LSNs follow.
enum PositionGeneration {
  /// `""` for generation 0, else `G` and 8 hexadecimal digits and `-`.
  static func prefix(_ generation: UInt32) -> String {
    generation == 0 ? "" : "G" + SourcePosition.hex(UInt64(generation), width: 8) + "-"
  }

  /// The generation a position's text starts with and the text after its prefix; nil for a
  /// malformed prefix.
  static func split(_ text: Substring) -> (generation: UInt32, rest: Substring)? {
    guard text.first == "G" else { return (0, text) }
    let digits = text.dropFirst().prefix(8)
    let afterDigits = text.dropFirst(9)
    guard digits.count == 8, afterDigits.first == "-", let generation = UInt32(digits, radix: 16),
      generation > 0
    else { return nil }
    return (generation, afterDigits.dropFirst())
  }
}
