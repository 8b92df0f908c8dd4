/// What one evaluation has learnt about the record: its key's and value's top-level members,
/// located (and the bytes checked to be JSON) once per evaluation, however many fields it reads.
struct EvaluationState {
  var key: JSONBytesPath.Document?
  var value: JSONBytesPath.Document?
}

extension Expression {
  /// The expression's value for `record`. Fields are read from the key's or value's tree when a
  /// transform before has parsed it, else from its bytes in place (the record is not changed,
  /// so there is nothing to write back); an expression that reads neither never looks at them.
  /// Ordering different types, or a function given the wrong type, is a ``TransformError``.
  public func evaluate(_ record: TransformRecord) throws(TransformError) -> JSONValue {
    var state = EvaluationState()
    return try evaluate(record, &state)
  }

  func evaluate(_ record: TransformRecord, _ state: inout EvaluationState)
    throws(TransformError) -> JSONValue
  {
    switch self {
    case .literal(let value):
      return value
    case .path(let root, let steps):
      return try Self.field(root, steps, record, &state)
    case .not(let operand):
      return .bool(!(try Self.truth(operand.evaluate(record, &state), "!", nil)))
    case .negate(let operand, let column):
      switch try operand.evaluate(record, &state) {
      case .null: return .null
      case .int(let n): return n == .min ? .double(-Double(n)) : .int(-n)
      case .double(let d): return .double(-d)
      case let other:
        throw Self.error(column, "'-' needs a number, got \(other.typeName)")
      }
    case .and(let left, let right, let column):
      guard try Self.truth(left.evaluate(record, &state), "&&", column) else { return .bool(false) }
      return .bool(try Self.truth(right.evaluate(record, &state), "&&", column))
    case .or(let left, let right, let column):
      if try Self.truth(left.evaluate(record, &state), "||", column) { return .bool(true) }
      return .bool(try Self.truth(right.evaluate(record, &state), "||", column))
    case .binary(let op, let left, let right, let column):
      let a = try left.evaluate(record, &state)
      let b = try right.evaluate(record, &state)
      return try Self.apply(op, a, b, column)
    case .conditional(let condition, let then, let otherwise, let column):
      let chosen = try Self.truth(condition.evaluate(record, &state), "? :", column)
      return try (chosen ? then : otherwise).evaluate(record, &state)
    case .list(let items):
      var values: [JSONValue] = []
      values.reserveCapacity(items.count)
      for item in items { values.append(try item.evaluate(record, &state)) }
      return .array(values)
    case .isIn(let needle, let haystack, let column):
      let value = try needle.evaluate(record, &state)
      switch try haystack.evaluate(record, &state) {
      case .null: return .null
      case .array(let items): return .bool(items.contains { Self.equal(value, $0) })
      case let other:
        throw Self.error(column, "'in' needs a list, got \(other.typeName)")
      }
    case .call(let function, let arguments, let column):
      return try Self.call(function, arguments, column, record, &state)
    case .matches(let operand, let regex, let column):
      switch try operand.evaluate(record, &state) {
      case .null: return .null
      case .string(let text): return .bool(regex.matches(text))
      case let other:
        throw Self.error(column, "matches needs a string, got \(other.typeName)")
      }
    }
  }

  // MARK: - Fields

  private static func field(
    _ root: ExpressionRoot, _ path: FieldSteps, _ record: TransformRecord,
    _ state: inout EvaluationState
  ) throws(TransformError) -> JSONValue {
    switch root {
    case .topic: return path.steps.isEmpty ? .string(record.topic) : .null
    case .partition:
      return path.steps.isEmpty ? record.partition.map { .int(Int64($0)) } ?? .null : .null
    case .timestamp: return path.steps.isEmpty ? .int(record.timestamp) : .null
    case .headers: return try header(path, record, &state)
    case .key:
      return try part(.key, path, record, &state)
    case .value:
      return try part(.value, path, record, &state)
    }
  }

  /// `headers.name` and `headers["name"]`: the last header of that name as text (null when
  /// there is none or it has no value); `headers` alone: every header by name.
  private static func header(
    _ path: FieldSteps, _ record: TransformRecord, _ state: inout EvaluationState
  ) throws(TransformError) -> JSONValue {
    guard let first = path.steps.first else {
      var object = JSONObject()
      for header in record.headers {
        object[header.name] =
          header.value.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null
      }
      return .object(object)
    }
    guard path.steps.count == 1 else { return .null }
    let name: String
    switch first {
    case .name(let n, _): name = n
    case .index: return .null
    case .dynamic(let expression):
      guard case .string(let n) = try expression.evaluate(record, &state) else { return .null }
      name = n
    }
    guard let header = record.headers.last(where: { $0.name == name }), let bytes = header.value
    else { return .null }
    return .string(String(decoding: bytes, as: UTF8.self))
  }

  /// A field of the key or value: from its tree if parsed, else from its bytes in place.
  private static func part(
    _ side: RecordSide, _ path: FieldSteps, _ record: TransformRecord,
    _ state: inout EvaluationState
  ) throws(TransformError) -> JSONValue {
    let steps: [JSONBytesPath.Step]
    if let constant = path.constant {
      steps = constant
    } else {
      guard let resolved = try resolve(path.steps, record, &state) else { return .null }
      steps = resolved
    }
    switch record[side] {
    case .json(let tree):
      var node = tree
      for step in steps {
        switch (step, node) {
        case (.name(let key, _), .object(let object)):
          guard let next = object[key] else { return .null }
          node = next
        case (.index(let i), .array(let items)):
          guard i < items.count else { return .null }
          node = items[i]
        default: return .null
        }
      }
      return node
    case .bytes(nil):
      return .null
    case .bytes(let bytes?) where side == .value && record.valueIsJSON:
      // Known to be JSON: the member is found by scanning to it, without the pass that checks
      // the whole value and lists its members.
      guard case .range(let range) = JSONBytesPath.find(steps[...], in: bytes, from: 0) else {
        return .null
      }
      return JSONBytesPath.value(bytes, range)
    case .bytes(let bytes?):
      var document = side == .key ? state.key : state.value
      if document == nil {
        guard let found = JSONBytesPath.document(bytes) else {
          throw TransformError("the record's \(side.rawValue) is not JSON (\(bytes.count) bytes)")
        }
        document = found
        if side == .key { state.key = found } else { state.value = found }
      }
      guard case .range(let range) = JSONBytesPath.find(steps, in: bytes, document!) else {
        return .null
      }
      return JSONBytesPath.value(bytes, range)
    }
  }

  /// Steps with computed indexes (`value.after[headers.field]`); nil when one is null.
  private static func resolve(
    _ steps: [PathStep], _ record: TransformRecord, _ state: inout EvaluationState
  ) throws(TransformError) -> [JSONBytesPath.Step]? {
    var resolved: [JSONBytesPath.Step] = []
    for step in steps {
      switch step {
      case .name(let name, let utf8): resolved.append(.name(name, utf8))
      case .index(let index): resolved.append(.index(index))
      case .dynamic(let expression):
        switch try expression.evaluate(record, &state) {
        case .string(let name): resolved.append(.name(name, Array(name.utf8)))
        case .int(let n) where n >= 0 && n <= Int64(Int32.max): resolved.append(.index(Int(n)))
        case .null: return nil
        case let other:
          throw TransformError(
            "a field index is a name or a whole number from 0, got \(other.typeName)")
        }
      }
    }
    return resolved
  }

  // MARK: - Operators

  private static func error(_ column: Int?, _ message: String) -> TransformError {
    TransformError(column.map { "at column \($0): \(message)" } ?? message)
  }

  /// A condition's value: true or false; null counts as false. Anything else is an error.
  static func truth(_ value: JSONValue, _ op: String, _ column: Int?) throws(TransformError) -> Bool
  {
    switch value {
    case .bool(let b): return b
    case .null: return false
    default: throw error(column, "'\(op)' needs true or false, got \(value.typeName)")
    }
  }

  /// `==`: numbers by value (`1 == 1.0`), other values of different types are not equal.
  static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.int(let x), .double(let y)): Double(x) == y
    case (.double(let x), .int(let y)): x == Double(y)
    default: a == b
    }
  }

  private static func apply(_ op: BinaryOperator, _ a: JSONValue, _ b: JSONValue, _ column: Int)
    throws(TransformError) -> JSONValue
  {
    switch op {
    case .equal: return .bool(equal(a, b))
    case .notEqual: return .bool(!equal(a, b))
    case .plus: return try plus(a, b, column)
    case .less, .lessOrEqual, .greater, .greaterOrEqual:
      guard let order = try order(a, b, op, column) else { return .null }
      switch op {
      case .less: return .bool(order < 0)
      case .lessOrEqual: return .bool(order <= 0)
      case .greater: return .bool(order > 0)
      default: return .bool(order >= 0)
      }
    }
  }

  /// -1, 0 or 1; nil when either side is null (a missing field orders with nothing).
  private static func order(_ a: JSONValue, _ b: JSONValue, _ op: BinaryOperator, _ column: Int)
    throws(TransformError) -> Int?
  {
    switch (a, b) {
    case (.null, _), (_, .null): return nil
    case (.int(let x), .int(let y)): return x < y ? -1 : x == y ? 0 : 1
    case (.string(let x), .string(let y)): return x < y ? -1 : x == y ? 0 : 1
    default:
      guard let x = a.number, let y = b.number else {
        throw error(
          column, "'\(op.rawValue)' cannot order \(a.typeName) and \(b.typeName)")
      }
      return x < y ? -1 : x == y ? 0 : 1
    }
  }

  /// Numbers add; a string joined with a string, number or boolean is their concatenation;
  /// null with anything is null.
  private static func plus(_ a: JSONValue, _ b: JSONValue, _ column: Int) throws(TransformError)
    -> JSONValue
  {
    switch (a, b) {
    case (.null, _), (_, .null): return .null
    case (.int(let x), .int(let y)):
      let (sum, overflow) = x.addingReportingOverflow(y)
      return overflow ? .double(Double(x) + Double(y)) : .int(sum)
    case (.string(let x), .string(let y)): return .string(x + y)
    case (.string(let x), .int), (.string(let x), .double), (.string(let x), .bool):
      return .string(x + b.jsonText)
    case (.int, .string(let y)), (.double, .string(let y)), (.bool, .string(let y)):
      return .string(a.jsonText + y)
    default:
      guard let x = a.number, let y = b.number else {
        throw error(column, "'+' cannot add \(a.typeName) and \(b.typeName)")
      }
      return .double(x + y)
    }
  }

  // MARK: - Functions

  private static func call(
    _ function: ExpressionFunction, _ arguments: [Expression], _ column: Int,
    _ record: TransformRecord, _ state: inout EvaluationState
  ) throws(TransformError) -> JSONValue {
    let first = try arguments[0].evaluate(record, &state)
    switch function {
    case .isNull:
      return .bool(first == .null)
    case .lower, .upper:
      switch first {
      case .null: return .null
      case .string(let s): return .string(function == .lower ? s.lowercased() : s.uppercased())
      default: throw error(column, "\(function.rawValue) needs a string, got \(first.typeName)")
      }
    case .length:
      switch first {
      case .null: return .null
      case .string(let s): return .int(Int64(s.count))
      case .array(let items): return .int(Int64(items.count))
      case .object(let object): return .int(Int64(object.members.count))
      default:
        throw error(column, "length needs a string, list or object, got \(first.typeName)")
      }
    case .startsWith, .endsWith, .contains:
      let second = try arguments[1].evaluate(record, &state)
      switch (first, second) {
      case (.null, _), (_, .null): return .null
      case (.string(let s), .string(let p)):
        switch function {
        case .startsWith: return .bool(s.hasPrefix(p))
        case .endsWith: return .bool(s.hasSuffix(p))
        default: return .bool(p.isEmpty || s.contains(p))
        }
      default:
        throw error(
          column,
          "\(function.rawValue) needs two strings, got \(first.typeName) and \(second.typeName)")
      }
    case .matches:
      // Parsed into ``Expression/matches(_:_:column:)``, with its pattern compiled.
      throw error(column, "matches takes its pattern as a string literal")
    }
  }
}

extension JSONValue {
  /// The value's type as errors name it.
  var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .int, .double: "a number"
    case .string: "a string"
    case .array: "a list"
    case .object: "an object"
    }
  }

  /// The number an ``int(_:)`` or ``double(_:)`` holds.
  var number: Double? {
    switch self {
    case .int(let n): Double(n)
    case .double(let d): d
    default: nil
    }
  }
}
