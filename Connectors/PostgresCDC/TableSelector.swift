import Foundation

/// One entry of a snapshot signal's `data-collections` (or an `additional-conditions` entry's
/// `data-collection`), read as Debezium reads it: a regular expression that must match a
/// table's whole `schema.table` id. A plain table name — `public.orders`, `orders` (schema
/// `public`), `"Odd.Schema"."T"` with quotes — names that one table, as before expressions
/// were read (as an expression it would match the same table, and Debezium's own names work
/// unchanged).
///
/// The expression is ICU's (`NSRegularExpression`), close to the Java expressions Debezium
/// takes; matching is case-sensitive, against the unquoted id (`public.Orders`).
struct TableSelector: Hashable, Sendable, CustomStringConvertible {
  /// The entry as the signal gave it.
  var text: String
  /// The table a plain name names; nil for an expression.
  var name: QualifiedName?

  /// Reads an entry; an expression that does not compile is an error that says why.
  init(parsing raw: String) throws(SignalError) {
    let text = raw.trimmingCharacters(in: .whitespaces)
    guard !text.isEmpty else {
      throw SignalError("\"data-collections\" holds an empty entry")
    }
    self.text = text
    if Self.isPlainName(text), let name = QualifiedName(parsing: text) {
      self.name = name
      return
    }
    guard (try? Self.expression(text)) != nil else {
      throw SignalError(
        "\"\(text)\" is not a valid regular expression (data-collections entries are table names or regular expressions matched against schema.table)"
      )
    }
    self.name = nil
  }

  /// A selector for an expression already checked (from state written by ``init(parsing:)``).
  init(expression text: String) {
    self.text = text
    self.name = nil
  }

  var description: String { text }

  /// Whether the entry selects `table`.
  func matches(_ table: QualifiedName) -> Bool {
    !select(from: [table]).isEmpty
  }

  /// The tables of `tables` the entry selects, in their order.
  func select(from tables: [QualifiedName]) -> [QualifiedName] {
    if let name { return tables.filter { $0 == name } }
    guard let expression = try? Self.expression(text) else { return [] }
    return tables.filter { table in
      let id = table.description
      let range = NSRange(id.startIndex..<id.endIndex, in: id)
      return expression.firstMatch(in: id, options: [], range: range) != nil
    }
  }

  /// Letters, digits, `_` and `$`, with at most one unquoted dot, or any quoted name: what
  /// ``QualifiedName/init(parsing:)`` reads and an expression would match only literally.
  static func isPlainName(_ text: String) -> Bool {
    if text.hasPrefix("\"") { return true }
    var dots = 0
    for c in text {
      if c == "." {
        dots += 1
      } else if !(c.isLetter || c.isNumber || c == "_" || c == "$") {
        return false
      }
    }
    return dots <= 1
  }

  /// The expression anchored at both ends, as Java's `Matcher.matches()` reads it. Compiled
  /// on its own first, so an entry that is only valid inside the wrapper (a stray `)(`) is
  /// refused.
  private static func expression(_ text: String) throws -> NSRegularExpression {
    _ = try NSRegularExpression(pattern: text)
    return try NSRegularExpression(pattern: "\\A(?:" + text + ")\\z")
  }
}
