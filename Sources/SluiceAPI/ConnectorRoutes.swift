import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Kafka Connect's connector resource, reading side and control: list (with `expand`),
  /// info, status, tasks, pause / resume / stop, restart. Config writes are in
  /// ConnectorConfigRoutes.swift.
  func addConnectorRoutes(to router: Router<BasicRequestContext>) {
    router.get("/connectors") { request, _ -> Response in
      let all = status.all()
      let expand = Set(request.uri.queryParameters.getAll("expand"))
      // Unknown expansions are ignored, as Kafka Connect does.
      guard expand.contains("status") || expand.contains("info") else {
        return try jsonResponse(encoding: all.map(\.name))
      }
      let definitions = await connectors?.worker.definitions ?? [:]
      var expanded: [String: ExpandedConnector] = [:]
      for s in all {
        expanded[s.name] = ExpandedConnector(
          status: expand.contains("status") ? s : nil,
          info: expand.contains("info") ? info(s, definitions[s.name]) : nil)
      }
      return try jsonResponse(encoding: expanded)
    }
    router.get("/connectors/:name") { _, context -> Response in
      let (s, definition) = try await lookUp(try context.parameters.requireDecoded("name"))
      return try jsonResponse(encoding: info(s, definition))
    }
    router.get("/connectors/:name/status") { _, context -> Response in
      let (s, _) = try await lookUp(try context.parameters.requireDecoded("name"))
      return try jsonResponse(encoding: s)
    }
    router.get("/connectors/:name/tasks") { _, context -> Response in
      let (s, definition) = try await lookUp(try context.parameters.requireDecoded("name"))
      let config = shownConfig(of: definition)
      return try jsonResponse(
        encoding: s.tasks.map {
          TaskInfo(id: TaskID(connector: s.name, task: $0.id), config: config)
        })
    }
    router.get("/connectors/:name/tasks/:task/status") { _, context -> Response in
      let (s, _) = try await lookUp(try context.parameters.requireDecoded("name"))
      let id = try taskIndex(context)
      guard let task = s.tasks.first(where: { $0.id == id }) else {
        throw APIError(.notFound, "Task \(s.name)-\(id) not found")
      }
      return try jsonResponse(encoding: task)
    }
    router.put("/connectors/:name/pause") { _, context -> Response in
      try await control(context) { try await $0.setTargetState(.paused, for: $1) }
      return Response(status: .accepted)
    }
    router.put("/connectors/:name/resume") { _, context -> Response in
      try await control(context) { try await $0.setTargetState(.running, for: $1) }
      return Response(status: .accepted)
    }
    router.put("/connectors/:name/stop") { _, context -> Response in
      // Answered once the tasks have ended, so nothing is delivered after the 204.
      try await control(context) { try await $0.setTargetState(.stopped, for: $1)?.value }
      return Response(status: .noContent)
    }
    router.post("/connectors/:name/restart") { request, context -> Response in
      let query = request.uri.queryParameters
      let includeTasks = try flag(query["includeTasks"].map(String.init), "includeTasks")
      let onlyFailed = try flag(query["onlyFailed"].map(String.init), "onlyFailed")
      let name = try context.parameters.requireDecoded("name")
      try await control(context) {
        try await $0.restart($1, includeTasks: includeTasks, onlyFailed: onlyFailed)
      }
      // Kafka Connect: the connector alone restarts synchronously (204); otherwise the
      // restart is accepted and the status shows what restarts (202).
      guard includeTasks || onlyFailed else { return Response(status: .noContent) }
      guard let s = status.status(of: name) else {
        throw APIError(.notFound, "Connector \(name) not found")
      }
      return try jsonResponse(encoding: s, status: .accepted)
    }
    // KIP-558: the topics the connector has used since it was created or last reset.
    router.get("/connectors/:name/topics") { _, context -> Response in
      let (s, _) = try await lookUp(try context.parameters.requireDecoded("name"))
      return try jsonResponse(
        encoding: [s.name: ActiveTopicsInfo(topics: status.topics.topics(of: s.name))])
    }
    router.put("/connectors/:name/topics/reset") { _, context -> Response in
      let (s, _) = try await lookUp(try context.parameters.requireDecoded("name"))
      status.topics.reset(s.name)
      return Response(status: .accepted)
    }
    router.post("/connectors/:name/tasks/:task/restart") { _, context -> Response in
      let id = try taskIndex(context)
      try await control(context) { try await $0.restartTask($1, id) }
      return Response(status: .noContent)
    }
  }

  /// The status and (when its file is valid) the definition of a connector, or 404.
  func lookUp(_ name: String) async throws -> (ConnectorStatus, ConnectorDefinition?) {
    guard let s = status.status(of: name) else {
      throw APIError(.notFound, "Connector \(name) not found")
    }
    return (s, await connectors?.worker.definitions[name])
  }

  /// Runs a change on the worker, turning its errors into Kafka Connect's answers.
  func control(
    _ context: BasicRequestContext, _ change: (Worker, String) async throws -> Void
  ) async throws {
    let name = try context.parameters.requireDecoded("name")
    guard let worker = connectors?.worker else {
      throw APIError(.notFound, "Connector \(name) not found")
    }
    do {
      try await change(worker, name)
    } catch let error as WorkerControlError {
      throw APIError(error)
    }
  }

  func info(_ s: ConnectorStatus, _ definition: ConnectorDefinition?) -> ConnectorInfo {
    ConnectorInfo(
      name: s.name, config: shownConfig(of: definition),
      tasks: s.tasks.map { TaskID(connector: s.name, task: $0.id) }, type: s.type)
  }

  private func taskIndex(_ context: BasicRequestContext) throws -> Int {
    let text = try context.parameters.requireDecoded("task")
    // Kafka Connect's integer path parameter: anything else matches no task (404).
    guard let id = Int(text), id >= 0 else {
      throw APIError(.notFound, "no task '\(text)': a task id is a non-negative integer")
    }
    return id
  }

  private func flag(_ text: String?, _ name: String) throws -> Bool {
    switch text?.lowercased() {
    case nil, "false": return false
    case "true": return true
    case let other?: throw APIError(.badRequest, "\(name) must be true or false, got '\(other)'")
    }
  }
}

extension APIError {
  init(_ error: WorkerControlError) {
    switch error.kind {
    case .notFound: self.init(.notFound, error.description)
    case .conflict: self.init(.conflict, error.description)
    case .badRequest: self.init(.badRequest, error.description)
    case .failed: self.init(.internalServerError, error.description)
    }
  }
}
