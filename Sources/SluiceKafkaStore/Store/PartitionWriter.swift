/// The store's appends through one idempotent ``KafkaProducer``: one append per partition at a
/// time (each batch's sequence numbers must reach the broker after the previous batch's), any
/// number of partitions at once; the producer is initialized on first use and again after a
/// write failed for good (its sequences are then in doubt).
actor PartitionWriter {
  private let producer: KafkaProducer
  /// Partitions with an append in progress, and the appends waiting for each.
  private var busy: [KafkaTopicPartition: [CheckedContinuation<Void, Never>]] = [:]
  private var initializing: Task<Void, any Error>?

  init(producer: KafkaProducer) {
    self.producer = producer
  }

  /// Writes `batches` to `partition` one after another and returns the first record's offset.
  /// The offsets are consecutive unless another producer writes to the partition between two
  /// batches (one batch unless the records exceed the broker's batch limit).
  func append(_ batches: [[KafkaRecord]], to partition: KafkaTopicPartition) async throws -> Int64 {
    await acquire(partition)
    defer { release(partition) }
    try await ready()
    var first: Int64?
    for batch in batches {
      let base = try await producer.send(batch, to: partition)
      if first == nil { first = base }
    }
    return first ?? 0
  }

  func close() async {
    await producer.close()
  }

  /// Initializes the producer unless it is ready; concurrent callers share one InitProducerId.
  private func ready() async throws {
    if let initializing {
      try await initializing.value
      return
    }
    let state = await producer.state
    // Another append may have started the initialization while this one asked for the state.
    if let initializing {
      try await initializing.value
      return
    }
    if case .ready = state { return }
    let producer = self.producer
    let task = Task { try await producer.initialize() }
    initializing = task
    defer { initializing = nil }
    try await task.value
  }

  private func acquire(_ partition: KafkaTopicPartition) async {
    if busy[partition] == nil {
      busy[partition] = []
      return
    }
    await withCheckedContinuation { busy[partition]!.append($0) }
  }

  /// Hands the partition to the next waiting append, or frees it.
  private func release(_ partition: KafkaTopicPartition) {
    guard var waiting = busy[partition], !waiting.isEmpty else {
      busy[partition] = nil
      return
    }
    let next = waiting.removeFirst()
    busy[partition] = waiting
    next.resume()
  }
}
