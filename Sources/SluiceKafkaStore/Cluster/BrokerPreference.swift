/// Which broker to ask first when any broker will do (Metadata, FindCoordinator, an idempotent
/// producer's InitProducerId), as a value: the one that answered last, then those that have not
/// failed (by node id), then those that failed, the longest ago first. So a broker that is
/// reachable but hangs costs one request timeout, not one per metadata refresh, and one that
/// comes back is tried again only when the others fail too.
struct BrokerPreference: Sendable, Equatable {
  /// The node that answered last, nil before any or after it failed.
  private(set) var lastAnswered: Int32?
  /// When each node last failed (nodes that answered since are not here).
  private var failures: [Int32: ContinuousClock.Instant] = [:]

  /// `node` answered.
  mutating func answered(_ node: Int32) {
    lastAnswered = node
    failures[node] = nil
  }

  /// `node` could not be reached or did not answer at `instant`.
  mutating func failed(_ node: Int32, at instant: ContinuousClock.Instant = .now) {
    failures[node] = instant
    if lastAnswered == node { lastAnswered = nil }
  }

  /// `nodes` in the order to ask them.
  func order(_ nodes: some Sequence<Int32>) -> [Int32] {
    nodes.sorted { a, b in
      let (rankA, rankB) = (rank(a), rank(b))
      if rankA != rankB { return rankA < rankB }
      if let failedA = failures[a], let failedB = failures[b], failedA != failedB {
        return failedA < failedB
      }
      return a < b
    }
  }

  private func rank(_ node: Int32) -> Int {
    if node == lastAnswered { return 0 }
    return failures[node] == nil ? 1 : 2
  }
}
