import Foundation

/// Expands `${env:NAME}`, `${env:NAME:-default}` and `${file:/path}` in config values, so secrets
/// stay out of config files. `$${` stands for a literal `${`. Expanded text is not expanded again.
///
/// `${file:}` reads only files inside `secretsDirectories` (after resolving `..` and symbolic
/// links), so a config file — or whoever can write one through the admin API — cannot make the
/// worker read an arbitrary file such as `/etc/shadow` into a value that may end up elsewhere.
public struct Interpolation: Sendable {
  public var environment: [String: String]
  /// The folders `${file:}` may read under; empty refuses every `${file:}`.
  public var secretsDirectories: [String]
  public var readFile: @Sendable (String) throws -> String

  public init(
    environment: [String: String] = ProcessInfo.processInfo.environment,
    secretsDirectories: [String] = [],
    readFile: @escaping @Sendable (String) throws -> String = {
      try String(contentsOfFile: $0, encoding: .utf8)
    }
  ) {
    self.environment = environment
    self.secretsDirectories = secretsDirectories
    self.readFile = readFile
  }

  /// The default rules for `file`: `environment`, and `${file:}` only under the folder that
  /// holds it.
  public static func beside(
    _ file: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> Interpolation {
    Interpolation(environment: environment, secretsDirectories: [folder(of: file)])
  }

  /// The folder that holds `file`: where its `${file:}` references may read by default.
  public static func folder(of file: String) -> String {
    let folder = (file as NSString).deletingLastPathComponent
    return folder.isEmpty ? FileManager.default.currentDirectoryPath : folder
  }

  /// Whether `path` lies inside one of the secrets folders once `..` and links are resolved.
  func mayRead(_ path: String) -> Bool {
    let resolved = Self.resolved(path)
    return secretsDirectories.contains { folder in
      let root = Self.resolved(folder)
      return resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
  }

  private static func resolved(_ path: String) -> String {
    let absolute =
      path.hasPrefix("/")
      ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    return URL(fileURLWithPath: absolute).standardized.resolvingSymlinksInPath().path
  }

  /// The expanded text, or a message saying what could not be expanded.
  public func expand(_ text: String) -> Result<String, InterpolationFailure> {
    guard text.contains("${") else { return .success(text) }
    var out = ""
    var rest = Substring(text)
    while let dollar = rest.firstIndex(of: "$") {
      out += rest[..<dollar]
      let after = rest[dollar...]
      if after.hasPrefix("$${") {
        out += "${"
        rest = after.dropFirst(3)
        continue
      }
      guard after.hasPrefix("${") else {
        out += "$"
        rest = after.dropFirst()
        continue
      }
      guard let close = after.firstIndex(of: "}") else {
        return .failure(.init(message: "'${' without a closing '}'"))
      }
      let reference = after[after.index(dollar, offsetBy: 2)..<close]
      // Placeholders that Kafka Connect's and Debezium's transforms fill in per record
      // (TimestampRouter's `${topic}-${timestamp}`, EventRouter's `outbox.event.${routedByValue}`)
      // are theirs, not the config's: left as written, as Kafka leaves them.
      if Self.transformPlaceholders.contains(String(reference)) {
        out += after[...close]
        rest = after[after.index(after: close)...]
        continue
      }
      switch resolve(reference) {
      case .success(let value): out += value
      case .failure(let failure): return .failure(failure)
      }
      rest = after[after.index(after: close)...]
    }
    out += rest
    return .success(out)
  }

  static let transformPlaceholders: Set<String> = ["topic", "timestamp", "routedByValue"]

  private func resolve(_ reference: Substring) -> Result<String, InterpolationFailure> {
    guard let colon = reference.firstIndex(of: ":") else {
      return .failure(
        .init(message: "'${\(reference)}' needs a scheme: ${env:NAME} or ${file:/path}"))
    }
    let scheme = reference[..<colon]
    let argument = String(reference[reference.index(after: colon)...])
    switch scheme {
    case "env":
      var name = argument
      var fallback: String?
      if let range = argument.range(of: ":-") {
        name = String(argument[..<range.lowerBound])
        fallback = String(argument[range.upperBound...])
      }
      if let value = environment[name] { return .success(value) }
      if let fallback { return .success(fallback) }
      return .failure(
        .init(
          message:
            "environment variable \(name) is not set (give a default with ${env:\(name):-value})"))
    case "file":
      guard mayRead(argument) else {
        return .failure(
          .init(
            message:
              "${file:\(argument)} is outside the secrets folders (\(secretsDirectories.joined(separator: ", "))); "
              + "list its folder in the worker's secrets_dirs"))
      }
      do {
        var content = try readFile(argument)
        if content.hasSuffix("\n") { content.removeLast() }
        return .success(content)
      } catch {
        let reason = (error as NSError).localizedDescription
        return .failure(
          .init(message: "cannot read \(argument) for ${file:\(argument)}: \(reason)"))
      }
    default:
      return .failure(
        .init(message: "unknown scheme '\(scheme)' in '${\(reference)}'; use env or file"))
    }
  }
}

/// Why a `${…}` reference could not be expanded.
public struct InterpolationFailure: Error, Sendable {
  public var message: String
}

// The environment holds secrets (PGPASSWORD, tokens): a value that holds an Interpolation —
// a service ServiceLifecycle names in a debug line, say — must not print it.
extension Interpolation: CustomStringConvertible, CustomDebugStringConvertible {
  public var description: String {
    "Interpolation(environment: [\(environment.count) variables hidden], secretsDirectories: \(secretsDirectories))"
  }

  public var debugDescription: String { description }
}
