import Logging

/// The runtime as a source task sees it: where to resume, and where to send records.
public protocol SourceTaskContext: Sendable {
  var connectorName: String { get }
  var taskIndex: Int { get }
  var logger: Logger { get }
  /// The last position whose records were all durable when it was committed; resume after it.
  /// Resuming a little earlier is safe: the runtime drops records already in their partition.
  var committedPosition: SourcePosition? { get }
  /// Writes records to their topics and returns when every one is durable, in the same order.
  /// Records whose position is not past the last one durably in their partition are dropped
  /// (their metadata is that of the stored copy's partition with offset -1,
  /// ``RecordMetadata/replayedOffset``); records a transform dropped get offset -2
  /// (``RecordMetadata/droppedOffset``).
  ///
  /// `records` is consumed: passed as its last use (`send(consume records)` when in doubt), the
  /// runtime moves each record's bytes into the log's records instead of copying them.
  func send(_ records: consuming [SourceRecord]) async throws -> [RecordMetadata]
  /// `records` after the connector's transforms, for ``send(_:)-(PreparedSend)``: `send(records)`
  /// is `send(prepare(records))`. A source that decodes its next batch while one is being
  /// written calls it in its decode stage, so that the transforms overlap the write in flight
  /// rather than lengthen it. Throws what a transform failure throws from `send`.
  func prepare(_ records: consuming [SourceRecord]) throws -> PreparedSend
  /// Writes a prepared batch, as ``send(_:)-([SourceRecord])`` does.
  func send(_ prepared: consuming PreparedSend) async throws -> [RecordMetadata]
  /// Writes records the source encoded itself, one ``EncodedSend`` per partition, commits
  /// `position` with them (the send's last), and returns when they are durable: for a source
  /// of many small records (the snapshot), whose records then never become objects of their
  /// own. Only where ``transformsRecords`` is false and the source picked each record's
  /// partition as the producer would; a partition whose send is not past the position durable
  /// there is skipped whole, as a replay.
  func send(encoded sends: consuming [EncodedSend], committing position: SourcePosition?)
    async throws
  /// Whether the connector has transforms, which may change a record's topic, key or
  /// partition. Without them a record goes where the source sees it go: a source that sends
  /// many records per partition (the snapshot) may then give a position only to each
  /// partition's last record of a send, the one the runtime keeps it with.
  var transformsRecords: Bool { get }
  /// Commits `position` without records: for progress made where no record is (a snapshot that
  /// opens or ends a phase). Everything sent before it must be durable, as it is once `send`
  /// has returned; ``committedPosition`` returns it after a restart.
  func commit(_ position: SourcePosition) async throws
  /// Returns once the position of every send so far is durable. A store without transactions
  /// writes a send's position after the send returns, so after a crash ``committedPosition``
  /// may be a few sends behind the records; a source whose restart must know exactly which
  /// sends were whole (the snapshot's segments) waits for it where that matters.
  func flushCommits() async throws
  /// The position of the last record this connector durably wrote to `partition` (the one the
  /// runtime compares replays with), or nil when it wrote none there.
  func lastDurablePosition(in partition: TopicPartition) async throws -> SourcePosition?
  /// The records this connector wrote that are still kept, for state a source rebuilds from
  /// them after a restart (idempotency keys, a redelivery window): those newer than `maxAge`,
  /// or among the last `maxCount` of each partition (the newest `maxCount` of those), oldest
  /// first. Its records are those with its `sluice.source` header (``SourceHeaders``).
  func recentlyWritten(maxAge: Duration?, maxCount: Int?) async throws -> WrittenRecords
  /// A value shown under `details` in this task's status (slot, lag, snapshot progress…).
  func setDetail(_ name: String, _ value: String?)
  /// Reports (or with nil clears) a problem that does not stop the task, under `warnings` in
  /// its status and in `GET /health` (``TaskWarning``); one per `source`.
  func setWarning(_ source: String, _ warning: TaskWarning?)
  /// The topics, read-only for sources: partition counts (a snapshot spreading its tables).
  /// State kept in records is read back with ``recentlyWritten(maxAge:maxCount:)``.
  var store: any TopicStore { get }
}

/// The runtime as a sink task sees it.
public protocol SinkTaskContext: Sendable {
  var connectorName: String { get }
  var taskIndex: Int { get }
  var logger: Logger { get }
  func setDetail(_ name: String, _ value: String?)
  /// `errors.tolerance: all`: records that cannot be delivered go to the dead-letter topic.
  var toleratesErrors: Bool { get }
  /// Writes `record` durably to the connector's dead-letter topic, with the reason, the attempt
  /// count and `headers` after its own headers. For sinks that retry records themselves and
  /// must keep delivering the rest of a batch while one record fails (the HTTP sink).
  func deadLetter(_ record: Record, reason: String, attempts: Int, headers: [RecordHeader])
    async throws
}

extension SinkTaskContext {
  public var toleratesErrors: Bool { false }
  public func deadLetter(
    _ record: Record, reason: String, attempts: Int, headers: [RecordHeader]
  ) async throws {
    throw SinkTaskFailure(
      description: "no dead-letter topic here; \(record.topicPartition)@\(record.offset): \(reason)"
    )
  }
}

/// Thrown by a sink (or the runtime) when the task must stop: status FAILED with this reason.
/// The worker restarts a failed task with capped backoff; it does not retry the batch.
public struct SinkTaskFailure: Error, CustomStringConvertible, Sendable {
  public var description: String

  public init(description: String) { self.description = description }
}

/// A long-running task that moves events from an upstream system into topics.
///
/// `run` loops until its task is cancelled (graceful shutdown, config change) and then returns
/// after its last `send` finished. Throwing marks the task FAILED; the worker restarts it with
/// capped exponential backoff. Blocking C calls belong on a thread of their own, not here.
public protocol SourceTask: Sendable {
  func run() async throws
}

/// A task that applies topic records downstream (DESIGN.md §3).
public protocol SinkTask: Sendable {
  /// Called before the first `put` for these partitions (again when new ones appear). Returns
  /// the next offset to deliver for the partitions whose offsets the sink keeps itself,
  /// atomically with its data (exactly-once sinks); the worker's stored offsets apply to the rest.
  func open(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
  /// Delivers records in offset order per partition; returns when they are durable downstream.
  /// A sink that keeps its own offsets may instead return once the batch is handed over, and
  /// report a later failure of it by throwing ``SinkRewind`` from a following call.
  func put(_ records: [Record]) async throws
  /// Called when the group takes these partitions away (another task reads them next): every
  /// record of them given to `put` has been delivered, and the worker has committed their
  /// offsets. A sink that holds state per partition lets go of it here.
  func close(_ partitions: [TopicPartition]) async throws
  /// Releases resources; called once when the task stops.
  func close() async
}

extension SinkTask {
  public func open(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] { [:] }
  public func close(_ partitions: [TopicPartition]) async throws {}
  public func close() async {}
}

/// Thrown by a sink when one record can never be applied (bad data, not a lost connection):
/// the worker skips retries for it and sends it to the DLQ or fails the task.
public struct SinkRecordError: Error, CustomStringConvertible, Sendable {
  public var record: Record
  public var reason: String

  public init(record: Record, reason: String) {
    self.record = record
    self.reason = reason
  }

  public var description: String {
    "record \(record.topicPartition)@\(record.offset) cannot be applied: \(reason)"
  }
}

/// Thrown by a sink that writes batches in the background (its `put` returns once a batch is
/// handed over) when an earlier batch failed: the worker calls `open` again for every partition
/// and resumes from the offsets the sink returns, so nothing is skipped.
public struct SinkRewind: Error, CustomStringConvertible, Sendable {
  public var reason: String

  public init(reason: String) { self.reason = reason }

  public var description: String {
    "an earlier batch failed (\(reason)); resuming from the sink's offsets"
  }
}

/// A configured source connector: validated config, and a factory for its tasks.
public protocol SourceConnector: Sendable {
  /// How many tasks it runs when its file allows `maxTasks` (`tasks:`, Kafka Connect's
  /// `tasks.max`), as Kafka Connect's `Connector.taskConfigs(maxTasks)` says it by the number of
  /// configs it returns: from 1 to `maxTasks` (the runtime keeps it there). Status, the REST
  /// API and metrics show these tasks only. Default: `maxTasks`.
  func taskCount(maxTasks: Int) -> Int
  /// Task `index` of the ``taskCount(maxTasks:)`` tasks, which `count` is.
  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask
  /// Called when the connector's file is removed (not on shutdown), to drop upstream state.
  func removed() async
  /// KIP-875 `GET …/offsets`: where this connector resumes, in its own shape, given the
  /// runtime's committed position. It may run while the connector runs: it must not write.
  /// Defaults in ConnectorOffsets.swift.
  func offsets(committed: SourcePosition?) async throws -> [ConnectorOffset]
  /// KIP-875 `PATCH …/offsets` of a stopped connector: checks the body (throwing
  /// ``ConnectorOffsetsError``), moves upstream state if the resume point lives there, and says
  /// what becomes of the committed position.
  func alterOffsets(_ offsets: [ConnectorOffset], committed: SourcePosition?) async throws
    -> SourceOffsetChange
  /// KIP-875 `DELETE …/offsets` of a stopped connector: afterwards it starts as a new one would.
  func resetOffsets(committed: SourcePosition?) async throws -> SourceOffsetChange
  /// `POST /connectors/{c}/signals` while the connector runs: hands a Debezium signal to the
  /// connector, which makes it durable where its task reads it (the CDC source: its WAL) and
  /// returns what to tell the caller. Default (ConnectorSignal.swift): refused.
  func signal(_ signal: ConnectorSignal) async throws -> String
}

/// A configured sink connector: validated config, and a factory for its tasks.
public protocol SinkConnector: Sendable {
  /// How many tasks it runs when its file allows `maxTasks`, as
  /// ``SourceConnector/taskCount(maxTasks:)`` says for a source. Default: `maxTasks` (the tasks
  /// share the partitions as one consumer group).
  func taskCount(maxTasks: Int) -> Int
  /// Task `index` of the ``taskCount(maxTasks:)`` tasks, which `count` is.
  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask
  func removed() async
  /// How large the batches given to `put` may grow, and how long to wait for one to fill.
  var batching: SinkBatching { get }
  /// How often the worker stores the offsets of delivered records (default 1 s). After a crash
  /// an at-least-once sink delivers again what came after the last store, so a shorter
  /// interval means fewer repeats for the cost of more small writes.
  var offsetCommitInterval: Duration { get }
  /// KIP-875: the next offsets of those `partitions` whose offsets the sink keeps downstream
  /// (as ``SinkTask/open(_:)`` returns them); the consumer group's apply to the rest. It may run
  /// while the connector runs. Default: none.
  func storedOffsets(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64]
  /// KIP-875 `PATCH`/`DELETE …/offsets` of a stopped connector: changes the offsets it keeps
  /// downstream (nil: forget that partition's), or throws ``ConnectorOffsetsError`` saying why
  /// it cannot. The worker then commits the same to the consumer group. Default: nothing kept.
  func alterOffsets(_ offsets: [TopicPartition: Int64?]) async throws
}

/// The batches a sink's `put` receives: at most `maxRecords` records and about `maxBytes`;
/// with a `linger`, a batch that is not full waits up to that long for more records.
public struct SinkBatching: Sendable, Equatable {
  public var maxRecords: Int
  public var maxBytes: Int
  public var linger: Duration

  public init(maxRecords: Int = 500, maxBytes: Int = 4 << 20, linger: Duration = .zero) {
    self.maxRecords = maxRecords
    self.maxBytes = maxBytes
    self.linger = linger
  }
}

extension SourceConnector {
  public func taskCount(maxTasks: Int) -> Int { maxTasks }
  public func removed() async {}
}

extension SinkConnector {
  public func taskCount(maxTasks: Int) -> Int { maxTasks }
  public func removed() async {}
  public var batching: SinkBatching { SinkBatching() }
  public var offsetCommitInterval: Duration { .seconds(1) }
}
