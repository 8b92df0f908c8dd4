/// A mistake in an expression's text, at the column (1-based, in characters) where it was found.
public struct ExpressionSyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
  public var column: Int
  public var message: String

  public init(column: Int, _ message: String) {
    self.column = column
    self.message = message
  }

  public var description: String { "at column \(column): \(message)" }
}

/// One token of an expression and the column it starts at.
struct ExpressionToken: Sendable, Equatable {
  enum Kind: Sendable, Equatable {
    case identifier(String)
    case string(String)
    case int(Int64)
    case double(Double)
    /// An operator or punctuation: `==`, `&&`, `(`, `.`, …
    case symbol(String)
    case end
  }

  var kind: Kind
  var column: Int

  /// How the token reads in an error message.
  var shown: String {
    switch kind {
    case .identifier(let name): "'\(name)'"
    case .string(let text): "the string '\(text)'"
    case .int(let n): "the number \(n)"
    case .double(let d): "the number \(d)"
    case .symbol(let s): "'\(s)'"
    case .end: "the end of the expression"
    }
  }
}

/// Splits an expression's text into tokens: names, '…' and "…" strings, numbers, operators.
enum ExpressionTokenizer {
  /// Longest first, so `==` is not read as two `=`.
  private static let symbols = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "?", ":", "(", ")", "[", "]", ",", ".",
    "+", "-",
  ]

  static func tokens(_ text: String) throws(ExpressionSyntaxError) -> [ExpressionToken] {
    let chars = Array(text)
    var tokens: [ExpressionToken] = []
    var i = 0
    while i < chars.count {
      let c = chars[i]
      let column = i + 1
      if c.isWhitespace {
        i += 1
      } else if c.isLetter || c == "_" {
        var name = ""
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
          name.append(chars[i])
          i += 1
        }
        tokens.append(ExpressionToken(kind: .identifier(name), column: column))
      } else if c.isASCII, c.isNumber {
        tokens.append(ExpressionToken(kind: try number(chars, &i), column: column))
      } else if c == "'" || c == "\"" {
        tokens.append(ExpressionToken(kind: .string(try string(chars, &i)), column: column))
      } else if let symbol = symbols.first(where: { matches($0, chars, at: i) }) {
        tokens.append(ExpressionToken(kind: .symbol(symbol), column: column))
        i += symbol.count
      } else if c == "=" || c == "&" || c == "|" {
        throw ExpressionSyntaxError(
          column: column, "'\(c)' is not an operator; did you mean '\(c)\(c)'?")
      } else {
        throw ExpressionSyntaxError(column: column, "unexpected character '\(c)'")
      }
    }
    tokens.append(ExpressionToken(kind: .end, column: chars.count + 1))
    return tokens
  }

  private static func matches(_ symbol: String, _ chars: [Character], at i: Int) -> Bool {
    var j = i
    for s in symbol {
      guard j < chars.count, chars[j] == s else { return false }
      j += 1
    }
    return true
  }

  /// An integer (`42`) or a decimal number (`1.5`, `2e3`); a sign is the unary operator's.
  private static func number(_ chars: [Character], _ i: inout Int) throws(ExpressionSyntaxError)
    -> ExpressionToken.Kind
  {
    let start = i
    var text = ""
    func digits() {
      while i < chars.count, chars[i].isASCII, chars[i].isNumber {
        text.append(chars[i])
        i += 1
      }
    }
    digits()
    var decimal = false
    if i + 1 < chars.count, chars[i] == ".", chars[i + 1].isASCII, chars[i + 1].isNumber {
      decimal = true
      text.append(".")
      i += 1
      digits()
    }
    if i < chars.count, chars[i] == "e" || chars[i] == "E" {
      decimal = true
      text.append("e")
      i += 1
      if i < chars.count, chars[i] == "+" || chars[i] == "-" {
        text.append(chars[i])
        i += 1
      }
      let before = text.count
      digits()
      guard text.count > before else {
        throw ExpressionSyntaxError(column: i + 1, "expected the exponent's digits")
      }
    }
    if i < chars.count, chars[i].isLetter || chars[i] == "_" {
      throw ExpressionSyntaxError(column: i + 1, "unexpected '\(chars[i])' after a number")
    }
    if !decimal, let n = Int64(text) { return .int(n) }
    guard let d = Double(text), d.isFinite else {
      throw ExpressionSyntaxError(column: start + 1, "'\(text)' is not a number that fits")
    }
    return .double(d)
  }

  /// A string in the quotes it starts with; `\\`, `\'`, `\"`, `\n`, `\t`, `\r`, `\uXXXX`.
  private static func string(_ chars: [Character], _ i: inout Int) throws(ExpressionSyntaxError)
    -> String
  {
    let quote = chars[i]
    let start = i
    i += 1
    var text = ""
    while i < chars.count {
      let c = chars[i]
      if c == quote {
        i += 1
        return text
      }
      if c == "\\" {
        guard i + 1 < chars.count else { break }
        let e = chars[i + 1]
        i += 2
        switch e {
        case "n": text.append("\n")
        case "t": text.append("\t")
        case "r": text.append("\r")
        case "\\", "'", "\"", "/": text.append(e)
        case "u":
          let hex = i + 4 <= chars.count ? String(chars[i..<(i + 4)]) : ""
          guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
            throw ExpressionSyntaxError(column: i - 1, "'\\u' needs four hex digits")
          }
          text.unicodeScalars.append(scalar)
          i += 4
        default:
          throw ExpressionSyntaxError(column: i - 1, "unknown escape '\\\(e)'")
        }
        continue
      }
      text.append(c)
      i += 1
    }
    throw ExpressionSyntaxError(column: start + 1, "the string is not closed (expected \(quote))")
  }
}
