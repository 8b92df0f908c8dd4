// Fuzz target `config`: bytes as a YAML file, parsed by Sources/SluiceCore/Config (Yams,
// interpolation of `${env:NAME}`, `${env:NAME:-default}` and `${file:/path}`, typed getters, durations, sizes) as a
// worker file and as a connector file, and a connector file's `config:` as the webhook, MQTT
// and PostgreSQL CDC sources read it. A ConfigError (or a connector's thrown error) is an
// answer; a trap is a bug.

private let environment = ["HOME": "/root", "SECRET": "s3cret", "PORT": "8080", "EMPTY": ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeBufferPointer(start: data, count: size)
  // Config files are read as UTF-8 (String(contentsOfFile:encoding: .utf8) refuses others).
  guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
  // `${file:…}` reads a stand-in, not the machine's files (a fuzzer could name /dev/zero).
  let interpolation = Interpolation(
    environment: environment,
    readFile: { path in
      guard path.hasPrefix("/run/secrets/") else { throw ConfigError.fuzzNoSuchFile }
      return "secret-from-file\n"
    })
  if let root = try? ConfigNode.parse(text: text, file: "worker.yaml", interpolation: interpolation)
  {
    _ = try? WorkerConfig.from(root)
  }
  // ConnectorDefinition.parse reads files itself; leave those inputs to the worker file above.
  guard !text.contains("${file:"),
    let definition = try? ConnectorDefinition.parse(
      text: text, file: "connector.yaml", environment: environment)
  else { return 0 }
  switch definition.role {
  case .source("webhook"): _ = try? WebhookConfig(definition: definition)
  case .source("mqtt"): _ = try? MQTTConfig(definition: definition)
  case .source("postgres-cdc"): _ = try? CDCConfig(definition: definition)
  default:
    // Any other type: every connector config the target knows gets a try.
    _ = try? WebhookConfig(definition: definition)
    _ = try? MQTTConfig(definition: definition)
    _ = try? CDCConfig(definition: definition)
  }
  return 0
}

extension ConfigError {
  static let fuzzNoSuchFile = ConfigError(
    file: "", line: 1, column: 1, key: "", message: "no such file")
}
