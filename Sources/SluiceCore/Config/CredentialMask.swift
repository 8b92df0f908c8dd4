/// Hides the password of every URL in a text: `postgresql://user:pass@host/db` becomes
/// `postgresql://user:***@host/db`; and the value of every `key=value` whose key names a secret
/// (``secretKeys``: a query's `?api_key=…`, libpq's `password=…`). Used wherever text that may
/// hold a URL leaves the worker — status traces, log lines, dead-letter headers — because
/// connector errors quote their URLs.
public enum CredentialMask {
  /// Keys whose `key=value` value is hidden, compared without case; `-` counts as `_`.
  public static let secretKeys: Set<String> = [
    "password", "passwd", "pwd", "pass", "secret", "client_secret", "token", "access_token",
    "refresh_token", "id_token", "auth_token", "api_key", "apikey", "key_secret", "sslpassword",
    "signature", "sig",
  ]

  /// `text` with the password part of each `scheme://user:password@host` replaced by `***`,
  /// and the value of each secret `key=value` too.
  public static func masking(_ text: String) -> String {
    maskingKeyValues(maskingURLPasswords(text))
  }

  static func maskingURLPasswords(_ text: String) -> String {
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

  /// `text` with the value of each `key=value` whose key is in ``secretKeys`` replaced by
  /// `***`. A value ends at whitespace, `&`, `;`, `,`, `#`, a quote or a bracket; a value in single
  /// or double quotes (libpq's `password='a b'`) ends at its closing quote.
  static func maskingKeyValues(_ text: String) -> String {
    guard text.contains("=") else { return text }
    let characters = Array(text)
    var out = ""
    out.reserveCapacity(characters.count)
    var index = 0
    var copiedUpTo = 0
    while index < characters.count {
      guard characters[index] == "=" else {
        index += 1
        continue
      }
      // The key: letters, digits, `_`, `-` and `.` before the `=`.
      var start = index
      while start > 0,
        characters[start - 1].isLetter || characters[start - 1].isNumber
          || "_-.".contains(characters[start - 1])
      {
        start -= 1
      }
      let key = String(characters[start..<index]).lowercased()
        .replacingOccurrences(of: "-", with: "_")
      let lastPart = key.split(separator: ".").last.map(String.init) ?? key
      guard !key.isEmpty, secretKeys.contains(lastPart) else {
        index += 1
        continue
      }
      var valueStart = index + 1
      var valueEnd = valueStart
      if valueStart < characters.count,
        characters[valueStart] == "'" || characters[valueStart] == "\""
      {
        let quote = characters[valueStart]
        valueStart += 1
        valueEnd = valueStart
        while valueEnd < characters.count, characters[valueEnd] != quote { valueEnd += 1 }
      } else {
        while valueEnd < characters.count,
          !(characters[valueEnd].isWhitespace || "&;,#'\"<>()[]{}".contains(characters[valueEnd]))
        {
          valueEnd += 1
        }
      }
      guard valueEnd > valueStart else {
        index += 1
        continue
      }
      out += String(characters[copiedUpTo..<valueStart])
      out += "***"
      copiedUpTo = valueEnd
      index = valueEnd
    }
    out += String(characters[copiedUpTo...])
    return out
  }
}
