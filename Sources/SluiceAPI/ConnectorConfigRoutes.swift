import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Kafka Connect's config writes: `POST /connectors`, `GET|PUT|PATCH /connectors/{c}/config`,
  /// `DELETE /connectors/{c}`. A change is validated as the worker would load it, then written
  /// to `connectors_dir` as the connector's file and applied by the same reload that picks up a
  /// hand edit (``ConnectorFolder``): the files stay the truth.
  func addConnectorConfigRoutes(to router: Router<BasicRequestContext>) {
    router.post("/connectors") { request, _ -> Response in
      let body = try await connectConfig(from: request, flat: false)
      let name = (body.name ?? "").trimmingCharacters(in: .whitespaces)
      guard !name.isEmpty else { throw APIError(.badRequest, "connector name is required") }
      let config = try named(body.config, name)
      let initial = try body.initialState.map { text -> TargetState in
        guard let state = TargetState(rawValue: text.uppercased()) else {
          throw APIError(
            .badRequest, "initial_state must be RUNNING, PAUSED or STOPPED, got '\(text)'")
        }
        return state
      }
      let folder = try requireFolder()
      if await folder.worker.definitions[name] != nil || status.status(of: name) != nil {
        throw APIError(.conflict, "Connector \(name) already exists")
      }
      let (definition, connector) = try await validated(name: name, config: config, folder: folder)
      if let initial, initial != .running {
        try folder.worker.targetStates.set(initial, for: name)
      }
      try await write(name, config, replacing: nil, folder: folder)
      return try jsonResponse(encoding: info(of: definition, connector), status: .created)
    }
    router.get("/connectors/:name/config") { _, context -> Response in
      let (_, definition) = try await lookUp(try context.parameters.requireDecoded("name"))
      return try jsonResponse(encoding: shownConfig(of: try validDefinition(definition)))
    }
    router.put("/connectors/:name/config") { request, context -> Response in
      let name = try context.parameters.requireDecoded("name")
      let config = try named(try await connectConfig(from: request, flat: true).config, name)
      return try await replace(name, with: config, creating: true)
    }
    router.patch("/connectors/:name/config") { request, context -> Response in
      let name = try context.parameters.requireDecoded("name")
      let (_, definition) = try await lookUp(name)
      let patch = try await decode([String: ConfigText].self, from: request)
      var config = try validDefinition(definition).connectConfig
      for (key, value) in patch.sorted(by: { $0.key < $1.key }) {
        if key == "name", let text = value.text, text != name { throw nameMismatch(text, name) }
        config[key] = value.text
      }
      return try await replace(name, with: config, creating: false)
    }
    router.delete("/connectors/:name") { _, context -> Response in
      let name = try context.parameters.requireDecoded("name")
      let (s, definition) = try await lookUp(name)
      let folder = try requireFolder()
      // A connector whose file is invalid is still deleted by its file.
      let file = definition?.file ?? s.configFile
      guard FileManager.default.fileExists(atPath: file) else {
        throw APIError(.notFound, "Connector \(name) has no file to delete")
      }
      do {
        try await folder.delete(connector: name, file: file)
      } catch let error as WorkerControlError {
        throw APIError(error)
      }
      return Response(status: .noContent)
    }
  }

  /// The connector's config as `GET …/config` shows it: flat, secrets hidden.
  func shownConfig(of definition: ConnectorDefinition?) -> [String: String] {
    guard let definition, let registry = connectors?.worker.registry else { return [:] }
    return registry.redacted(definition.connectConfig).dictionary
  }

  /// PUT and PATCH: creates (201, PUT only) or replaces (200) the connector's file.
  private func replace(_ name: String, with config: ConnectConfig, creating: Bool) async throws
    -> Response
  {
    let folder = try requireFolder()
    let existing = await folder.worker.definitions[name]?.file ?? status.status(of: name)?.configFile
    if existing == nil && !creating { throw APIError(.notFound, "Connector \(name) not found") }
    let (definition, connector) = try await validated(name: name, config: config, folder: folder)
    try await write(name, config, replacing: existing, folder: folder)
    return try jsonResponse(
      encoding: info(of: definition, connector), status: existing == nil ? .created : .ok)
  }

  private func write(
    _ name: String, _ config: ConnectConfig, replacing existing: String?, folder: ConnectorFolder
  ) async throws {
    do {
      try await folder.write(connector: name, yaml: config.yamlText(name: name), replacing: existing)
    } catch let error as WorkerControlError {
      throw APIError(error)
    }
  }

  /// Translates and builds the connector as the worker will when it loads the file, so a
  /// config that would not run is refused before anything is written (400 with the reason).
  private func validated(name: String, config: ConnectConfig, folder: ConnectorFolder)
    async throws -> (ConnectorDefinition, ConfiguredConnector)
  {
    let registry = folder.worker.registry
    let file = (folder.directory as NSString).appendingPathComponent("\(name).yaml")
    do {
      let definition = try registry.definition(
        name: name, config: config, file: file, interpolation: folder.interpolation)
      return (definition, try registry.instantiate(definition))
    } catch {
      throw APIError(.badRequest, "Connector configuration is invalid: \(error)")
    }
  }

  /// The answer to a config write: the tasks listed are those the connector will run.
  private func info(of definition: ConnectorDefinition, _ connector: ConfiguredConnector)
    -> ConnectorInfo
  {
    let type: String
    switch definition.role {
    case .source: type = "source"
    case .sink: type = "sink"
    }
    return ConnectorInfo(
      name: definition.name, config: shownConfig(of: definition),
      tasks: (0..<connector.taskCount(maxTasks: definition.tasks)).map {
        TaskID(connector: definition.name, task: $0)
      },
      type: type)
  }

  private func validDefinition(_ definition: ConnectorDefinition?) throws -> ConnectorDefinition {
    guard let definition else {
      throw APIError(
        .notFound, "the connector's file is invalid, so it has no config to show (see its status)")
    }
    return definition
  }

  func requireFolder() throws -> ConnectorFolder {
    guard let connectors else {
      throw APIError(.notFound, "this API serves no connectors folder")
    }
    return connectors
  }

  /// The config with its `name`, which must be the connector's when the body gives one.
  private func named(_ config: ConnectConfig, _ name: String) throws -> ConnectConfig {
    if let given = config["name"], given != name { throw nameMismatch(given, name) }
    var config = config
    config["name"] = name
    return config
  }

  /// A request body in Kafka Connect's form: `{"name","config":{…},"initial_state"}` for
  /// `POST /connectors`, or the flat config map (`flat`) for the PUT routes. Key order and
  /// each value's text are kept as sent.
  func connectConfig(from request: Request, flat: Bool) async throws -> ConnectConfigFile {
    let body = try await self.body(of: request)
    let text = String(decoding: body.readableBytesView, as: UTF8.self)
    let file = "request body"
    do {
      let root = try ConfigNode.parseAsWritten(text: text, file: file)
      guard case .mapping(let top) = root.content else {
        throw root.error("expected a JSON object, got \(root.kindDescription)")
      }
      if flat {
        // A flat map: a key named `config` is just a key (Kafka Connect takes it as one).
        var config = ConnectConfig()
        for entry in top where !entry.value.isNull {
          guard case .scalar(let value) = entry.value.content else {
            throw entry.value.error(
              "a config value is a string, got \(entry.value.kindDescription)")
          }
          config[entry.key] = value
        }
        return ConnectConfigFile(name: config["name"], nameEntry: nil, config: config)
      }
      return try ConnectConfigFile.parse(root: root)
    } catch let error as ConfigError {
      throw APIError(.badRequest, "request body is not a valid connector config: \(error.message)")
    }
  }

  private func nameMismatch(_ given: String, _ name: String) -> APIError {
    APIError(
      .badRequest,
      "Connector name configuration (\(given)) doesn't match connector name in the URL (\(name))")
  }

  private func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
    let body = try await self.body(of: request)
    do {
      return try JSONDecoder().decode(T.self, from: Data(buffer: body))
    } catch {
      throw APIError(.badRequest, "request body is not a JSON object of strings")
    }
  }
}

/// One value of a Kafka Connect config: a string, or a number or boolean taken as its text
/// (Kafka Connect's JSON mapper does the same); null removes the key in a PATCH. Read as a
/// ``JSONValue``, Sluice's one JSON value.
struct ConfigText: Decodable {
  var text: String?

  init(from decoder: any Decoder) throws {
    switch try JSONValue(from: decoder) {
    case .null: text = nil
    case .string(let s): text = s
    case .bool(let b): text = b ? "true" : "false"
    case .int(let i): text = String(i)
    case .double(let d): text = String(d)
    case .array, .object:
      throw DecodingError.typeMismatch(
        String.self,
        .init(codingPath: decoder.codingPath, debugDescription: "a config value is a string"))
    }
  }
}
