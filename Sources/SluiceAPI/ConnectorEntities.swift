import SluiceCore

// Kafka Connect's REST entities (`connect/runtime/.../rest/entities`), as Sluice answers them.

/// `ConnectorInfo`: `{"name","config","tasks":[{"connector","task"}],"type"}`.
struct ConnectorInfo: Encodable {
  var name: String
  var config: [String: String]
  var tasks: [TaskID]
  var type: String
}

/// `ConnectorTaskId`.
struct TaskID: Encodable {
  var connector: String
  var task: Int
}

/// `TaskInfo`: one entry of `GET /connectors/{c}/tasks`.
struct TaskInfo: Encodable {
  var id: TaskID
  var config: [String: String]
}

/// One entry of `GET /connectors?expand=status&expand=info`.
struct ExpandedConnector: Encodable {
  var status: ConnectorStatus?
  var info: ConnectorInfo?
}

/// `ActiveTopicsInfo` (KIP-558).
struct ActiveTopicsInfo: Encodable {
  var topics: [String]
}

/// `Message`: the answer to an offsets change.
struct MessageBody: Encodable {
  var message: String
}
