/// Kafka's rules for topic names, which Sluice keeps so topics can move to Kafka unchanged.
public enum TopicName {
  public static let maxLength = 249

  /// Nil when `name` is a legal topic name, else the reason it is not.
  public static func problem(with name: String) -> String? {
    if name.isEmpty { return "a topic name cannot be empty" }
    if name == "." || name == ".." { return "a topic name cannot be '.' or '..'" }
    if name.utf8.count > maxLength { return "a topic name has at most \(maxLength) characters" }
    if let bad = name.unicodeScalars.first(where: { !isLegal($0) }) {
      return "'\(bad)' is not allowed; use letters, digits, '.', '_' and '-'"
    }
    return nil
  }

  public static func isLegal(_ c: Unicode.Scalar) -> Bool {
    switch c {
    case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
    default: false
    }
  }
}
