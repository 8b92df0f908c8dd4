// MARK: - KIP-875: a connector's offsets, read at any time, altered or reset when STOPPED

extension Worker {
  /// Kafka Connect's `GET /connectors/{c}/offsets`, in any state: a source's resume point as
  /// its connector shows it (``SourceConnector/offsets(committed:)``, read without writing,
  /// so a running task is not disturbed); a sink's next offset per partition of its topics —
  /// the sink's own where it keeps them downstream, else its consumer group's.
  public func offsets(of name: String) async throws -> ConnectorOffsets {
    guard let (definition, connector) = known(name) else { throw WorkerControlError.unknown(name) }
    return try await Self.translatingErrors("read") { [store, offsets] in
      switch connector {
      case .source(let source):
        let committed = try await store.committedSourcePosition(connector: name, offsets: offsets)
        return ConnectorOffsets(offsets: try await source.offsets(committed: committed))
      case .sink(let sink):
        let partitions = try await Self.partitions(of: definition.topics, in: store)
        let group = try await Self.groupOffsets(of: name, partitions, in: store)
        let own = try await sink.storedOffsets(of: partitions)
        return ConnectorOffsets(
          offsets: SinkOffsetShape.entries(group.merging(own, uniquingKeysWith: { _, own in own })))
      }
    }
  }

  /// Kafka Connect's `PATCH /connectors/{c}/offsets` for a STOPPED connector; returns Kafka's
  /// message. A source's connector checks the body and says what to commit (a CDC source
  /// moves its slot instead); a sink's partitions change downstream first (the PostgreSQL
  /// sink's offsets table), then in its consumer group. No task runs meanwhile: a resume
  /// waits for the change to end.
  public func alterOffsets(of name: String, _ body: ConnectorOffsets) async throws -> String {
    let (definition, connector) = try stoppedConnector(name)
    guard !body.offsets.isEmpty else {
      throw WorkerControlError(
        .badRequest, "Partitions / offsets need to be provided for an alter offsets request")
    }
    try await whileStopped(name) { [store, offsets] in
      try await Self.translatingErrors("alter") {
        switch connector {
        case .source(let source):
          let session = try await store.makeSourceSession(
            connector: name, task: 0, offsets: offsets)
          let committed = try await session.committedPosition()
          try await Self.apply(
            try await source.alterOffsets(body.offsets, committed: committed), to: session)
        case .sink(let sink):
          let changes = try SinkOffsetShape.parse(body.offsets)
          try await Self.checkPartitions(Array(changes.keys), of: definition.topics, in: store)
          try await sink.alterOffsets(changes)
          try await Self.commitGroupOffsets(of: name, changes, in: store)
        }
      }
    }
    return "The offsets for this connector have been altered successfully"
  }

  /// Kafka Connect's `DELETE /connectors/{c}/offsets` for a STOPPED connector; returns Kafka's
  /// message. Afterwards a source starts as its connector says a new one does
  /// (``SourceConnector/resetOffsets(committed:)``), and a sink delivers every partition of its
  /// topics again from the first record kept.
  public func resetOffsets(of name: String) async throws -> String {
    let (definition, connector) = try stoppedConnector(name)
    try await whileStopped(name) { [store, offsets] in
      try await Self.translatingErrors("reset") {
        switch connector {
        case .source(let source):
          let session = try await store.makeSourceSession(
            connector: name, task: 0, offsets: offsets)
          let committed = try await session.committedPosition()
          try await Self.apply(try await source.resetOffsets(committed: committed), to: session)
        case .sink(let sink):
          let partitions = try await Self.partitions(of: definition.topics, in: store)
          let cleared = Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64?.none) })
          try await sink.alterOffsets(cleared)
          try await Self.commitGroupOffsets(of: name, cleared, in: store)
        }
      }
    }
    return "The offsets for this connector have been reset successfully"
  }

  // MARK: - Internals

  private func known(_ name: String) -> (ConnectorDefinition, ConfiguredConnector)? {
    if let r = running[name] { return (r.definition, r.connector) }
    if let s = stopped[name] { return (s.definition, s.connector) }
    return nil
  }

  private func stoppedConnector(_ name: String) throws -> (ConnectorDefinition, ConfiguredConnector)
  {
    guard let (definition, connector) = known(name) else { throw WorkerControlError.unknown(name) }
    guard stopped[name] != nil, running[name] == nil else {
      throw WorkerControlError(
        .badRequest,
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/\(name)/stop' endpoint"
      )
    }
    return (definition, connector)
  }

  /// Runs `change` once the stopped connector's last tasks have returned, and makes whatever
  /// runs next under its name (a resume, a removal's cleanup, another change) wait for it:
  /// it is queued where ``start(_:_:)`` looks for the incarnation it must wait for.
  private func whileStopped(_ name: String, _ change: @escaping @Sendable () async throws -> Void)
    async throws
  {
    let previous = retiring[name]
    let job = Task {
      await previous?.value
      try await change()
    }
    retiring[name] = Task { _ = await job.result }
    try await job.value
  }

  private static func apply(_ change: SourceOffsetChange, to session: any SourceSession)
    async throws
  {
    switch change {
    case .keep: break
    case .commit(let position): try await session.commit(position)
    case .clear: try await session.resetPosition()
    }
    try await session.flush()
  }

  /// Every partition of `topics` that exists, in order.
  static func partitions(of topics: [String], in store: any TopicStore) async throws
    -> [TopicPartition]
  {
    var result: [TopicPartition] = []
    for topic in topics {
      guard let count = try await store.partitionCount(of: topic) else { continue }
      result += (0..<count).map { TopicPartition(topic, $0) }
    }
    return result
  }

  /// A PATCH names only partitions the sink reads: its topics, and partitions they have.
  private static func checkPartitions(
    _ partitions: [TopicPartition], of topics: [String], in store: any TopicStore
  ) async throws {
    for tp in partitions.sorted() {
      guard topics.contains(tp.topic) else {
        throw ConnectorOffsetsError(
          "topic \(tp.topic) is not one this connector reads (\(topics.joined(separator: ", ")))")
      }
      if let count = try await store.partitionCount(of: tp.topic), tp.partition >= count {
        throw ConnectorOffsetsError(
          "topic \(tp.topic) has no partition \(tp.partition) (it has \(count))")
      }
    }
  }

  private static func groupOffsets(
    of name: String, _ partitions: [TopicPartition], in store: any TopicStore
  ) async throws -> [TopicPartition: Int64] {
    guard !partitions.isEmpty else { return [:] }
    let consumer = try await store.makeConsumer(group: name, member: "offsets-admin")
    do {
      let committed = try await consumer.committed(partitions)
      await consumer.close()
      return committed
    } catch {
      await consumer.close()
      throw error
    }
  }

  /// Commits the new offsets to the sink's group; a removed one (nil) becomes the partition's
  /// first kept offset, where a sink without a committed offset starts anyway.
  private static func commitGroupOffsets(
    of name: String, _ changes: [TopicPartition: Int64?], in store: any TopicStore
  ) async throws {
    guard !changes.isEmpty else { return }
    var next: [TopicPartition: Int64] = [:]
    for (tp, offset) in changes {
      if let offset {
        next[tp] = offset
      } else {
        next[tp] = (try? await store.offsets(of: tp).start) ?? 0
      }
    }
    let consumer = try await store.makeConsumer(group: name, member: "offsets-admin")
    do {
      try await consumer.commit(next)
      await consumer.close()
    } catch {
      await consumer.close()
      throw error
    }
  }

  /// A connector's refusal is the caller's to fix (400); anything else is the worker's (500).
  private static func translatingErrors<T: Sendable>(
    _ verb: String, _ body: () async throws -> T
  ) async throws -> T {
    do {
      return try await body()
    } catch let error as ConnectorOffsetsError {
      throw WorkerControlError(.badRequest, error.message)
    } catch let error as WorkerControlError {
      throw error
    } catch {
      throw WorkerControlError(.failed, "cannot \(verb) the connector's offsets: \(error)")
    }
  }
}
