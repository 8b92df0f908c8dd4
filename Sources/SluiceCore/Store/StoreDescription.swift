/// Where the worker's topics live, as `GET /` and `sluice status` report it: the store's kind,
/// the brokers it talks to and the cluster's id (Kafka Connect's `kafka_cluster_id`).
public struct StoreDescription: Sendable, Equatable, Encodable {
  /// `embedded` or `kafka`, as `store: { kind: }` names it.
  public var kind: String
  /// `host:port` of each broker of the cluster (its current metadata, or the bootstrap list when
  /// no broker answered yet); empty for the embedded log.
  public var brokers: [String]
  /// The cluster's id, when the store has one.
  public var clusterID: String?

  public init(kind: String, brokers: [String] = [], clusterID: String? = nil) {
    self.kind = kind
    self.brokers = brokers
    self.clusterID = clusterID
  }

  enum CodingKeys: String, CodingKey {
    case kind, brokers
    case clusterID = "cluster_id"
  }
}
