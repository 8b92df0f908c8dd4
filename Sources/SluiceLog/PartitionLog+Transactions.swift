/// A partition's transactions (``PartitionTransactions``), read from its batch headers the
/// first time they are asked for after a start (the whole partition, headers only), then
/// brought up to date with the batches made durable since, each time they are asked for.
extension PartitionLog {
  func transactions() throws -> PartitionTransactions {
    let from = lock.withLock { transactionState.end }
    let (batches, end) = try transactionBatches(from: from)
    return lock.withLock {
      transactionState.apply(batches, through: end)
      return transactionState
    }
  }
}
