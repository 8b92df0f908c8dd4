/// Hides the password of every URL in a text: `postgresql://user:pass@host/db` becomes
/// `postgresql://user:***@host/db`. Used wherever text that may hold a URL leaves the worker —
/// status traces, log lines, dead-letter headers — because connector errors quote their URLs.
public enum CredentialMask {
  /// `text` with the password part of each `scheme://user:password@host` replaced by `***`.
  public static func masking(_ text: String) -> String {
    guard text.contains("://") else { return text }
    var out = ""
    var rest = Substring(text)
    while let separator = rest.range(of: "://") {
      out += rest[..<separator.upperBound]
      rest = rest[separator.upperBound...]
      // The authority ends at the path, query, fragment or anything that cannot be in a URL.
      let end =
        rest.firstIndex(where: { "/?#\"'<> \t\r\n".contains($0) }) ?? rest.endIndex
      let authority = rest[..<end]
      if let at = authority.lastIndex(of: "@"),
        let colon = authority[..<at].firstIndex(of: ":")
      {
        out += authority[...colon]
        out += "***"
        out += authority[at...]
      } else {
        out += authority
      }
      rest = rest[end...]
    }
    out += rest
    return out
  }
}
