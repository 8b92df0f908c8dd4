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
        var results: [Result<Int64, any Error>] = []
        results.reserveCapacity(group.count)
        // The last segment each partition wrote to in this group (earlier ones were sealed on roll).
        var touched: [ObjectIdentifier: (PartitionLog, Segment)] = [:]
        for pending in group {
            var batch = pending.batch
            do {
                let (base, segment) = try pending.partition.write(&batch, recordCount: pending.recordCount, nowMs: now)
                touched[ObjectIdentifier(pending.partition)] = (pending.partition, segment)
                results.append(.success(base))
            } catch {
                results.append(.failure(Self.unwritable(error)))
            }
        }
        var failed: [ObjectIdentifier: any Error] = [:]
        for (id, (partition, segment)) in touched {
            if policy == .batch {
                do {
                    try segment.sync()
                    statsLock.withLock { fsyncs += 1 }
                } catch {
                    failed[id] = Self.unwritable(error)
                    continue
                }
            } else {
                dirty[id] = partition
            }
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
