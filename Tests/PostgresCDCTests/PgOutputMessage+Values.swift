@testable import PostgresCDCConnector

/// The old row of a built update or delete: its key columns or the whole row.
enum OldValues {
  case key([PgOutputMessage.TupleValue])
  case full([PgOutputMessage.TupleValue])

  var old: RowChange.Old {
    switch self {
    case .key(let values): RowChange.Old(row: Row(values), isFull: false)
    case .full(let values): RowChange.Old(row: Row(values), isFull: true)
    }
  }
}

/// Row-change messages built from values, as the tests write them; the stream reads the same
/// changes in place from message bytes.
extension PgOutputMessage {
  static func insert(relation: UInt32, new: [TupleValue]) -> PgOutputMessage {
    .rowChange(.insert(relation: relation, new: Row(new)))
  }

  static func update(relation: UInt32, old: OldValues?, new: [TupleValue]) -> PgOutputMessage {
    .rowChange(.update(relation: relation, old: old?.old, new: Row(new)))
  }

  static func delete(relation: UInt32, old: OldValues) -> PgOutputMessage {
    .rowChange(.delete(relation: relation, old: old.old))
  }

  static func truncate(relations: [UInt32], cascade: Bool, restartIdentity: Bool)
    -> PgOutputMessage
  {
    .truncate(Truncate(relations: relations, cascade: cascade, restartIdentity: restartIdentity))
  }
}
