import Foundation
import SluiceCore
import Synchronization

/// The log's writer threads. Callers queue encoded batches per partition; a free writer thread
/// takes everything queued for one partition, writes it, syncs the segment once for the whole
/// group and wakes the callers — many concurrent appends to a partition, one fdatasync.
///
/// Partitions are committed independently, each by one thread at a time (``CommitSchedule``):
/// while one partition waits for its fdatasync, another's batches are being written and its
/// fdatasync is issued, so the disk has several flushes in flight instead of a barrier after
/// every group. Appends to one partition are written in the order they were submitted.
///
/// A ticker thread runs the `interval` fsync policy and retention on its timer.
final class GroupCommitter: @unchecked Sendable {
  // @unchecked: `schedule` and `runningWriters` are guarded by `condition`; `tickerStopping`
  // and `tickerStopped` by `tickerCondition`; `dirty` by `dirtyLock`; `PartitionLog`
  // serialises its own state.
  struct Pending {
    var partition: PartitionLog
    var batch: [UInt8]
    var recordCount: Int
    var continuation: CheckedContinuation<Int64, any Error>
  }

  private let condition = NSCondition()
  private var schedule = CommitSchedule<ObjectIdentifier, Pending>()
  private var runningWriters = 0
  /// The ticker waits on a condition of its own, so a wake-up meant for a writer never lands
  /// on it.
  private let tickerCondition = NSCondition()
  private var tickerStopping = false
  private var tickerStopped = false
  private let policy: FsyncPolicy
  private let tick: Duration
  private let onTick: (Int64) -> Void
  private let fsyncs = Atomic<Int>(0)
  private let dirtyLock = NSLock()
  private var dirty: [ObjectIdentifier: PartitionLog] = [:]
  private let buffers: BatchBufferPool
  private let fsyncTimer = FsyncTimer()

  init(
    policy: FsyncPolicy, tick: Duration, writerThreads: Int, buffers: BatchBufferPool,
    onTick: @escaping (Int64) -> Void
  ) {
    self.policy = policy
    self.buffers = buffers
    self.tick = tick
    self.onTick = onTick
    let count = max(1, writerThreads)
    runningWriters = count
    for i in 0..<count {
      let thread = Thread { [self] in runWriter() }
      thread.name = "sluice-log-writer-\(i)"
      thread.start()
    }
    let ticker = Thread { [self] in runTicker() }
    ticker.name = "sluice-log-ticker"
    ticker.start()
  }

  var fsyncCount: Int { fsyncs.load(ordering: .relaxed) }

  func submit(_ pending: consuming Pending) {
    condition.lock()
    if schedule.isStopping {
      condition.unlock()
      pending.continuation.resume(throwing: LogError.closed)
      return
    }
    let lane = ObjectIdentifier(pending.partition)
    if schedule.submit(pending, to: lane) == .wakeWriter { condition.signal() }
    condition.unlock()
  }

  /// Finishes what is queued, syncs what the policy left unsynced, and stops the threads.
  func stop() {
    condition.lock()
    schedule.stop()
    condition.broadcast()
    while runningWriters > 0 { condition.wait() }
    condition.unlock()
    tickerCondition.lock()
    tickerStopping = true
    tickerCondition.signal()
    while !tickerStopped { tickerCondition.wait() }
    tickerCondition.unlock()
    syncDirty()
  }

  // MARK: - Writer threads

  private func runWriter() {
    var group: [Pending] = []
    condition.lock()
    loop: while true {
      switch schedule.next(taking: &group) {
      case .commit(let lane):
        condition.unlock()
        commit(&group)
        group.removeAll()
        condition.lock()
        // No wake-up when the lane is ready again: this thread asks for work next and takes
        // it (or a lane ahead of it, whose own submit woke another thread).
        _ = schedule.finished(lane)
      case .wait:
        condition.wait()
      case .exit:
        break loop
      }
    }
    runningWriters -= 1
    // Wake the other writers (they exit too) and `stop()`.
    condition.broadcast()
    condition.unlock()
  }

  /// Writes one partition's group in queue order, syncs the segment it ended in once, then
  /// publishes and acknowledges the appends (all failing if the sync fails).
  private func commit(_ group: inout [Pending]) {
    let partition = group[0].partition
    let now = currentTimeMillis()
    var results: [Result<Int64, any Error>] = []
    results.reserveCapacity(group.count)
    // The last segment written to (earlier ones were sealed, i.e. synced, when they rolled).
    var touched: Segment?
    var (appendedRecords, appendedBytes) = (0, 0)
    for i in group.indices {
      // Moved out, so the pool gets the only reference and the next encode reuses it in place.
      let batch = group[i].batch
      group[i].batch = []
      do {
        let (base, segment) = try partition.write(
          batch, recordCount: group[i].recordCount, nowMs: now)
        results.append(.success(base))
        touched = segment
        appendedRecords += group[i].recordCount
        appendedBytes += batch.count
      } catch {
        results.append(.failure(Self.unwritable(error)))
      }
      buffers.give(consume batch)
    }
    var syncError: (any Error)?
    if let touched {
      let end = partition.writtenEnd
      if policy == .batch {
        do { try fsyncTimer.measure { try touched.sync() } } catch {
          syncError = Self.unwritable(error)
        }
        fsyncs.add(1, ordering: .relaxed)
      } else {
        dirtyLock.withLock { dirty[ObjectIdentifier(partition)] = partition }
      }
      if syncError == nil { partition.markDurable(upTo: end) }
    }
    partition.appended.count(records: appendedRecords, bytes: appendedBytes)
    for (pending, result) in zip(group, results) {
      if let syncError {
        pending.continuation.resume(throwing: syncError)
      } else {
        pending.continuation.resume(with: result)
      }
    }
  }

  // MARK: - Ticker thread

  private func runTicker() {
    var lastTick = ContinuousClock.now
    let interval: Duration? = if case .interval(let every) = policy { every } else { nil }
    let wakeEvery = min(interval ?? tick, tick)
    tickerCondition.lock()
    while !tickerStopping {
      _ = tickerCondition.wait(until: Date(timeIntervalSinceNow: wakeEvery.inSeconds))
      if tickerStopping { break }
      tickerCondition.unlock()
      if interval != nil { syncDirty() }
      if ContinuousClock.now - lastTick >= tick {
        lastTick = .now
        // Retention compares record timestamps, so it gets the wall clock they are written in.
        onTick(currentTimeMillis())
      }
      tickerCondition.lock()
    }
    tickerStopped = true
    tickerCondition.broadcast()
    tickerCondition.unlock()
  }

  private func syncDirty() {
    let partitions = dirtyLock.withLock {
      let all = Array(dirty.values)
      dirty.removeAll()
      return all
    }
    for partition in partitions {
      try? fsyncTimer.measure { try partition.activeSegment.sync() }
      fsyncs.add(1, ordering: .relaxed)
    }
  }

  /// Write failures (disk full, read-only) surface as "cannot write", which callers map to 503.
  private static func unwritable(_ error: any Error) -> any Error {
    if case LogError.io(let path, let operation, let reason) = error {
      return LogError.notWritable(path: path, reason: "\(operation): \(reason)")
    }
    return error
  }
}
