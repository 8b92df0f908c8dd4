import Foundation

/// Expands references in config values so secrets stay out of config files:
///
/// - `${env:NAME}` — the environment variable `NAME`; an error when it is not set;
/// - `${env:NAME:-default}` — the variable, or `default` when it is not set;
/// - `${file:/path}` — the file's contents, one trailing newline removed (as a secret file
///   written by `echo` or a Kubernetes secret volume ends);
/// - `$${` — a literal `${`.
///
/// A value may hold several references and text around them. Expanded text is never expanded
/// again, so a password containing `${` stays as it is. Keys are not expanded, only values.
public struct Interpolation: Sendable {
  /// Why a reference could not be expanded; ``ConfigNode`` places it at the scalar.
  public struct Failure: Error, Sendable, Equatable {
    /// The message, e.g. `environment variable PGPASSWORD is not set (…)`.
    public var message: String
  }

  /// The schemes `${scheme:…}` understands.
  public static let schemes = ["env", "file"]

  /// Reads a file as UTF-8 text; its errors give the operating system's reason ("No such file
  /// or directory"). The default `readFile`.
  public static let readFromFileSystem: @Sendable (String) throws -> String = {
    try ConfigFile.contents(of: $0)
  }

  /// The variables `${env:…}` reads.
  public var environment: [String: String]
  /// Reads the file `${file:…}` names (the path as written; relative paths resolve against
  /// the working directory).
  public var readFile: @Sendable (String) throws -> String

  /// An interpolation over the given environment and file reader; the defaults are the
  /// process's environment and the file system.
  public init(
    environment: [String: String] = ProcessInfo.processInfo.environment,
    readFile: @escaping @Sendable (String) throws -> String = Interpolation.readFromFileSystem
  ) {
    self.environment = environment
    self.readFile = readFile
  }

  /// `text` with every reference replaced by its value and every `$${` by `${`.
  public func expand(_ text: String) throws(Failure) -> String {
    guard text.contains("${") else { return text }
    var output = ""
    var rest = Substring(text)
    while let dollar = rest.firstIndex(of: "$") {
      output += rest[..<dollar]
      let tail = rest[dollar...]
      if tail.hasPrefix("$${") {
        output += "${"
        rest = tail.dropFirst(3)
      } else if tail.hasPrefix("${") {
        let body = tail.dropFirst(2)
        guard let close = body.firstIndex(of: "}") else {
          throw Failure(message: "'${' has no closing '}' (write a literal '${' as '$${')")
        }
        output += try resolve(body[..<close])
        rest = body[body.index(after: close)...]
      } else {
        output += "$"
        rest = tail.dropFirst()
      }
    }
    output += rest
    return output
  }

  /// The value of one reference, `scheme:argument` without the `${` and `}`.
  private func resolve(_ reference: Substring) throws(Failure) -> String {
    guard let colon = reference.firstIndex(of: ":") else {
      throw Failure(
        message:
          "'${\(reference)}' needs a scheme: ${env:\(reference)} or ${file:/path} (write a literal '${' as '$${')"
      )
    }
    let scheme = String(reference[..<colon])
    let argument = String(reference[reference.index(after: colon)...])
    switch scheme {
    case "env":
      return try environmentValue(argument)
    case "file":
      return try fileContents(argument)
    default:
      var message =
        "unknown interpolation scheme '\(scheme)' in '${\(reference)}'; expected one of: env, file"
      if let guess = DidYouMean.suggestion(for: scheme, among: Self.schemes) {
        message += "; did you mean '\(guess)'?"
      }
      throw Failure(message: message)
    }
  }

  private func environmentValue(_ argument: String) throws(Failure) -> String {
    var name = argument
    var fallback: String?
    if let separator = argument.range(of: ":-") {
      name = String(argument[..<separator.lowerBound])
      fallback = String(argument[separator.upperBound...])
    }
    guard !name.isEmpty else { throw Failure(message: "'${env:\(argument)}' names no variable") }
    if let value = environment[name] { return value }
    if let fallback { return fallback }
    throw Failure(
      message: "environment variable \(name) is not set (give a default with ${env:\(name):-value})"
    )
  }

  private func fileContents(_ path: String) throws(Failure) -> String {
    guard !path.isEmpty else { throw Failure(message: "'${file:}' names no file") }
    var contents: String
    do {
      contents = try readFile(path)
    } catch {
      throw Failure(
        message: "cannot read \(path) for ${file:\(path)}: \(ConfigFile.reason(for: error))")
    }
    // "\r\n" is one Character, so this trims either line ending.
    if contents.last == "\n" || contents.last == "\r\n" { contents.removeLast() }
    return contents
  }
}
