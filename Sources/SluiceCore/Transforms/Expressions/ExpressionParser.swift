/// Parses an expression's tokens into an ``Expression`` by recursive descent. From the loosest
/// binding to the tightest: `? :`, `||`, `&&`, comparisons and `in`, `+`, unary `!` and `-`,
/// field steps (`.name`, `[…]`), then literals, names, calls and parentheses.
struct ExpressionParser {
  private let tokens: [ExpressionToken]
  private var position = 0
  private var depth = 0

  init(tokens: [ExpressionToken]) { self.tokens = tokens }

  private var current: ExpressionToken { tokens[position] }

  private mutating func advance() -> ExpressionToken {
    let token = tokens[position]
    if position < tokens.count - 1 { position += 1 }
    return token
  }

  private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

  private func error(_ message: String, at token: ExpressionToken? = nil) -> ExpressionSyntaxError {
    ExpressionSyntaxError(column: (token ?? current).column, message)
  }

  private mutating func expect(_ symbol: String) throws(ExpressionSyntaxError) {
    guard isSymbol(symbol) else {
      throw error("expected '\(symbol)', found \(current.shown)")
    }
    _ = advance()
  }

  /// The whole text as one expression.
  mutating func parseAll() throws(ExpressionSyntaxError) -> Expression {
    if current.kind == .end { throw error("the expression is empty") }
    let expression = try parseConditional()
    guard current.kind == .end else {
      throw error("expected an operator or the end, found \(current.shown)")
    }
    return expression
  }

  /// Counts nesting, so that no expression is deeper than ``Expression/maxDepth``.
  private mutating func nested<T>(_ body: (inout Self) throws(ExpressionSyntaxError) -> T)
    throws(ExpressionSyntaxError) -> T
  {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Expression.maxDepth else {
      throw error("the expression nests deeper than \(Expression.maxDepth) levels")
    }
    return try body(&self)
  }

  private mutating func parseConditional() throws(ExpressionSyntaxError) -> Expression {
    try nested { (p: inout Self) throws(ExpressionSyntaxError) -> Expression in
      let condition = try p.parseOr()
      guard p.isSymbol("?") else { return condition }
      let column = p.advance().column
      let then = try p.parseConditional()
      try p.expect(":")
      let otherwise = try p.parseConditional()
      return .conditional(condition, then, otherwise, column: column)
    }
  }

  private mutating func parseOr() throws(ExpressionSyntaxError) -> Expression {
    var left = try parseAnd()
    while isSymbol("||") {
      let column = advance().column
      left = .or(left, try parseAnd(), column: column)
    }
    return left
  }

  private mutating func parseAnd() throws(ExpressionSyntaxError) -> Expression {
    var left = try parseComparison()
    while isSymbol("&&") {
      let column = advance().column
      left = .and(left, try parseComparison(), column: column)
    }
    return left
  }

  private mutating func parseComparison() throws(ExpressionSyntaxError) -> Expression {
    var left = try parseAdditive()
    while true {
      if case .symbol(let s) = current.kind,
        let op = BinaryOperator(rawValue: s), op != .plus
      {
        let column = advance().column
        left = .binary(op, left, try parseAdditive(), column: column)
      } else if current.kind == .identifier("in") {
        let column = advance().column
        left = .isIn(left, try parseAdditive(), column: column)
      } else {
        return left
      }
    }
  }

  private mutating func parseAdditive() throws(ExpressionSyntaxError) -> Expression {
    var left = try parseUnary()
    while isSymbol("+") {
      let column = advance().column
      left = .binary(.plus, left, try parseUnary(), column: column)
    }
    return left
  }

  private mutating func parseUnary() throws(ExpressionSyntaxError) -> Expression {
    if isSymbol("!") {
      _ = advance()
      return try nested { (p: inout Self) throws(ExpressionSyntaxError) in .not(try p.parseUnary())
      }
    }
    if isSymbol("-") {
      let column = advance().column
      return try nested { (p: inout Self) throws(ExpressionSyntaxError) -> Expression in
        let operand = try p.parseUnary()
        switch operand {
        case .literal(.int(let n)): return .literal(.int(-n))
        case .literal(.double(let d)): return .literal(.double(-d))
        default: return .negate(operand, column: column)
        }
      }
    }
    return try parsePostfix()
  }

  private mutating func parsePostfix() throws(ExpressionSyntaxError) -> Expression {
    let start = current
    var expression = try parsePrimary()
    while isSymbol(".") || isSymbol("[") {
      guard case .path(let root, let path) = expression else {
        throw error("only a field (key, value, headers) has members", at: current)
      }
      var steps = path.steps
      guard steps.count < Expression.maxDepth else {
        throw error("the path is longer than \(Expression.maxDepth) steps")
      }
      if advance().kind == .symbol(".") {
        guard case .identifier(let name) = current.kind else {
          throw error("expected a field name after '.', found \(current.shown)")
        }
        _ = advance()
        steps.append(.named(name))
      } else {
        let index = try parseConditional()
        try expect("]")
        switch index {
        case .literal(.string(let name)): steps.append(.named(name))
        case .literal(.int(let n)) where n >= 0 && n <= Int64(Int32.max):
          steps.append(.index(Int(n)))
        case .literal:
          throw error("a field index is a name in quotes or a whole number from 0", at: start)
        default: steps.append(.dynamic(index))
        }
      }
      expression = .path(root, FieldSteps(steps))
    }
    return expression
  }

  private mutating func parsePrimary() throws(ExpressionSyntaxError) -> Expression {
    let token = advance()
    switch token.kind {
    case .int(let n): return .literal(.int(n))
    case .double(let d): return .literal(.double(d))
    case .string(let s): return .literal(.string(s))
    case .symbol("("):
      let inner = try parseConditional()
      try expect(")")
      return inner
    case .symbol("["):
      return try parseList()
    case .identifier(let name):
      switch name {
      case "true": return .literal(.bool(true))
      case "false": return .literal(.bool(false))
      case "null": return .literal(.null)
      case "op": return .path(.value, FieldSteps([.named("op")]))
      default: break
      }
      if isSymbol("(") {
        return try parseCall(name, token)
      }
      guard let root = ExpressionRoot(rawValue: name) else {
        throw error(
          "unknown name '\(name)'; expected key, value, headers, topic, op, partition, timestamp, "
            + "a literal or a function call", at: token)
      }
      return .path(root, FieldSteps([]))
    case .end:
      throw error("expected a value, found the end of the expression", at: token)
    default:
      throw error("expected a value, found \(token.shown)", at: token)
    }
  }

  private mutating func parseList() throws(ExpressionSyntaxError) -> Expression {
    var items: [Expression] = []
    if !isSymbol("]") {
      items.append(try parseConditional())
      while isSymbol(",") {
        _ = advance()
        items.append(try parseConditional())
      }
    }
    try expect("]")
    var constants: [JSONValue] = []
    for item in items {
      guard case .literal(let value) = item else { return .list(items) }
      constants.append(value)
    }
    return .literal(.array(constants))
  }

  private mutating func parseCall(_ name: String, _ token: ExpressionToken)
    throws(ExpressionSyntaxError) -> Expression
  {
    guard let function = ExpressionFunction(rawValue: name) else {
      let known = ExpressionFunction.allCases.map(\.rawValue)
      var message = "unknown function '\(name)'"
      if let guess = DidYouMean.suggestion(for: name, among: known) {
        message += "; did you mean '\(guess)'?"
      }
      throw error(message, at: token)
    }
    try expect("(")
    var arguments: [Expression] = []
    if !isSymbol(")") {
      arguments.append(try parseConditional())
      while isSymbol(",") {
        _ = advance()
        arguments.append(try parseConditional())
      }
    }
    let close = current
    try expect(")")
    guard arguments.count == function.arity else {
      throw error(
        "\(name) takes \(function.arity) argument\(function.arity == 1 ? "" : "s"), "
          + "got \(arguments.count)", at: close)
    }
    if function == .matches {
      guard case .literal(.string(let pattern)) = arguments[1] else {
        throw error("matches takes its pattern as a string literal", at: token)
      }
      do {
        return .matches(arguments[0], try RegexBox(pattern), column: token.column)
      } catch {
        throw self.error("'\(pattern)' is not a valid regular expression", at: token)
      }
    }
    return .call(function, arguments, column: token.column)
  }
}

extension Expression {
  /// Parses `text`; a mistake is an ``ExpressionSyntaxError`` with its column.
  public static func parse(_ text: String) throws(ExpressionSyntaxError) -> Expression {
    var parser = ExpressionParser(tokens: try ExpressionTokenizer.tokens(text))
    return try parser.parseAll()
  }
}
