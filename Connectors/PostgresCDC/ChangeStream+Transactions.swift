import SluiceCore

// MARK: - Transaction metadata records and blocks (TransactionMetadata)

extension ChangeStream {
  /// What an event's `transaction` block holds.
  struct TransactionBlock {
    var xid: UInt64
    /// The event's LSN, the second half of its id.
    var lsn: LSN
    var totalOrder: Int64
    var collectionOrder: Int64
  }

  /// Writes the event's `transaction` block, or null (snapshot reads, metadata off).
  static func write(_ block: TransactionBlock?, to out: inout JSONWriter) {
    guard let block else { return out.null() }
    out.raw("{\"id\":")
    writeTransactionID(xid: block.xid, lsn: block.lsn, to: &out)
    out.raw(",\"total_order\":")
    out.number(block.totalOrder)
    out.raw(",\"data_collection_order\":")
    out.number(block.collectionOrder)
    out.byte("}")
  }

  /// `"<xid>:<lsn>"`, both decimal, as Debezium's PostgreSQL transaction ids.
  static func writeTransactionID(xid: UInt64, lsn: LSN, to out: inout JSONWriter) {
    out.byte("\"")
    out.number(xid)
    out.byte(":")
    out.number(lsn.value)
    out.byte("\"")
  }

  /// The BEGIN or END record of `transaction` (END with its counts), at `position`, with the
  /// id's LSN `lsn`.
  static func transactionRecord(
    ending: Bool, _ transaction: Transaction, lsn: LSN, position: ChangePosition,
    metadata: TransactionMetadata
  ) -> ChangeRecord {
    let xid = UInt64(transaction.xid)
    var key = JSONWriter(capacity: 40)
    key.raw("{\"id\":")
    writeTransactionID(xid: xid, lsn: lsn, to: &key)
    key.byte("}")
    var value = JSONWriter(capacity: 128 + 48 * transaction.counts.collections.count)
    if ending {
      value.raw("{\"status\":\"END\",\"id\":")
    } else {
      value.raw("{\"status\":\"BEGIN\",\"id\":")
    }
    writeTransactionID(xid: xid, lsn: lsn, to: &value)
    if ending {
      value.raw(",\"event_count\":")
      value.number(transaction.counts.total)
      value.raw(",\"data_collections\":[")
      let collections = transaction.counts.collections
      for (n, i) in TransactionCounts.javaHashMapOrder(collections.map(\.name)).enumerated() {
        if n > 0 { value.byte(",") }
        value.raw("{\"data_collection\":")
        value.string(collections[i].name)
        value.raw(",\"event_count\":")
        value.number(collections[i].count)
        value.byte("}")
      }
      value.byte("]")
    } else {
      value.raw(",\"event_count\":null,\"data_collections\":null")
    }
    value.raw(",\"ts_ms\":")
    value.number(transaction.commitMilliseconds)
    value.byte("}")
    return ChangeRecord(
      topic: metadata.topic, key: key.bytes, value: value.bytes, position: position)
  }
}
