/// Debezium's `source.snapshot` on a row of the initial snapshot: `first` on the first row of
/// the first table, `last` on the last row of the last table, `first_in_data_collection` and
/// `last_in_data_collection` on the first and last rows of the other tables, `true` on the
/// rest. When a row is both, the last wins, then the first, as in Debezium's
/// `RelationalSnapshotChangeEventSource` (its chunked, multi-threaded snapshot marks the same
/// way: by table order, not by the order rows are written).
enum SnapshotMark: Int, CaseIterable, Sendable {
  case first
  case firstInTable
  case middle
  case lastInTable
  case last

  init(firstInTable: Bool, lastInTable: Bool, firstTable: Bool, lastTable: Bool) {
    self =
      if lastInTable && lastTable {
        .last
      } else if firstInTable && firstTable {
        .first
      } else if lastInTable {
        .lastInTable
      } else if firstInTable {
        .firstInTable
      } else {
        .middle
      }
  }

  /// The value of `source.snapshot`.
  var text: StaticString {
    switch self {
    case .first: "first"
    case .firstInTable: "first_in_data_collection"
    case .middle: "true"
    case .lastInTable: "last_in_data_collection"
    case .last: "last"
    }
  }
}
