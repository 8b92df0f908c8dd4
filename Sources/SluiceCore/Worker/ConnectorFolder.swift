import Foundation
import Logging

/// `connectors_dir` as the one source of truth for which connectors exist: the folder watcher
/// applies it to the worker once a second, and the admin API changes connectors by writing
/// their files here and applying the folder at once — the same path a hand edit takes.
///
/// Reloads and writes are serialised by the actor; a second change of a connector that
/// arrives while the first is still being applied is refused (Kafka Connect's 409), so two
/// writers never interleave on one file.
public actor ConnectorFolder {
  public nonisolated let directory: String
  public nonisolated let worker: Worker
  /// The rules for `${…}` in connector files, for validating a config before it is written.
  public nonisolated let interpolation: Interpolation
  private var reader: ConnectorFolderReader
  private var seen: Snapshot?
  private var changing: Set<String> = []
  private let io = BlockingQueue(label: "sluice.connectors-dir")
  private let logger: Logger

  public init(directory: String, worker: Worker, interpolation: Interpolation, logger: Logger) {
    self.directory = directory
    self.worker = worker
    self.interpolation = interpolation
    self.reader = ConnectorFolderReader(
      directory: directory, interpolation: interpolation, registry: worker.registry)
    self.logger = logger
  }

  /// What the folder looked like at the last reload: file → fingerprint, plus the errors.
  enum Snapshot: Equatable {
    case unreadable(String)
    case read(fingerprints: [String: String], errors: [String])
  }

  /// Reads the folder and applies what changed since the last reload. A folder that cannot
  /// be listed changes nothing: it is logged once and shown in status until it reads again.
  public func reload() async {
    switch reader.read(owners: await worker.nameOwners) {
    case .unreadable(let error):
      let snapshot = Snapshot.unreadable(error.description)
      if snapshot != seen {
        logger.error(
          "cannot list connectors_dir; every connector keeps running as it is",
          metadata: ["error": "\(error)"])
        await worker.setFolderProblem(error, folder: directory)
      }
      // Known only as "unreadable": the next successful read is applied in full.
      seen = snapshot
    case .read(let definitions, let errors):
      if case .unreadable = seen {
        logger.info("connectors_dir can be read again")
        await worker.setFolderProblem(nil, folder: directory)
      }
      let snapshot = Snapshot.read(
        fingerprints: Dictionary(
          definitions.map { ($0.file, $0.fingerprint) }, uniquingKeysWith: { a, _ in a }),
        errors: errors.map(\.description))
      if snapshot != seen {
        var known: [String] = []
        if case .read(_, let old) = seen { known = old }
        for error in errors where !known.contains(error.description) {
          logger.error("\(error)")
        }
        await worker.apply(definitions, errors: errors)
      }
      seen = snapshot
    }
  }

  /// Writes connector `name`'s file atomically and applies the folder. `existing` is the file
  /// that defines it now (nil for a new connector): a YAML file is replaced in place; any
  /// other (JSON, properties) is replaced by `<name>.yaml` beside it, since the text is YAML.
  /// Returns the path written.
  @discardableResult
  public func write(connector name: String, yaml text: String, replacing existing: String?)
    async throws -> String
  {
    try begin(name)
    defer { changing.remove(name) }
    let target: String
    if let existing, existing.hasSuffix(".yaml") || existing.hasSuffix(".yml") {
      target = existing
    } else {
      target = (directory as NSString).appendingPathComponent("\(name).yaml")
      if target != existing, FileManager.default.fileExists(atPath: target) {
        throw WorkerControlError(
          .conflict, "\(target) exists and does not define connector \(name); rename it first")
      }
    }
    try await io.run {
      try DurableFile.replace(URL(fileURLWithPath: target), with: Data(text.utf8))
      if let existing, existing != target { try FileManager.default.removeItem(atPath: existing) }
    }
    logger.info(
      "connector file written through the admin API",
      metadata: ["connector": "\(name)", "file": "\(target)"])
    await reload()
    return target
  }

  /// Removes connector `name`'s file and applies the folder: the connector stops, and its
  /// cleanup runs once the removal has held for the worker's grace period.
  public func delete(connector name: String, file: String) async throws {
    try begin(name)
    defer { changing.remove(name) }
    try await io.run { try FileManager.default.removeItem(atPath: file) }
    logger.info(
      "connector file removed through the admin API",
      metadata: ["connector": "\(name)", "file": "\(file)"])
    await reload()
  }

  private func begin(_ name: String) throws {
    guard changing.insert(name).inserted else {
      throw WorkerControlError(
        .conflict, "Connector \(name) is being changed by another request; try again")
    }
  }
}
