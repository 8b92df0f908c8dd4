import SluiceCore

// MARK: - What a ReplicationSession asks of the task, and what the task answers

/// Catalog facts a Relation message (or a chunk of incremental snapshot rows) needs before
/// ``ReplicationSession`` can apply it; ``CDCSourceTask`` asks the control connection.
struct CatalogLookup: Equatable {
  /// The table whose primary key to read (its replica identity does not name the key).
  var primaryKeyOf: UInt32?
  /// Types created in the database that the stream has not seen yet.
  var userTypes: [UInt32]
  /// The table whose NOT NULL columns and defaults to read.
  var columnFactsOf: UInt32?
}

/// The catalog's answer to a ``CatalogLookup``.
struct CatalogAnswer {
  var primaryKey: [String]? = nil
  var userTypes: [UInt32: UserType] = [:]
  var columnFacts: ColumnFacts? = nil
}

/// A chunk's outcome: what ``CDCSourceTask`` makes durable, in stream order, before it calls
/// ``ReplicationSession/madeDurable(_:)``.
struct Emit {
  /// Records to send (none: nothing to send, only `commit` if there is one).
  var records: [SourceRecord]
  /// Everything before this LSN is durable once these records are.
  var confirmAfter: LSN
  /// A position to commit after the records (or on its own when there are none): the
  /// incremental snapshot's changed state must be durable before the slot is confirmed past
  /// its cause.
  var commit: SourcePosition?
  /// The incremental snapshot's state that is durable once this is.
  var state: IncrementalSnapshot.State?
  /// What the chunk decoded, for the metrics once durable.
  var tally: ChangeTally
  /// Changes at or before the committed position that the chunk dropped.
  var droppedWritten: Int

  /// What the session needs back once this is durable (not the records, which need not be
  /// kept alive for it).
  var receipt: Receipt { Receipt(confirmAfter: confirmAfter, state: state) }

  /// An emit made durable, for ``ReplicationSession/madeDurable(_:)``.
  struct Receipt: Sendable {
    var confirmAfter: LSN
    var state: IncrementalSnapshot.State?
  }
}
