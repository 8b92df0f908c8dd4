/// A config problem, located so a user can jump to it: `file:line:column: key: message`.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
  public var file: String
  /// 1-based, as editors count.
  public var line: Int
  public var column: Int
  /// The dotted key path (`config.tables[1]`); empty for the whole file.
  public var key: String
  public var message: String

  public init(file: String, line: Int, column: Int, key: String, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.key = key
    self.message = message
  }

  public var description: String {
    key.isEmpty
      ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(key): \(message)"
  }
}
