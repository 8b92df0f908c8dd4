import Synchronization

/// Chooses a partition the way Kafka's default partitioner does for records without one:
/// `toPositive(murmur2(key)) % partitions` for keyed records, round-robin for keyless ones.
public final class Partitioner: Sendable {
  private let counter = Mutex<Int>(0)

  public init() {}

  public func partition(forKey key: [UInt8]?, partitions: Int) -> Int {
    precondition(partitions > 0, "a topic has at least one partition")
    if let key {
      // `murmur2(key) % 1` is 0 whatever the key: skip hashing it.
      return partitions == 1 ? 0 : Self.partition(forKey: key, partitions: partitions)
    }
    return counter.withLock { next in
      defer { next &+= 1 }
      return next % partitions
    }
  }

  /// The partition Kafka's default partitioner gives a keyed record.
  public static func partition(forKey key: [UInt8], partitions: Int) -> Int {
    Int(Murmur2.toPositive(Murmur2.hash(key))) % partitions
  }
}
