import ArgumentParser
import Foundation
import SluiceCore

/// `sluice validate FILE...`: checks worker and connector files without starting anything.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check worker and connector config files.",
    discussion: """
      A file with `source:` or `sink:` is checked as a connector (including its type's own \
      `config:` keys), as is a Kafka Connect config (a `.properties` file, or JSON or YAML with \
      `connector.class`), which is translated first; any other file as a worker file. Errors are printed as \
      file:line:column: key: message, one per line; the exit status is 1 if any file is invalid.
      """)

  @Argument(help: "Config files to check.")
  var files: [String]

  @Option(
    name: .shortAndLong,
    help: "A worker file whose secrets_dirs apply to ${file:} in the connector files.")
  var config: String?

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    let registry = BuiltInConnectors.registry
    var failed = false
    // Without a worker file, a connector's ${file:} may read beside the connector file only.
    var secrets: Interpolation?
    if let config {
      do {
        secrets = try WorkerConfig.load(path: config, environment: environment)
          .connectorInterpolation(environment: environment)
      } catch {
        throw Failure(CredentialMask.masking("\(error)"))
      }
    }
    for file in files {
      do {
        if try Self.looksLikeConnector(file) {
          let definition =
            try secrets.map {
              try ConnectorDefinition.load(path: file, interpolation: $0, registry: registry)
            }
            ?? ConnectorDefinition.load(path: file, environment: environment, registry: registry)
          _ = try registry.instantiate(definition)
        } else {
          _ = try WorkerConfig.load(path: file, environment: environment)
        }
        print("\(file): ok")
      } catch {
        failed = true
        // Connector errors may quote a URL; its password stays hidden here too.
        FileHandle.standardError.write(Data("\(CredentialMask.masking("\(error)"))\n".utf8))
      }
    }
    if failed { throw ExitCode.failure }
  }

  static func looksLikeConnector(_ file: String) throws -> Bool {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw Failure("\(file): cannot read the file")
    }
    if file.hasSuffix(".properties") { return true }
    return text.split(whereSeparator: \.isNewline).contains {
      $0.hasPrefix("source:") || $0.hasPrefix("sink:") || $0.contains("\"source\"")
        || $0.contains("\"sink\"") || $0.contains("connector.class")
    }
  }
}
