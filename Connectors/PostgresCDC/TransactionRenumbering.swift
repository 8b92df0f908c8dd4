/// What the initial snapshot's replay filter needs to render an event or END record again
/// when it drops other events of the same transaction (``SnapshotReplayFilter``): after an
/// interrupted snapshot, a transaction that committed before the last segment's snapshot may
/// have some changes the segment's rows already hold (dropped) and others it does not (kept).
/// The kept events' `transaction` block and the END's counts then say what is in the topics,
/// as if the dropped events had never been made: orders without gaps, END counting the events
/// there are. Made only with transaction metadata, for transactions the last segment's
/// snapshot may overlap (``ChangeStream/renumberBefore``).
struct TransactionRenumbering: Equatable {
  /// Indirect, so a record without one (nearly all) stays as small as it was: the event is
  /// large and copied with the record.
  indirect enum Kind {
    /// An event: what rendered it, its block among them.
    case event(ChangeStream.Event, key: [UInt8]?)
    /// The END record of `transaction` (its counts), at the Commit's `lsn`.
    case end(ChangeStream.Transaction, lsn: LSN)
  }

  var kind: Kind

  /// The event's block, or nil for END.
  var block: ChangeStream.TransactionBlock? {
    if case .event(let event, _) = kind { return event.transaction }
    return nil
  }

  /// Equal when they renumber the same record: the same transaction, and the same event's
  /// orders or the same END (what rendered them is the record's value).
  static func == (a: Self, b: Self) -> Bool {
    switch (a.kind, b.kind) {
    case (.event(let x, _), .event(let y, _)):
      x.xid == y.xid && x.lsn == y.lsn && x.transaction?.totalOrder == y.transaction?.totalOrder
    case (.end(let x, let l), .end(let y, let m)):
      x.xid == y.xid && x.commitLSN == y.commitLSN && l == m
    default: false
    }
  }
}

/// The events the replay filter dropped so far of one transaction, in total and per table
/// (by relation OID): what each later kept event's orders, and END's counts, are less.
struct TransactionDrops {
  private(set) var total: Int64 = 0
  private(set) var byRelation: [UInt32: Int64] = [:]

  mutating func drop(relation: UInt32) {
    total += 1
    byRelation[relation, default: 0] += 1
  }

  /// `block` as if the dropped events before it had never been made.
  func renumbered(_ block: ChangeStream.TransactionBlock, relation: UInt32)
    -> ChangeStream.TransactionBlock
  {
    var block = block
    block.totalOrder -= total
    block.collectionOrder -= byRelation[relation, default: 0]
    return block
  }
}
