import SluiceCore
import SluicePostgres

/// The PostgreSQL sink's offsets live in its offsets table (`offsets_table`, one row per
/// connector, topic and partition, written in each batch's transaction), which is where it
/// resumes: GET reads them there, and PATCH and DELETE change the rows (in one transaction)
/// before the worker commits the same to the consumer group. A partition without a row starts
/// at the first record kept, as a new sink would.
extension PostgresSinkConnector {
  func storedOffsets(of partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    guard !partitions.isEmpty else { return [:] }
    let (config, table) = (config, quoteIdentifier(config.offsetsTable))
    return try await BlockingQueue(label: "sluice.postgres-sink.offsets").run {
      let connection = try PostgresConnection(
        url: config.url, password: config.password,
        applicationName: "sluice \(config.name) offsets")
      var found: [TopicPartition: Int64] = [:]
      // As the task's `open` answers: no row (or no table yet) is "from the start".
      for tp in partitions { found[tp] = 0 }
      guard try connection.execute("SELECT to_regclass($1)", [table]).first?[0] != nil else {
        return found
      }
      let rows = try connection.execute(
        "SELECT topic, \"partition\", next_offset FROM \(table) WHERE connector = $1",
        [config.name])
      for row in rows {
        guard let topic = row[0], let partition = row[1].flatMap({ Int($0) }),
          let next = row[2].flatMap({ Int64($0) })
        else { continue }
        let tp = TopicPartition(topic, partition)
        if found[tp] != nil { found[tp] = next }
      }
      return found
    }
  }

  func alterOffsets(_ offsets: [TopicPartition: Int64?]) async throws {
    guard !offsets.isEmpty else { return }
    let (config, table) = (config, quoteIdentifier(config.offsetsTable))
    try await BlockingQueue(label: "sluice.postgres-sink.offsets").run {
      let connection = try PostgresConnection(
        url: config.url, password: config.password,
        applicationName: "sluice \(config.name) offsets")
      try connection.changeSchema(
        PostgresSinkTask.createOffsetsTable(table), object: "table \(config.offsetsTable)")
      try connection.execute("BEGIN")
      do {
        for (tp, next) in offsets.sorted(by: { $0.key < $1.key }) {
          let key = [config.name, tp.topic, "\(tp.partition)"]
          if let next {
            try connection.execute(
              """
              INSERT INTO \(table) (connector, topic, "partition", next_offset, updated_at)
              VALUES ($1, $2, $3, $4, clock_timestamp())
              ON CONFLICT (connector, topic, "partition")
              DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
              """, key + ["\(next)"])
          } else {
            try connection.execute(
              "DELETE FROM \(table) WHERE connector = $1 AND topic = $2 AND \"partition\" = $3",
              key)
          }
        }
        try connection.execute("COMMIT")
      } catch {
        if connection.isHealthy { _ = try? connection.execute("ROLLBACK") }
        throw error
      }
    }
  }
}
