import Foundation

/// The log's single writer thread. Callers queue encoded batches; the thread takes everything
/// queued, writes each batch to its partition, then syncs each touched segment once for the
/// whole group and wakes the callers — many concurrent appends, one fsync.
///
/// It also runs the `interval` fsync policy and retention on its timer, so every file change
/// happens on this one thread.
final class GroupCommitter: @unchecked Sendable {
  // @unchecked: `queue`, `stopping` and `stopped` are guarded by `condition`; `fsyncs` by
  // `statsLock`; everything else is immutable or touched only by the writer thread.
  struct Pending {
    var partition: PartitionLog
    var batch: [UInt8]
    var recordCount: Int
    var continuation: CheckedContinuation<Int64, any Error>
  }

  private let condition = NSCondition()
  private var queue: [Pending] = []
  private var stopping = false
  private var stopped = false
  private let policy: FsyncPolicy
  private let tickMs: Int64
  private let onTick: (Int64) -> Void
  private let statsLock = NSLock()
  private var fsyncs = 0
  private var dirty: [ObjectIdentifier: PartitionLog] = [:]

  init(policy: FsyncPolicy, tickMs: Int64, onTick: @escaping (Int64) -> Void) {
    self.policy = policy
    self.tickMs = tickMs
    self.onTick = onTick
    let thread = Thread { [self] in run() }
    thread.name = "sluice-log-writer"
    thread.start()
  }

  var fsyncCount: Int { statsLock.withLock { fsyncs } }

  func submit(_ pending: Pending) {
    condition.lock()
    if stopping {
      condition.unlock()
      pending.continuation.resume(throwing: LogError.closed)
      return
    }
    queue.append(pending)
    condition.signal()
    condition.unlock()
  }

  /// Finishes what is queued, syncs, and stops the thread.
  func stop() {
    condition.lock()
    stopping = true
    condition.signal()
    while !stopped { condition.wait() }
    condition.unlock()
  }

  private func run() {
    var lastTick = currentMillis()
    let intervalMs: Int64? = if case .interval(let ms) = policy { Int64(ms) } else { nil }
    let wakeEvery = min(intervalMs ?? tickMs, tickMs)
    while true {
      condition.lock()
      while queue.isEmpty && !stopping {
        if !condition.wait(until: Date(timeIntervalSinceNow: Double(wakeEvery) / 1000)) { break }
      }
      let group = queue
      queue.removeAll()
      let exiting = stopping && group.isEmpty
      condition.unlock()

      if !group.isEmpty { commit(group) }
      let now = currentMillis()
      if intervalMs != nil || exiting { syncDirty() }
      if now - lastTick >= tickMs {
        lastTick = now
        onTick(now)
      }
      if exiting { break }
    }
    condition.lock()
    stopped = true
    condition.broadcast()
    condition.unlock()
  }

  private func commit(_ group: [Pending]) {
    let now = currentMillis()
    // Partitions are independent files: write each partition's batches (in queue order) on
    // its own core, then sync each touched file once.
    var byPartition: [ObjectIdentifier: [Int]] = [:]
    var order: [ObjectIdentifier] = []
    for (i, pending) in group.enumerated() {
      let id = ObjectIdentifier(pending.partition)
      if byPartition[id] == nil { order.append(id) }
      byPartition[id, default: []].append(i)
    }
    let buckets = order.map { byPartition[$0]! }
    let outcome = GroupOutcome(count: group.count, partitions: buckets.count)
    DispatchQueue.concurrentPerform(iterations: buckets.count) { b in
      for i in buckets[b] {
        do {
          let (base, segment) = try group[i].partition.write(
            group[i].batch, recordCount: group[i].recordCount, nowMs: now)
          outcome.wrote(i, base: base, bucket: b, partition: group[i].partition, segment: segment)
        } catch {
          outcome.failed(i, Self.unwritable(error))
        }
      }
    }
    let results = outcome.results
    // The last segment each partition wrote to in this group (earlier ones were sealed on roll).
    let touched = outcome.touched
    var failed: [ObjectIdentifier: any Error] = [:]
    let targets = touched
    if policy == .batch {
      // One fdatasync per touched file, run side by side: the disk overlaps them.
      let errors = SyncErrors(count: targets.count)
      DispatchQueue.concurrentPerform(iterations: targets.count) { i in
        do { try targets[i].1.sync() } catch { errors.set(i, Self.unwritable(error)) }
      }
      statsLock.withLock { fsyncs += targets.count }
      for (i, target) in targets.enumerated() {
        if let error = errors.get(i) { failed[ObjectIdentifier(target.0)] = error }
      }
    } else {
      for (partition, _) in targets { dirty[ObjectIdentifier(partition)] = partition }
    }
    for (partition, _) in targets where failed[ObjectIdentifier(partition)] == nil {
      partition.markDurable(upTo: partition.writtenEnd)
    }
    for (pending, result) in zip(group, results) {
      if let error = failed[ObjectIdentifier(pending.partition)] {
        pending.continuation.resume(throwing: error)
      } else {
        pending.continuation.resume(with: result)
      }
    }
  }

  private func syncDirty() {
    for partition in dirty.values {
      try? partition.activeSegment.sync()
      statsLock.withLock { fsyncs += 1 }
    }
    dirty.removeAll()
  }

  /// Write failures (disk full, read-only) surface as "cannot write", which callers map to 503.
  private static func unwritable(_ error: any Error) -> any Error {
    if case LogError.io(let path, let operation, let reason) = error {
      return LogError.notWritable(path: path, reason: "\(operation): \(reason)")
    }
    return error
  }
}

func currentMillis() -> Int64 {
  Int64((Date().timeIntervalSince1970 * 1000).rounded())
}

/// Errors of the parallel syncs of one group, by index.
private final class SyncErrors: @unchecked Sendable {
  // @unchecked: each index is written by one iteration of concurrentPerform, under `lock`.
  private let lock = NSLock()
  private var errors: [(any Error)?]

  init(count: Int) { errors = Array(repeating: nil, count: count) }

  func set(_ i: Int, _ error: any Error) { lock.withLock { errors[i] = error } }
  func get(_ i: Int) -> (any Error)? { lock.withLock { errors[i] } }
}

/// What the parallel writes of one group produced: a result per pending append and the last
/// segment each partition wrote to.
private final class GroupOutcome: @unchecked Sendable {
  // @unchecked: every slot is written by exactly one concurrentPerform iteration, under `lock`.
  private let lock = NSLock()
  private var slots: [Result<Int64, any Error>?]
  private var segments: [(PartitionLog, Segment)?]

  init(count: Int, partitions: Int) {
    slots = Array(repeating: nil, count: count)
    segments = Array(repeating: nil, count: partitions)
  }

  func wrote(_ i: Int, base: Int64, bucket: Int, partition: PartitionLog, segment: Segment) {
    lock.withLock {
      slots[i] = .success(base)
      segments[bucket] = (partition, segment)
    }
  }

  func failed(_ i: Int, _ error: any Error) { lock.withLock { slots[i] = .failure(error) } }

  var results: [Result<Int64, any Error>] { lock.withLock { slots.map { $0! } } }
  var touched: [(PartitionLog, Segment)] { lock.withLock { segments.compactMap { $0 } } }
}
