import Foundation

/// The crash tests' one way to kill a worker: SIGKILL at random moments and start it again,
/// so each exactly-once test says only what runs meanwhile and what must hold afterwards.
struct CrashLoop {
  /// Kills at least this many times, however soon the load ends…
  var atLeast: Int
  /// …and at most this many.
  var atMost = Int.max
  /// Seconds between a start and the next kill, drawn at random each time.
  var pauses: ClosedRange<Double>
  /// How long a restarted worker may take to answer (longer on Kafka, or while a slot recovers).
  var startTimeout: TimeInterval = 30

  /// What a run of kills came to.
  struct Outcome {
    var kills = 0
    /// The kills that landed while `busy` said work was in flight: the ones that prove anything.
    var whileBusy = 0
  }

  /// Kills `worker` and starts it again until it has been killed `atLeast` times and `loading`
  /// says the load is over (or `atMost` is reached, or `ready` says to stop). `ready` runs
  /// before each pause (to wait for a phase, say); `busy` right before each kill.
  @discardableResult
  func run(
    _ worker: WorkerProcess, while loading: () -> Bool,
    ready: () throws -> Bool = { true }, busy: () throws -> Bool = { true }
  ) throws -> Outcome {
    var outcome = Outcome()
    var generator = SystemRandomNumberGenerator()
    while outcome.kills < atMost && (outcome.kills < atLeast || loading()) {
      guard try ready() else { break }
      Thread.sleep(forTimeInterval: Double.random(in: pauses, using: &generator))
      if try busy() { outcome.whileBusy += 1 }
      worker.kill9()
      outcome.kills += 1
      try worker.start(timeout: startTimeout)
    }
    return outcome
  }
}
