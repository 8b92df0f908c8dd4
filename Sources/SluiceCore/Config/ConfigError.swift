/// A problem in a config file, located so a user can jump to it from a terminal or an editor.
///
/// Its ``description`` is one line, `<file>:<line>:<column>: <key>: <message>` (the key left out
/// when empty), the shape compilers use, so editors and terminals turn it into a link:
///
/// ```
/// Config/worker.yaml:5:3: log.partitons: unknown key 'partitons'; did you mean 'partitions'?
/// ```
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file as it was named when loaded (relative paths stay relative).
  public var file: String
  /// The line of the offending key or value, counted from 1 as editors do.
  public var line: Int
  /// The column of the offending key or value, counted from 1 in characters.
  public var column: Int
  /// The dotted key path from the file's root (`config.tables[1]`); empty for the whole file.
  public var key: String
  /// What is wrong and, where it helps, what was expected.
  public var message: String

  /// Creates an error at a position of a file.
  public init(file: String, line: Int, column: Int, key: String, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.key = key
    self.message = message
  }

  /// `<file>:<line>:<column>: <key>: <message>`, or without `<key>: ` when the key is empty.
  public var description: String {
    key.isEmpty
      ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(key): \(message)"
  }
}
