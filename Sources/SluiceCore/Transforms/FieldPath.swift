/// A field of a record's key or value by its path: Kafka Connect's `field.syntax.version=V2`
/// (KIP-821), dots between names and backticks around a name that holds dots
/// (`` after.`order.id` ``); `V1` takes the whole text as one top-level name.
public struct FieldPath: Sendable, Equatable, CustomStringConvertible {
  public var names: [String]

  public init(names: [String]) { self.names = names }

  /// The path `text` names; nil when it is empty or its backticks do not pair up.
  public init?(_ text: String, v2: Bool = true) {
    guard !text.isEmpty else { return nil }
    guard v2 else {
      names = [text]
      return
    }
    var names: [String] = []
    var current = ""
    var quoted = false
    var index = text.startIndex
    while index < text.endIndex {
      let c = text[index]
      if c == "`" {
        let next = text.index(after: index)
        if quoted, next < text.endIndex, text[next] == "`" {
          // Two backticks inside a quoted name stand for one.
          current.append("`")
          index = text.index(after: next)
          continue
        }
        quoted.toggle()
      } else if c == ".", !quoted {
        guard !current.isEmpty else { return nil }
        names.append(current)
        current = ""
      } else {
        current.append(c)
      }
      index = text.index(after: index)
    }
    guard !quoted, !current.isEmpty else { return nil }
    names.append(current)
    self.names = names
  }

  public var description: String { names.joined(separator: ".") }

  /// The value at the path; nil when a step is missing or not an object.
  public func value(in root: JSONValue) -> JSONValue? {
    var node = root
    for name in names {
      guard case .object(let object) = node, let next = object[name] else { return nil }
      node = next
    }
    return node
  }

  /// Sets the value at the path, creating the objects on the way that are missing; false when
  /// a step on the way is there but not an object.
  @discardableResult
  public func set(_ value: JSONValue, in root: inout JSONValue) -> Bool {
    Self.set(value, names[...], in: &root)
  }

  /// Removes the field; false when it was not there.
  @discardableResult
  public func remove(from root: inout JSONValue) -> Bool {
    Self.remove(names[...], from: &root)
  }

  private static func set(_ value: JSONValue, _ names: ArraySlice<String>, in node: inout JSONValue)
    -> Bool
  {
    if case .null = node { node = .object(JSONObject()) }
    guard case .object(var object) = node, let name = names.first else { return false }
    if names.count == 1 {
      object[name] = value
    } else {
      var child = object[name] ?? .null
      guard set(value, names.dropFirst(), in: &child) else { return false }
      object[name] = child
    }
    node = .object(object)
    return true
  }

  private static func remove(_ names: ArraySlice<String>, from node: inout JSONValue) -> Bool {
    guard case .object(var object) = node, let name = names.first, var child = object[name] else {
      return false
    }
    if names.count == 1 {
      object[name] = nil
    } else {
      guard remove(names.dropFirst(), from: &child) else { return false }
      object[name] = child
    }
    node = .object(object)
    return true
  }
}
