/// Which partition a log writer thread commits next: the state machine behind
/// ``GroupCommitter``, without threads or I/O, so every transition is a unit test.
///
/// Each partition (a `Lane`) has a FIFO of pending appends and is, at any moment, idle, ready
/// (waiting for a writer thread) or being committed by exactly one thread. A thread takes
/// *everything* queued for a ready partition at once — those appends are written together and
/// share one fdatasync — and appends that arrive meanwhile wait for that thread to finish, then
/// form the partition's next group. Partitions are committed independently, so one partition's
/// fdatasync never waits for another's and the disk sees several flushes in flight.
struct CommitSchedule<Lane: Hashable, Item> {
  /// What a writer thread does next.
  enum Work: Equatable {
    /// Write and sync the items ``next(taking:)`` handed over, then report ``finished(_:)``.
    case commit(Lane)
    /// Nothing is ready: sleep until woken.
    case wait
    /// The schedule is stopping and everything queued is committed: end the thread.
    case exit
  }

  /// What the submitting thread does after ``submit(_:to:)``.
  enum SubmitAction: Equatable {
    /// The lane became ready: wake one writer thread.
    case wakeWriter
    /// Queued behind a commit in progress or a ready lane: nothing to do.
    case queued
    /// The schedule is stopping: fail the append with "closed" (nothing was queued).
    case rejected
  }

  private enum LaneState {
    case ready
    case committing
  }

  private var pending: [Lane: [Item]] = [:]
  private var states: [Lane: LaneState] = [:]
  /// Ready lanes in the order they became ready; served first come, first served.
  private var ready: [Lane] = []
  private var readyHead = 0
  private(set) var isStopping = false

  /// Lanes queued or being committed.
  var busyLanes: Int { states.count }

  mutating func submit(_ item: consuming Item, to lane: Lane) -> SubmitAction {
    if isStopping { return .rejected }
    pending[lane, default: []].append(item)
    if states[lane] != nil { return .queued }
    states[lane] = .ready
    ready.append(lane)
    return .wakeWriter
  }

  /// Called by a writer thread that is free. For ``Work/commit(_:)`` the lane's queued items
  /// are moved into `group` (an out-parameter rather than a payload, so the caller holds the
  /// only reference to them and can hand their buffers on without a copy).
  mutating func next(taking group: inout [Item]) -> Work {
    while readyHead < ready.count {
      let lane = ready[readyHead]
      readyHead += 1
      if readyHead == ready.count {
        ready.removeAll(keepingCapacity: true)
        readyHead = 0
      }
      guard let items = pending.removeValue(forKey: lane), !items.isEmpty else {
        states[lane] = nil
        continue
      }
      states[lane] = .committing
      group = items
      return .commit(lane)
    }
    return isStopping && states.isEmpty ? .exit : .wait
  }

  /// Called by the writer thread when its commit of `lane` is done (acknowledged). Returns
  /// true when the lane has more queued and was made ready again; the same thread calls
  /// ``next(taking:)`` right after, so no other thread needs waking for it.
  mutating func finished(_ lane: Lane) -> Bool {
    precondition(states[lane] == .committing, "finished a lane that was not being committed")
    if pending[lane]?.isEmpty == false {
      states[lane] = .ready
      ready.append(lane)
      return true
    }
    states[lane] = nil
    return false
  }

  /// From now on submissions are rejected; what is queued is still committed, then writer
  /// threads get ``Work/exit``.
  mutating func stop() { isStopping = true }
}
