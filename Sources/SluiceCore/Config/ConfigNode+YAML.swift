import Foundation
import Yams

extension ConfigNode {
  /// Turns YAML text into located ``ConfigNode``s with Yams' composer: syntax errors keep
  /// Yams' position, duplicate keys are reported at their second occurrence, and scalar values
  /// are interpolated.
  struct YAMLComposition {
    let text: String
    let file: String
    let interpolation: Interpolation

    /// Plain scalars that mean "no value".
    private static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// The root node of the file's single document.
    func root() throws(ConfigError) -> ConfigNode {
      if text.allSatisfy(\.isWhitespace) { throw fileError("file is empty") }
      let document: Node?
      do {
        document = try Yams.compose(yaml: text)
      } catch let error as YamlError {
        throw syntaxError(error)
      } catch {
        throw fileError("invalid YAML: \(error)")
      }
      guard let document else { throw fileError("file is empty") }
      return try convert(document, path: "")
    }

    private func fileError(_ message: String, line: Int = 1, column: Int = 1) -> ConfigError {
      ConfigError(file: file, line: line, column: column, key: "", message: message)
    }

    // MARK: - Nodes

    private func convert(_ node: Node, path: String) throws(ConfigError) -> ConfigNode {
      let line = node.mark?.line ?? 1
      let column = node.mark?.column ?? 1
      func located(_ content: Content) -> ConfigNode {
        ConfigNode(file: file, path: path, line: line, column: column, content: content)
      }
      switch node {
      case .scalar(let scalar):
        if scalar.style == .plain && Self.nullWords.contains(scalar.string) {
          return located(.null)
        }
        do {
          return located(.scalar(try interpolation.expand(scalar.string)))
        } catch {
          throw ConfigError(
            file: file, line: line, column: column, key: path, message: error.message)
        }
      case .mapping(let mapping):
        var entries: [Entry] = []
        for (keyNode, valueNode) in mapping {
          let keyLine = keyNode.mark?.line ?? line
          let keyColumn = keyNode.mark?.column ?? column
          guard case .scalar(let keyScalar) = keyNode else {
            throw ConfigError(
              file: file, line: keyLine, column: keyColumn, key: path,
              message: "a key must be a name, not \(keyNode.isMapping ? "a mapping" : "a list")")
          }
          let key = keyScalar.string
          let childPath = path.isEmpty ? key : "\(path).\(key)"
          // Yams compares keys with their tags (`1` and `"1"` differ); here they are names.
          if let first = entries.first(where: { $0.key == key }) {
            throw ConfigError(
              file: file, line: keyLine, column: keyColumn, key: childPath,
              message: Self.duplicateMessage(key, firstLine: first.line, firstColumn: first.column))
          }
          let value = try convert(valueNode, path: childPath)
          entries.append(Entry(key: key, line: keyLine, column: keyColumn, value: value))
        }
        return located(.mapping(entries))
      case .sequence(let sequence):
        var items: [ConfigNode] = []
        for (index, item) in sequence.enumerated() {
          items.append(try convert(item, path: "\(path)[\(index)]"))
        }
        return located(.sequence(items))
      case .alias:
        // Yams' composer resolves aliases to the anchored node; this is a safety net.
        throw ConfigError(
          file: file, line: line, column: column, key: path,
          message: "YAML aliases are not supported")
      }
    }

    private static func duplicateMessage(_ key: String, firstLine: Int, firstColumn: Int) -> String
    {
      "duplicate key '\(key)' (first given at line \(firstLine), column \(firstColumn))"
    }

    // MARK: - Syntax errors

    private func syntaxError(_ error: YamlError) -> ConfigError {
      switch error {
      case .scanner(let context, let problem, let mark, _),
        .parser(let context, let problem, let mark, _),
        .composer(let context, let problem, let mark, _):
        let detail = context.map { "\(problem) (\($0.text))" } ?? problem
        return fileError("invalid YAML: \(detail)", line: mark.line, column: mark.column)
      case .reader(let problem, let offset, _, _):
        let (line, column) = offset.map(position(ofCharacterOffset:)) ?? (1, 1)
        return fileError("invalid YAML: \(problem)", line: line, column: column)
      case .duplicatedKeysInMapping(let duplicates, let context):
        let key = duplicates.first ?? "?"
        guard let second = secondOccurrence(of: key, first: context.mark) else {
          return fileError(
            "duplicate key '\(key)'", line: context.mark.line, column: context.mark.column)
        }
        return ConfigError(
          file: file, line: second.line, column: second.column, key: second.path,
          message: Self.duplicateMessage(
            key, firstLine: context.mark.line, firstColumn: context.mark.column))
      default:
        return fileError("invalid YAML: \(error)")
      }
    }

    /// Line and column (from 1) of the character at `offset`.
    private func position(ofCharacterOffset offset: Int) -> (Int, Int) {
      var line = 1
      var column = 1
      for character in text.prefix(offset) {
        if character.isNewline {
          line += 1
          column = 1
        } else {
          column += character.unicodeScalars.count
        }
      }
      return (line, column)
    }

    // MARK: - Duplicate keys

    /// Where the second occurrence of a duplicated key is, and its key path.
    ///
    /// Yams reports a duplicate at the key's first occurrence and gives no tree. So rename
    /// that occurrence (insert a marker before it) and compose again, renaming every further
    /// duplicate Yams reports, until the text composes; then the marked key's mapping holds
    /// the second occurrence, whose column is corrected for the inserted markers.
    private func secondOccurrence(of key: String, first: Mark) -> (
      line: Int, column: Int, path: String
    )? {
      var base = "sluice-duplicate"
      while text.contains(base) { base += "-" }
      var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map(
        Array.init)
      var mark = first
      for attempt in 0..<64 {
        let line = mark.line - 1
        guard lines.indices.contains(line), mark.column - 1 <= lines[line].count else { return nil }
        var column = mark.column - 1
        if column < lines[line].count, lines[line][column] == "\"" || lines[line][column] == "'" {
          column += 1
        }
        lines[line].insert(contentsOf: "\(base)-\(attempt)-".unicodeScalars, at: column)
        let modified = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
        do {
          guard let root = try Yams.compose(yaml: modified) else { return nil }
          return find(
            key: key, markedAs: "\(base)-0-\(key)", base: base, in: root, path: "", lines: lines)
        } catch YamlError.duplicatedKeysInMapping(_, let context) {
          mark = context.mark
        } catch {
          return nil
        }
      }
      return nil
    }

    /// In the mapping holding the key `marked`, the next entry named `key` (with any marker
    /// removed), located in the original text.
    private func find(
      key: String, markedAs marked: String, base: String, in node: Node, path: String,
      lines: [[Unicode.Scalar]]
    ) -> (line: Int, column: Int, path: String)? {
      switch node {
      case .mapping(let mapping):
        let keys = mapping.map { $0.key }
        if let markedIndex = keys.firstIndex(where: { $0.string == marked }) {
          for candidate in keys[(markedIndex + 1)...] {
            guard let name = candidate.string, let mark = candidate.mark,
              Self.removingMarker(name, base: base) == key
            else { continue }
            let column = originalColumn(mark.column, line: lines[mark.line - 1], base: base)
            return (mark.line, column, path.isEmpty ? key : "\(path).\(key)")
          }
          return nil
        }
        for (keyNode, value) in mapping {
          let name = Self.removingMarker(keyNode.string ?? "", base: base)
          let childPath = path.isEmpty ? name : "\(path).\(name)"
          if let found = find(
            key: key, markedAs: marked, base: base, in: value, path: childPath, lines: lines)
          {
            return found
          }
        }
        return nil
      case .sequence(let sequence):
        for (index, item) in sequence.enumerated() {
          if let found = find(
            key: key, markedAs: marked, base: base, in: item, path: "\(path)[\(index)]",
            lines: lines)
          {
            return found
          }
        }
        return nil
      case .scalar, .alias:
        return nil
      }
    }

    /// `name` without a leading `<base>-<n>-` marker.
    private static func removingMarker(_ name: String, base: String) -> String {
      guard name.hasPrefix(base + "-"), let end = name.dropFirst(base.count + 1).firstIndex(of: "-")
      else {
        return name
      }
      return String(name[name.index(after: end)...])
    }

    /// A column of the modified line, less the markers inserted before it.
    private func originalColumn(_ column: Int, line: [Unicode.Scalar], base: String) -> Int {
      let before = String(String.UnicodeScalarView(line.prefix(column - 1)))
      var removed = 0
      var rest = Substring(before)
      while let range = rest.range(of: base + "-") {
        let afterBase = rest[range.upperBound...]
        let digits = afterBase.prefix(while: \.isNumber)
        guard afterBase.dropFirst(digits.count).first == "-" else { break }
        removed += base.unicodeScalars.count + 2 + digits.unicodeScalars.count
        rest = afterBase.dropFirst(digits.count + 1)
      }
      return column - removed
    }
  }
}

extension Node {
  fileprivate var isMapping: Bool {
    if case .mapping = self { return true }
    return false
  }
}
