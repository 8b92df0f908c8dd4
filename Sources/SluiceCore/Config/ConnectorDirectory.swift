import Foundation

/// All connector files of a folder (`connectors_dir`): the valid definitions and the errors of
/// the others, so one broken file is reported without hiding the rest.
public enum ConnectorDirectory {
  /// The file name endings read as connector files.
  public static let extensions = ["yaml", "yml", "json"]

  /// Reads every `*.yaml`, `*.yml` and `*.json` file of `directory` in name order (hidden files
  /// skipped). A name already used by an earlier file is an error at the later file's `name`
  /// value, and that file is left out.
  public static func load(
    directory: String, environment: [String: String] = ProcessInfo.processInfo.environment
  )
    -> (definitions: [ConnectorDefinition], errors: [ConfigError])
  {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      let reason = ConfigFile.folderProblem(directory) ?? ConfigFile.reason(for: error)
      return (
        [],
        [
          ConfigError(
            file: directory, line: 1, column: 1, key: "",
            message: "cannot read the folder: \(reason)")
        ]
      )
    }
    var definitions: [ConnectorDefinition] = []
    var errors: [ConfigError] = []
    for name in names.sorted()
    where !name.hasPrefix(".") && extensions.contains((name as NSString).pathExtension) {
      let path = (directory as NSString).appendingPathComponent(name)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
        !isDirectory.boolValue
      else {
        continue
      }
      do {
        let definition = try ConnectorDefinition.load(path: path, environment: environment)
        if let other = definitions.first(where: { $0.name == definition.name }) {
          errors.append(
            definition.nameNode.error(
              "connector name '\(definition.name)' is already used by \(other.file)"))
          continue
        }
        definitions.append(definition)
      } catch {
        errors.append(error)
      }
    }
    return (definitions, errors)
  }
}
