import SluiceCore

/// Debezium's transaction metadata (`provide.transaction.metadata`): a BEGIN record before a
/// transaction's first event and an END record after its last, both to the transaction topic,
/// and a `transaction` block in each event, as Debezium 3.x writes them for PostgreSQL.
///
/// Debezium's transaction id for PostgreSQL is `<xid>:<lsn>`, where the LSN is that of the
/// message being handled (`PostgresTransactionMonitor`): the Begin message's for BEGIN, the
/// event's own for its block, the Commit message's for END. The three ids of one transaction
/// share the xid and differ in the LSN, as Debezium's do. `ts_ms` of BEGIN and END is the
/// commit time. END lists the events per table as Debezium's `HashMap` iterates them
/// (``TransactionCounts/javaHashMapOrder``), so the JSON is the same byte for byte.
struct TransactionMetadata: Sendable, Equatable {
  /// Debezium's default suffix of the topic, `topic.transaction`.
  static let defaultSuffix = "transaction"

  /// Where BEGIN and END records go: Debezium's `<topic.prefix>.transaction`.
  var topic: String
}

/// The events of one transaction so far, per table in the order tables first appeared.
struct TransactionCounts {
  private(set) var total: Int64 = 0
  private(set) var collections: [(name: String, count: Int64)] = []
  private var indexes: [UInt32: Int] = [:]

  /// Counts one event of table `oid` (named `schema.table`); returns its `total_order` and
  /// `data_collection_order`, both from 1.
  mutating func count(_ oid: UInt32, name: @autoclosure () -> String) -> (
    total: Int64, collection: Int64
  ) {
    total += 1
    let index: Int
    if let known = indexes[oid] {
      index = known
    } else {
      index = collections.count
      indexes[oid] = index
      collections.append((name(), 0))
    }
    collections[index].count += 1
    return (total, collections[index].count)
  }

  /// The counts less what the snapshot's replay filter dropped (``TransactionDrops``), a
  /// table left without events taken out, the others in the order they came.
  func subtracting(_ drops: TransactionDrops) -> TransactionCounts {
    var out = TransactionCounts()
    for (oid, index) in indexes.sorted(by: { $0.value < $1.value }) {
      let count = collections[index].count - drops.byRelation[oid, default: 0]
      guard count > 0 else { continue }
      out.indexes[oid] = out.collections.count
      out.collections.append((collections[index].name, count))
      out.total += count
    }
    return out
  }

  /// The order a `java.util.HashMap<String, Long>` filled in this order iterates its keys:
  /// by bucket (the spread `String.hashCode` masked to the table's capacity, 16 doubled
  /// whenever the size passes three quarters of it), then in insertion order within a bucket
  /// (a resize splits a bucket keeping that order). Debezium's END lists tables that way.
  static func javaHashMapOrder(_ names: [String]) -> [Int] {
    var capacity = 16
    while names.count > capacity * 3 / 4 { capacity *= 2 }
    let buckets = names.map { name -> Int in
      var h: Int32 = 0
      for unit in name.utf16 { h = h &* 31 &+ Int32(unit) }
      let spread = UInt32(bitPattern: h) ^ (UInt32(bitPattern: h) >> 16)
      return Int(spread & UInt32(capacity - 1))
    }
    return names.indices.sorted { (buckets[$0], $0) < (buckets[$1], $1) }
  }
}
