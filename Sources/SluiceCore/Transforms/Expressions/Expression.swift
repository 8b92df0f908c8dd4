import Foundation

/// A parsed expression of Sluice's expression language (`filter_if`, `route_expr`): a tree the
/// evaluator walks once per record. Built only by ``Expression/parse(_:)``, which checks names,
/// arities and nesting and compiles `matches` patterns, so evaluation cannot loop or do I/O and
/// takes time bounded by the expression's size (and the record's, for `in` over an array).
public indirect enum Expression: Sendable {
  /// A constant (list literals of constants are folded to one array).
  case literal(JSONValue)
  /// A field of the record, null-safe: a step that is missing gives null.
  case path(ExpressionRoot, FieldSteps)
  case not(Expression)
  case negate(Expression, column: Int)
  case and(Expression, Expression, column: Int)
  case or(Expression, Expression, column: Int)
  case binary(BinaryOperator, Expression, Expression, column: Int)
  case conditional(Expression, Expression, Expression, column: Int)
  /// `[a, b]` whose items are not all constants.
  case list([Expression])
  case isIn(Expression, Expression, column: Int)
  case call(ExpressionFunction, [Expression], column: Int)
  /// `matches(s, 'pattern')`: the pattern compiled once, when the expression is parsed.
  case matches(Expression, RegexBox, column: Int)

  /// The largest nesting an expression may have.
  public static let maxDepth = 64
}

/// What a field path starts from.
public enum ExpressionRoot: String, Sendable, CaseIterable {
  case key, value, headers, topic, partition, timestamp
}

/// A field path's steps after its root, and, when none is computed per record, the same steps
/// ready for the lookup (made once, at parse time, not per record).
public struct FieldSteps: Sendable {
  public var steps: [PathStep]
  var constant: [JSONBytesPath.Step]?

  init(_ steps: [PathStep]) {
    self.steps = steps
    var constant: [JSONBytesPath.Step] = []
    for step in steps {
      switch step {
      case .name(let name, let utf8): constant.append(.name(name, utf8))
      case .index(let index): constant.append(.index(index))
      case .dynamic:
        self.constant = nil
        return
      }
    }
    self.constant = constant
  }
}

/// One step of a field path: `.name`, `["odd.name"]`, `[0]`, or `[expression]`.
public enum PathStep: Sendable {
  /// A member name, with its UTF-8 bytes for reading records that are still bytes.
  case name(String, utf8: [UInt8])
  case index(Int)
  case dynamic(Expression)

  static func named(_ name: String) -> PathStep { .name(name, utf8: Array(name.utf8)) }
}

public enum BinaryOperator: String, Sendable {
  case equal = "=="
  case notEqual = "!="
  case less = "<"
  case lessOrEqual = "<="
  case greater = ">"
  case greaterOrEqual = ">="
  case plus = "+"
}

/// The functions an expression can call, each with its number of arguments.
public enum ExpressionFunction: String, Sendable, CaseIterable {
  case startsWith, endsWith, contains, lower, upper, length, isNull, matches

  var arity: Int {
    switch self {
    case .startsWith, .endsWith, .contains, .matches: 2
    case .lower, .upper, .length, .isNull: 1
    }
  }
}

/// A compiled regular expression, shared by every evaluation of its expression.
public final class RegexBox: @unchecked Sendable {
  // NSRegularExpression is immutable once made and safe to use from several threads.
  let regex: NSRegularExpression
  let pattern: String

  init(_ pattern: String) throws {
    // Whole-string matching, as Java's String.matches and Kafka's TopicNameMatches.
    regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
    self.pattern = pattern
  }

  func matches(_ text: String) -> Bool {
    regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
  }
}
