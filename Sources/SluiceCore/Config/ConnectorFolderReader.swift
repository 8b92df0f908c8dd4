import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads the connector files of one folder, again and again, re-parsing a file only when its
/// size, modification time or inode changed since the last read.
///
/// Two rules keep a running worker safe from what happens to the folder: a folder that cannot
/// be listed is ``Listing/unreadable(_:)`` — never "no files", which would remove every
/// connector — and a connector name belongs to the file that had it first (`owners`), so a new
/// file that reuses it fails instead of taking the connector over.
public struct ConnectorFolderReader: Sendable {
  /// What one read found.
  public enum Listing: Sendable {
    /// The folder could not be listed; nothing about the connectors is known.
    case unreadable(ConfigError)
    /// The valid definitions (one per name) and the errors of the other files.
    case read(definitions: [ConnectorDefinition], errors: [ConfigError])
  }

  /// What identifies a version of a file without reading it.
  struct Stamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int
    /// The status-change time as well, so a file put back with its old modification time
    /// (`cp -p`, `rsync -t`, `touch -r`) still counts as changed.
    var changedSeconds: Int
    var changedNanoseconds: Int
  }

  public let directory: String
  public let interpolation: Interpolation
  /// Translates files in Kafka Connect's form (`.json`, `.properties`, or YAML with
  /// `config.connector.class`); without it such files are errors.
  public let registry: ConnectorRegistry?
  private var parsed: [String: (stamp: Stamp, result: Result<ConnectorDefinition, ConfigError>)] =
    [:]
  /// How many files the reads so far have parsed (unchanged files are not parsed again).
  public private(set) var parsedFiles = 0

  public init(
    directory: String, interpolation: Interpolation, registry: ConnectorRegistry? = nil
  ) {
    self.directory = directory
    self.interpolation = interpolation
    self.registry = registry
  }

  public init(
    directory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    registry: ConnectorRegistry? = nil
  ) {
    self.init(
      directory: directory,
      interpolation: Interpolation(
        environment: environment, secretsDirectories: [directory]),
      registry: registry)
  }

  /// The file names the reader takes as connector files.
  public static func isConnectorFile(_ name: String) -> Bool {
    !name.hasPrefix(".")
      && [".yaml", ".yml", ".json", ".properties"].contains { name.hasSuffix($0) }
  }

  /// Lists the folder and returns its connectors; `owners` maps a connector name to the file
  /// that runs it now, which keeps the name even while another file claims it.
  public mutating func read(owners: [String: String] = [:]) -> Listing {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      return .unreadable(
        ConfigError(
          file: directory, line: 1, column: 1, key: "connectors_dir",
          message: "cannot read the folder: \((error as NSError).localizedDescription)"))
    }
    let paths = names.sorted()
      .filter(Self.isConnectorFile)
      .map { (directory as NSString).appendingPathComponent($0) }
    parsed = parsed.filter { paths.contains($0.key) }

    var results: [(path: String, result: Result<ConnectorDefinition, ConfigError>)] = []
    for path in paths {
      results.append((path, result(for: path)))
    }
    return Self.resolveNames(results, owners: owners, listed: Set(paths))
  }

  private mutating func result(for path: String) -> Result<ConnectorDefinition, ConfigError> {
    let stamp = Self.stamp(of: path)
    if let stamp, let cached = parsed[path], cached.stamp == stamp { return cached.result }
    // Refused before it is read: a huge file in the folder must not be loaded into memory.
    if let stamp, stamp.size > Int64(ConfigNode.maximumFileBytes) {
      let tooLarge = ConfigError(
        file: path, line: 1, column: 1, key: "",
        message:
          "file is larger than \(ConfigNode.maximumFileBytes >> 20)MiB; a config file is far smaller"
      )
      parsed[path] = (stamp, .failure(tooLarge))
      return .failure(tooLarge)
    }
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      // Not remembered: a file that cannot be read for a moment is read again next time.
      parsed[path] = nil
      return .failure(
        ConfigError(
          file: path, line: 1, column: 1, key: "",
          message: "cannot read the file: \((error as NSError).localizedDescription)"))
    }
    parsedFiles += 1
    let result = Result { () throws(ConfigError) in
      try ConnectorDefinition.parse(
        text: text, file: path, interpolation: interpolation, registry: registry)
    }
    if let stamp { parsed[path] = (stamp, result) } else { parsed[path] = nil }
    return result
  }

  /// One definition per name: the owner's file if it is still listed (even while invalid),
  /// else the first file in name order; every other file claiming the name is an error.
  static func resolveNames(
    _ results: [(path: String, result: Result<ConnectorDefinition, ConfigError>)],
    owners: [String: String], listed: Set<String>
  ) -> Listing {
    var definitions: [ConnectorDefinition] = []
    var errors: [ConfigError] = []
    var holder: [String: String] = [:]
    for (name, file) in owners where listed.contains(file) { holder[name] = file }
    for (path, result) in results {
      guard case .success(let definition) = result else { continue }
      if holder[definition.name] == nil { holder[definition.name] = path }
    }
    for (path, result) in results {
      switch result {
      case .failure(let error): errors.append(error)
      case .success(let definition):
        let owner = holder[definition.name] ?? path
        if owner == path {
          definitions.append(definition)
        } else {
          errors.append(
            (definition.nameNode ?? definition.typeNode).error(
              "connector name '\(definition.name)' is already used by \(owner)"))
        }
      }
    }
    return .read(definitions: definitions, errors: errors)
  }

  static func stamp(of path: String) -> Stamp? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Stamp(
      device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
      modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec),
      changedSeconds: Int(info.st_ctim.tv_sec), changedNanoseconds: Int(info.st_ctim.tv_nsec))
  }
}
