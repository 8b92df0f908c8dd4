import Hummingbird
import SluiceCore

extension AdminAPI {
  /// `GET /groups`: the Kafka listener's consumer groups, with each partition's committed
  /// offset, end offset and lag (what `kafka-consumer-groups --describe` shows).
  func addGroupRoutes(to router: Router<BasicRequestContext>) {
    router.get("/groups") { _, _ -> Response in
      guard let groups else {
        throw APIError(
          .notFound, "no consumer groups here: the Kafka listener is off (kafka: in worker.yaml)")
      }
      var out: [GroupInfo] = []
      for group in await groups.consumerGroups() {
        var partitions: [GroupInfo.Partition] = []
        for (tp, offset) in group.committed.sorted(by: { $0.key < $1.key }) {
          let end = try? await store.offsets(of: tp).end
          partitions.append(
            .init(
              topic: tp.topic, partition: tp.partition, committedOffset: offset, endOffset: end,
              lag: end.map { max(0, $0 - offset) }))
        }
        out.append(
          GroupInfo(
            group: group.group, state: group.state, members: group.members, partitions: partitions))
      }
      return try jsonResponse(encoding: out)
    }
  }
}

/// One group in `GET /groups`.
struct GroupInfo: Encodable {
  struct Partition: Encodable {
    var topic: String
    var partition: Int
    var committedOffset: Int64
    var endOffset: Int64?
    var lag: Int64?

    enum CodingKeys: String, CodingKey {
      case topic, partition, lag
      case committedOffset = "committed_offset"
      case endOffset = "end_offset"
    }
  }

  var group: String
  var state: String
  var members: Int
  var partitions: [Partition]
}
