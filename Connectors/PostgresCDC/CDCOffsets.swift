import SluiceCore
import SluicePostgres

/// The CDC source's offsets, shaped like Debezium's:
/// `{"partition": {"server": "<topic prefix>"}, "offset": {"lsn": 23546700, "lsn_text": "0/16750B8"}}`.
///
/// The real resume point is the replication slot's `confirmed_flush_lsn`, so that is what GET
/// shows (and whether a snapshot is under way, from the committed position). A PATCH to an LSN
/// at or past the committed position moves the slot forward, with `pg_replication_slot_advance`:
/// the changes before the new LSN are then never streamed. A PATCH to an LSN between the
/// slot's confirmed LSN and the committed position — a range only a `replay_window` keeps — is
/// a replay (``rewind(to:from:)``). PostgreSQL cannot decode a logical slot from before its
/// confirmed LSN (the WAL behind it may already be recycled), so an earlier LSN is refused
/// rather than pretended. DELETE drops the slot and forgets the committed position: on resume
/// the slot is created anew at the server's current LSN and, with `snapshot: initial`, the
/// tables are read again.
extension PostgresCDCConnector {
  /// Debezium's `topic.prefix` when the topic template is `<prefix>.{schema}.{table}`, else
  /// the connector's name (``CDCConfig/serverName``).
  var serverName: String { config.serverName }

  var offsetPartition: [String: JSONValue] { ["server": .string(serverName)] }

  /// The LSN shown is the slot's confirmed one, or the committed change's commit LSN when that
  /// is later: with a `replay_window` the slot confirms a window behind what the topics hold,
  /// and the committed change is where the connector goes on from. A PATCH of the LSN shown
  /// changes nothing (``CDCOffsetMove``).
  func offsets(committed: SourcePosition?) async throws -> [ConnectorOffset] {
    guard let slot = try await slotState() else { return [] }
    var shown = slot.confirmed
    if case .change(let written, _)? = committed.flatMap(CDCPosition.init),
      written.commitLSN > shown
    {
      shown = written.commitLSN
    }
    var offset: [String: JSONValue] = [
      "lsn": .int(Int64(bitPattern: shown.value)),
      "lsn_text": .string(shown.description),
    ]
    if let progress = committed.flatMap(CDCPosition.init)?.progress {
      // Debezium's offset says `snapshot: true` while its snapshot runs.
      offset["snapshot"] = .bool(!progress.done)
      offset["snapshot_completed"] = .bool(progress.done)
    }
    return [ConnectorOffset(partition: offsetPartition, offset: offset)]
  }

  /// Moves the connector to the LSN given, forward or (inside a `replay_window`) back, as
  /// ``CDCOffsetMove`` decides; `"offset": null` is a reset.
  func alterOffsets(_ offsets: [ConnectorOffset], committed: SourcePosition?) async throws
    -> SourceOffsetChange
  {
    let entry = try SourceOffsetShape.single(offsets, partition: offsetPartition)
    guard let offset = entry.offset else { return try await resetOffsets(committed: committed) }
    let target = try Self.lsn(in: offset)
    // The stopped task's walsender may hold the slot a moment longer and confirm its last
    // LSN: wait for it to let go, so the checks below see the final position.
    let deadline = ContinuousClock.now + .seconds(10)
    var state = try await slotState()
    while let s = state, s.active, ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(200))
      state = try await slotState()
    }
    guard let slot = state else {
      throw ConnectorOffsetsError(
        "replication slot '\(config.slot)' does not exist, so it has no position to move; it is created at the server's current LSN when the connector resumes"
      )
    }
    if slot.active {
      throw ConnectorOffsetsFailure(
        message: "replication slot '\(config.slot)' is still in use by another process")
    }
    switch CDCOffsetMove.decide(
      target: target, confirmed: slot.confirmed, current: slot.current,
      committed: committed.flatMap(CDCPosition.init), slot: config.slot,
      windowBytes: config.replayWindowBytes)
    {
    case .refuse(let message): throw ConnectorOffsetsError(message)
    case .keep: return .keep
    case .rewind(let position): return .commit(position.sourcePosition)
    case .advance: break
    }
    // PostgreSQL advances a slot only as far as its WAL is flushed; commits made with
    // synchronous_commit off are flushed within moments, so go on until the target is reached.
    var reached = slot.confirmed
    while reached < target {
      reached = try await withSlot("advance") { connection in
        let row = try connection.execute(
          "SELECT end_lsn FROM pg_replication_slot_advance($1, $2::pg_lsn)",
          [config.slot, target.description]
        ).first
        return row?[0].flatMap { LSN($0) } ?? .zero
      }
      if reached < target {
        guard ContinuousClock.now < deadline else {
          throw ConnectorOffsetsFailure(
            message:
              "replication slot '\(config.slot)' advanced only to \(reached): the server's WAL is flushed only that far"
          )
        }
        try await Task.sleep(for: .milliseconds(100))
      }
    }
    return .keep
  }

  /// Drops the slot (as ``removed()`` does) and forgets the committed position. After a replay
  /// the generation stays: the topics hold that generation's positions, which would make the
  /// runtime drop every record of a new connector in generation 0 as already written.
  func resetOffsets(committed: SourcePosition?) async throws -> SourceOffsetChange {
    try await withSlot("drop") { connection in
      try connection.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        [config.slot])
    }
    let generation = committed.flatMap(CDCPosition.init)?.generation ?? 0
    return generation == 0
      ? .clear : .commit(CDCPosition.reset(generation: generation).sourcePosition)
  }

  // MARK: - Internals

  /// The LSN of a PATCH: `lsn` (an integer, as GET shows it) or `lsn_text` (`0/16B3748`).
  static func lsn(in offset: [String: JSONValue]) throws -> LSN {
    let shown = JSONValue.object(JSONObject(offset)).jsonText
    let known: Set<String> = ["lsn", "lsn_text", "snapshot", "snapshot_completed"]
    if let unknown = offset.keys.sorted().first(where: { !known.contains($0) }) {
      throw ConnectorOffsetsError(
        "unknown key \"\(unknown)\" in a CDC offset; it takes \"lsn\" (an integer) or \"lsn_text\" (like \"0/16B3748\")"
      )
    }
    var number: LSN?
    if let value = offset["lsn"] {
      guard let n = value.integer, n >= 0 else {
        throw ConnectorOffsetsError("\"lsn\" must be a non-negative integer, got \(value.jsonText)")
      }
      number = LSN(UInt64(n))
    }
    var text: LSN?
    if let value = offset["lsn_text"] {
      guard let s = value.string, let lsn = LSN(s) else {
        throw ConnectorOffsetsError(
          "\"lsn_text\" must be an LSN like \"0/16B3748\", got \(value.jsonText)")
      }
      text = lsn
    }
    if let number, let text, number != text {
      throw ConnectorOffsetsError(
        "\"lsn\" (\(number)) and \"lsn_text\" (\(text)) name different positions")
    }
    guard let lsn = number ?? text else {
      throw ConnectorOffsetsError("a CDC offset needs \"lsn\" or \"lsn_text\", got \(shown)")
    }
    return lsn
  }

  struct SlotPosition {
    var confirmed: LSN
    /// The server's WAL insert position (replay position on a standby).
    var current: LSN
    /// Whether a walsender holds the slot.
    var active: Bool
  }

  /// The slot's confirmed LSN and the server's current one, or nil without a slot.
  func slotState() async throws -> SlotPosition? {
    let control = ControlConnection(config: config)
    let slot = config.slot
    let row: [String?]?
    do {
      row = try await control.run { connection in
        try connection.execute(
          """
          SELECT confirmed_flush_lsn,
            CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
              ELSE pg_current_wal_insert_lsn() END,
            active
          FROM pg_replication_slots WHERE slot_name = $1
          """, [slot]
        ).first
      }
      await control.close()
    } catch {
      await control.close()
      throw error
    }
    guard let row, let confirmed = row[0].flatMap({ LSN($0) }),
      let current = row[1].flatMap({ LSN($0) })
    else { return nil }
    return SlotPosition(confirmed: confirmed, current: current, active: row[2] == "t")
  }

  /// Runs a change of the slot, waiting up to ten seconds for a stopped task's walsender to
  /// let go of it (SQLSTATE 55006, "replication slot is active").
  @discardableResult
  private func withSlot<T: Sendable>(
    _ verb: String, _ change: @escaping @Sendable (PostgresConnection) throws -> T
  ) async throws -> T {
    let control = ControlConnection(config: config)
    let deadline = ContinuousClock.now + .seconds(10)
    var failure: (any Error)?
    var result: T?
    while true {
      do {
        result = try await control.run(change)
      } catch let error as PostgresError
        where error.sqlState == "55006" && ContinuousClock.now < deadline
      {
        try? await Task.sleep(for: .milliseconds(200))
        continue
      } catch {
        failure = ConnectorOffsetsFailure(
          message: "cannot \(verb) replication slot '\(config.slot)': \(error)")
      }
      break
    }
    await control.close()
    if let failure { throw failure }
    return result!
  }
}

/// PostgreSQL refused a slot change for a reason the caller cannot fix by changing the body.
struct ConnectorOffsetsFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
