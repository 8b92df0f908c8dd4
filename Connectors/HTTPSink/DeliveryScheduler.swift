/// Which requests of a `put` may run now: at most `maxInFlight` at once, and never one whose
/// order keys are shared with an earlier request that has not succeeded yet (running, waiting
/// to retry, or not started) — so records of one key, or of one partition with
/// `ordering: partition`, reach the receiver in offset order even when earlier ones are retried.
///
/// A value type with no I/O: the task feeds it events and starts what it returns.
struct DeliveryScheduler {
  enum State: Equatable { case waiting, running, retrying, done }

  private(set) var states: [State]
  private let keys: [[OrderKey]]
  private let maxInFlight: Int
  /// Keys of requests that started and have not finished, with how many hold each.
  private var held: [OrderKey: Int] = [:]
  private(set) var running = 0
  private var firstOpen = 0
  private var remaining: Int

  init(keys: [[OrderKey]], maxInFlight: Int) {
    self.keys = keys
    self.maxInFlight = maxInFlight
    states = Array(repeating: .waiting, count: keys.count)
    remaining = keys.count
  }

  var finished: Bool { remaining == 0 }

  /// The requests to start now, in order; they are marked running.
  mutating func startable() -> [Int] {
    var start: [Int] = []
    var blocked: Set<OrderKey> = []
    // Looking far past a blocked request costs time for little gain; a window of a few times
    // the in-flight limit keeps every connection busy.
    var looked = 0
    var i = firstOpen
    while i < states.count && running < maxInFlight && looked < maxInFlight * 8 {
      defer { i += 1 }
      guard states[i] == .waiting else { continue }
      looked += 1
      let mine = keys[i]
      if mine.contains(where: { held[$0] != nil || blocked.contains($0) }) {
        blocked.formUnion(mine)
        continue
      }
      states[i] = .running
      running += 1
      for key in mine { held[key, default: 0] += 1 }
      start.append(i)
    }
    return start
  }

  /// A request failed and will be retried later; it keeps its keys, so later ones wait.
  mutating func willRetry(_ i: Int) {
    precondition(states[i] == .running)
    states[i] = .retrying
    running -= 1
  }

  /// A request that waited to retry starts again.
  mutating func retryStarted(_ i: Int) {
    precondition(states[i] == .retrying)
    states[i] = .running
    running += 1
  }

  /// A request succeeded (or its records went to the DLQ): its keys are free.
  mutating func completed(_ i: Int) {
    precondition(states[i] == .running)
    states[i] = .done
    running -= 1
    remaining -= 1
    for key in keys[i] {
      if held[key] == 1 { held[key] = nil } else { held[key]! -= 1 }
    }
    while firstOpen < states.count && states[firstOpen] == .done { firstOpen += 1 }
  }
}
