import Foundation
import XCTest

@testable import SluiceCore

/// What a config file or folder cannot do to the worker: take over another file's connector
/// name, make it parse unchanged files again and again, blow up through YAML aliases, or show a
/// secret it interpolated.
final class ConfigSafetyTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-cs-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func write(_ name: String, _ text: String) throws {
    try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
  }

  private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  // MARK: - Names

  /// `0.yaml` sorts first, but `a.yaml` ran the name first: it keeps it, even while invalid;
  /// once `a.yaml` is gone, `0.yaml` may have the name.
  func testTheFileThatHadANameFirstKeepsIt() throws {
    try write("a.yaml", "name: same\nsource: file\ntopic: t\n")
    var reader = ConnectorFolderReader(directory: directory.path, environment: [:])
    guard case .read(let first, _) = reader.read() else { return XCTFail("unreadable") }
    XCTAssertEqual(first.map(\.file), [path("a.yaml")])

    try write("0.yaml", "# newcomer\nname: same\nsource: file\ntopic: other\n")
    let owners = ["same": path("a.yaml")]
    guard case .read(let second, let errors) = reader.read(owners: owners) else {
      return XCTFail("unreadable")
    }
    XCTAssertEqual(second.map(\.file), [path("a.yaml")])
    XCTAssertEqual(
      errors.map(\.description),
      ["\(path("0.yaml")):2:7: name: connector name 'same' is already used by \(path("a.yaml"))"])

    try write("a.yaml", "name: same\nsource: file\ntopik: t\n")
    guard case .read(let whileInvalid, let invalidErrors) = reader.read(owners: owners) else {
      return XCTFail("unreadable")
    }
    XCTAssertEqual(whileInvalid.map(\.file), [], "the newcomer took the name of an invalid file")
    XCTAssertEqual(invalidErrors.count, 2)

    try FileManager.default.removeItem(at: directory.appendingPathComponent("a.yaml"))
    guard case .read(let after, []) = reader.read(owners: owners) else {
      return XCTFail("expected no errors")
    }
    XCTAssertEqual(after.map(\.file), [path("0.yaml")])
  }

  /// A file whose name is taken shows as FAILED under a name of its own, saying who holds it.
  func testTheLosingFileIsShownAsFailedUnderAPlaceholderName() {
    XCTAssertEqual(ConnectorStatus.placeholderName(forFile: "/c/b.yaml"), "b")
    XCTAssertEqual(
      ConnectorStatus.placeholderName(forFile: "/c/same.yaml", avoiding: ["same"]), "same.yaml")
  }

  // MARK: - Re-reading

  /// Unchanged files are not parsed again; a changed or replaced one is.
  func testOnlyChangedFilesAreParsedAgain() throws {
    try write("a.yaml", "name: a\nsource: file\ntopic: t\n")
    try write("b.yaml", "name: b\nsource: file\ntopic: t\n")
    var reader = ConnectorFolderReader(directory: directory.path, environment: [:])
    _ = reader.read()
    XCTAssertEqual(reader.parsedFiles, 2)
    for _ in 0..<5 { _ = reader.read() }
    XCTAssertEqual(reader.parsedFiles, 2, "unchanged files were parsed again")
    try write("b.yaml", "name: b\nsource: file\ntopic: u\n")
    guard case .read(let definitions, _) = reader.read() else { return XCTFail("unreadable") }
    XCTAssertEqual(reader.parsedFiles, 3)
    XCTAssertEqual(definitions.map(\.topic), ["t", "u"])
  }

  /// A folder that cannot be listed is "unreadable", never "no connectors".
  func testAFolderThatCannotBeListedIsUnreadableNotEmpty() throws {
    try write("a.yaml", "name: a\nsource: file\ntopic: t\n")
    var reader = ConnectorFolderReader(directory: directory.path, environment: [:])
    let away = directory.path + ".away"
    XCTAssertEqual(rename(directory.path, away), 0)
    defer { try? FileManager.default.removeItem(atPath: away) }
    guard case .unreadable(let error) = reader.read() else {
      return XCTFail("a missing folder read as a folder without connectors")
    }
    XCTAssertEqual(error.key, "connectors_dir")
  }

  // MARK: - Alias bombs

  /// Six levels of ten aliases stand for a million values in a few hundred bytes (with three
  /// more levels, a billion): refused at the spot where the count passes the limit.
  func testAYAMLAliasBombIsRefused() throws {
    var text =
      "name: x\nsource: file\ntopic: t\nconfig:\n  l0: &l0 [a, b, c, d, e, f, g, h, i, j]\n"
    for level in 1...6 {
      let items = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
      text += "  l\(level): &l\(level) [\(items)]\n"
    }
    let started = ContinuousClock.now
    XCTAssertThrowsError(try ConnectorDefinition.parse(text: text, file: "bomb.yaml")) { error in
      let description = "\(error)"
      XCTAssertTrue(
        description.hasPrefix("bomb.yaml:") && description.contains("more than 100000 values"),
        description)
    }
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
  }

  /// A file over the size bound is refused (by the folder reader before it is read).
  func testAFileOverOneMiBIsRefused() throws {
    let padding = String(repeating: "# padding\n", count: 110_000)
    try write("big.yaml", "name: big\nsource: file\ntopic: t\n" + padding)
    var reader = ConnectorFolderReader(directory: directory.path, environment: [:])
    guard case .read(let definitions, let errors) = reader.read() else {
      return XCTFail("unreadable")
    }
    XCTAssertTrue(definitions.isEmpty)
    XCTAssertEqual(
      errors.map(\.description),
      ["\(path("big.yaml")):1:1: file is larger than 1MiB; a config file is far smaller"])
    XCTAssertThrowsError(
      try ConnectorDefinition.parse(
        text: "name: big\nsource: file\ntopic: t\n" + padding, file: "big.yaml"))
  }

  /// An ordinary alias still works.
  func testASmallAliasIsAccepted() throws {
    let definition = try ConnectorDefinition.parse(
      text: "name: x\nsource: file\ntopic: &t shop\nconfig: { path: *t }\n", file: "a.yaml")
    XCTAssertEqual(try definition.config.mapping(allowedKeys: ["path"]).string("path"), "shop")
  }

  // MARK: - Secrets

  /// An error about an interpolated value names the key and the reference, not the value.
  func testAnInterpolatedValueIsNeverShownInAnError() {
    let environment = ["PORT": "hunter2-secret", "MODE": "s3cret-mode", "N": "n@me!"]
    func error(_ config: String) -> String {
      do {
        let d = try ConnectorDefinition.parse(
          text: "name: x\nsource: file\ntopic: t\nconfig:\n\(config)\n", file: "c.yaml",
          environment: environment)
        let m = try d.config.mapping(allowedKeys: ["port", "mode", "flag"])
        _ = try m.int("port", default: 1, range: 1...65535)
        _ = try m.oneOf("mode", allowed: ["a", "b"], default: "a")
        _ = try m.bool("flag", default: true)
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(
      error("  port: ${env:PORT}"),
      "c.yaml:5:9: config.port: expected an integer, got '${env:PORT}' (value hidden)")
    XCTAssertEqual(
      error("  mode: ${env:MODE}"),
      "c.yaml:5:9: config.mode: expected one of a, b, got '${env:MODE}' (value hidden)")
    XCTAssertEqual(
      error("  flag: ${env:MODE}"),
      "c.yaml:5:9: config.flag: expected true or false, got '${env:MODE}' (value hidden)")
    do {
      _ = try ConnectorDefinition.parse(
        text: "name: ${env:N}\nsource: file\ntopic: t\n", file: "c.yaml", environment: environment)
      XCTFail("no error")
    } catch {
      XCTAssertFalse("\(error)".contains("n@me!"), "\(error)")
      XCTAssertTrue("\(error)".contains("'${env:N}' (value hidden)"), "\(error)")
    }
  }

  /// `${file:}` reads under the secrets folders only — by default the config file's own folder.
  func testFileInterpolationReadsOnlyUnderTheSecretsFolders() throws {
    try write("pw", "inside\n")
    let outside = directory.deletingLastPathComponent().appendingPathComponent(
      "sluice-outside-\(UUID().uuidString)")
    try "outside\n".write(to: outside, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: outside) }
    try FileManager.default.createSymbolicLink(
      atPath: path("link"), withDestinationPath: outside.path)
    let file = path("c.yaml")
    func value(_ reference: String, secrets: [String]? = nil) -> String {
      let interpolation = Interpolation(
        environment: [:], secretsDirectories: secrets ?? [Interpolation.folder(of: file)])
      do {
        let d = try ConnectorDefinition.parse(
          text: "name: x\nsource: file\ntopic: t\nconfig: { k: '\(reference)' }\n", file: file,
          interpolation: interpolation)
        return try d.config.mapping(allowedKeys: ["k"]).string("k")
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(value("${file:\(path("pw"))}"), "inside")
    for escape in [
      "${file:\(outside.path)}", "${file:\(path("../" + outside.lastPathComponent))}",
      "${file:\(path("link"))}", "${file:/etc/hostname}",
    ] {
      let result = value(escape)
      XCTAssertTrue(result.contains("is outside the secrets folders"), result)
      XCTAssertFalse(result.contains("outside\n") || result == "outside", result)
    }
    XCTAssertEqual(
      value("${file:\(outside.path)}", secrets: [outside.deletingLastPathComponent().path]),
      "outside")
  }

  /// The worker file's `secrets_dirs` are resolved beside it and replace the default.
  func testSecretsDirsInTheWorkerFile() throws {
    let worker = try WorkerConfig.parse(
      text: "connectors_dir: c\nsecrets_dirs: [secrets, /run/secrets]\n",
      file: "/etc/sluice/worker.yaml", environment: [:])
    XCTAssertEqual(worker.secretsDirs, ["/etc/sluice/secrets", "/run/secrets"])
    XCTAssertEqual(
      worker.connectorInterpolation(environment: [:]).secretsDirectories,
      ["/etc/sluice/secrets", "/run/secrets"])
    let plain = try WorkerConfig.parse(
      text: "connectors_dir: c\n", file: "w.yaml", environment: [:])
    XCTAssertEqual(plain.connectorInterpolation(environment: [:]).secretsDirectories, ["c"])
  }

  /// Every URL's password is masked; URLs without one and other text are left alone.
  func testCredentialsInURLsAreMasked() {
    XCTAssertEqual(
      CredentialMask.masking(
        "cannot connect to postgresql://loader:pa:ss@db:5432/warehouse: refused"),
      "cannot connect to postgresql://loader:***@db:5432/warehouse: refused")
    XCTAssertEqual(
      CredentialMask.masking(
        "POST http://u:p@h/x and 'https://a:b@c?q=1' then postgres://only@host"),
      "POST http://u:***@h/x and 'https://a:***@c?q=1' then postgres://only@host")
    XCTAssertEqual(CredentialMask.masking("no url: a:b@c"), "no url: a:b@c")
    XCTAssertEqual(CredentialMask.masking("mqtt://user:pw@broker"), "mqtt://user:***@broker")
  }

  /// The status board never holds a URL's password, whoever writes the trace.
  func testStatusTracesAreMasked() {
    let board = StatusBoard()
    board.set(
      ConnectorStatus(
        name: "x",
        connector: .init(state: .failed, workerID: "w", trace: "postgresql://u:secret@h/db"),
        tasks: [TaskStatus(id: 0, state: .running, workerID: "w")], type: "source",
        connectorType: "t", configFile: "f"))
    board.updateTask("x", 0) { $0.trace = "retrying: http://u:secret@h/x failed" }
    let status = board.status(of: "x")
    XCTAssertEqual(status?.connector.trace, "postgresql://u:***@h/db")
    XCTAssertEqual(status?.tasks.first?.trace, "retrying: http://u:***@h/x failed")
  }
}
