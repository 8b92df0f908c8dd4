/// Why `sluice replay` does not move a source connector back, in the terms of its type.
///
/// A source's records are already in the topics, and the worker's exactly-once rule drops a
/// source record whose position is not past the last one durably in its partition — so a
/// source moved back would read again only to drop what it read. For PostgreSQL CDC there is
/// a second wall: a logical slot cannot stream from before its `confirmed_flush_lsn` (the WAL
/// before `restart_lsn` may be recycled, and decoding skips every transaction that committed
/// before the confirmed point), and Sluice confirms an LSN only once the records up to it are
/// durable in the topic. The LSNs the slot could still decode are exactly those whose records
/// are already in the topic. Replaying the sinks that read those topics gives the same events
/// again, from the log, at any offset or time it still keeps.
enum ReplaySourceRefusal {
  static func message(connector: String, connectorType: String?) -> String {
    let replaySinks =
      "To deliver its events again, replay the sink connectors that read its topics: `sluice replay SINK --to-time TIME` (the records are in the log for as long as it keeps them)."
    if connectorType == "postgres-cdc" {
      return """
        cannot replay \(connector): it is a PostgreSQL CDC source without a replay_window, and its replication slot \
        cannot be moved back. PostgreSQL does not decode a logical slot from before its confirmed_flush_lsn, and \
        Sluice confirms an LSN as soon as every change up to it is durable in the topic: each change the slot could \
        still stream is in the topic already (and would be dropped as a duplicate). To be able to move it back, set \
        replay_window in its config (a size like 512MiB): the slot then keeps that much WAL behind the durable point \
        decodable, and `sluice replay \(connector) --to-time TIME | --to-lsn LSN` writes the changes after that point \
        to the topics again (the slot retains that much more WAL). \(replaySinks) To read the tables again, stop the \
        connector and DELETE its offsets (the slot is dropped and created anew; with snapshot: initial the tables \
        are snapshotted again). Moving the slot forward, skipping changes, is a PATCH of its offsets.
        """
    }
    var text = """
      cannot replay \(connector): it is a source connector (\(connectorType ?? "unknown type")). Its records are in \
      the topics already, and a source moved back would have what it reads again dropped as duplicates (exactly-once \
      drops a record whose position is not past the last one written). \(replaySinks)
      """
    if connectorType == "file" {
      text +=
        " To write a file's lines into the topic again, stop the connector and PATCH /connectors/\(connector)/offsets with a byte position: a rewind starts a new generation of positions, which are not dropped."
    }
    return text
  }
}
