/// A topic name with `{placeholders}`, such as `shop.{schema}.{table}` or `sensors.{1}`.
///
/// Each connector says which placeholders it knows; rendering fails (rather than inventing a
/// strange topic) when a value is missing or the result is not a legal topic name.
public struct TopicTemplate: Sendable, Hashable, CustomStringConvertible {
  public enum Part: Sendable, Hashable {
    case literal(String)
    case placeholder(String)
  }

  public let text: String
  public let parts: [Part]

  /// Parses `text`; throws a message when braces do not match.
  public init(_ text: String) throws(TemplateError) {
    self.text = text
    var parts: [Part] = []
    var literal = ""
    var index = text.startIndex
    while index < text.endIndex {
      let c = text[index]
      if c == "{" {
        guard let close = text[index...].firstIndex(of: "}") else {
          throw TemplateError(message: "'{' without a closing '}' in '\(text)'")
        }
        let name = String(text[text.index(after: index)..<close])
        if name.isEmpty || name.contains("{") {
          throw TemplateError(message: "empty or nested placeholder in '\(text)'")
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        literal = ""
        parts.append(.placeholder(name))
        index = text.index(after: close)
      } else if c == "}" {
        throw TemplateError(message: "'}' without an opening '{' in '\(text)'")
      } else {
        literal.append(c)
        index = text.index(after: index)
      }
    }
    if !literal.isEmpty { parts.append(.literal(literal)) }
    self.parts = parts
    if placeholders.isEmpty, let problem = TopicName.problem(with: text) {
      throw TemplateError(message: problem)
    }
  }

  public var description: String { text }

  public var placeholders: [String] {
    parts.compactMap { if case .placeholder(let name) = $0 { name } else { nil } }
  }

  /// Checks the placeholders against the ones a connector knows; `isKnown` may accept
  /// families such as `header:NAME`.
  public func validate(isKnown: (String) -> Bool, known description: String) throws(TemplateError) {
    for name in placeholders where !isKnown(name) {
      throw TemplateError(
        message: "unknown placeholder '{\(name)}' in '\(text)'; this connector knows \(description)"
      )
    }
  }

  /// The topic name for these values; throws when one is missing or the result is not legal.
  public func render(_ value: (String) -> String?) throws(TemplateError) -> String {
    var out = ""
    for part in parts {
      switch part {
      case .literal(let text): out += text
      case .placeholder(let name):
        guard let v = value(name), !v.isEmpty else {
          throw TemplateError(message: "topic template '\(text)': no value for '{\(name)}'")
        }
        out += v
      }
    }
    if let problem = TopicName.problem(with: out) {
      throw TemplateError(message: "topic template '\(text)' gave '\(out)': \(problem)")
    }
    return out
  }
}

/// A topic template that cannot be parsed or rendered.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}
