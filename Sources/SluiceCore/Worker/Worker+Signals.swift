// MARK: - Signals to a running source connector (POST /connectors/{c}/signals)

extension Worker {
  /// Hands `signal` to the running source connector `name` and returns its answer. A signal
  /// acts on a running task, so a connector that is paused, stopped or failed, or a sink, is a
  /// conflict (409); a malformed signal is the caller's to fix (400).
  public func signal(_ signal: ConnectorSignal, to name: String) async throws -> String {
    guard let current = running[name] else {
      if stopped[name] != nil {
        throw WorkerControlError(
          .conflict, "Connector \(name) is STOPPED; signals go to a running connector")
      }
      throw WorkerControlError.unknown(name)
    }
    guard case .source(let source) = current.connector else {
      throw WorkerControlError(
        .conflict, "Connector \(name) is a sink; signals go to change data capture sources")
    }
    if let state = status.status(of: name)?.connector.state, state != .running {
      throw WorkerControlError(
        .conflict, "Connector \(name) is \(state.rawValue); signals go to a running connector")
    }
    do {
      return try await source.signal(signal)
    } catch let error as ConnectorSignalError {
      throw WorkerControlError(error.kind == .invalid ? .badRequest : .conflict, error.message)
    } catch {
      throw WorkerControlError(.failed, "cannot deliver the signal: \(error)")
    }
  }
}
