import SluiceCore
import SluiceLog

/// `sluice_kafka_group_lag_records{group,topic,partition}`: for every offset a Kafka client's
/// consumer group committed through the listener, how many records the partition holds past it
/// (log end − committed offset), read before each scrape. A partition whose topic is gone
/// drops out.
final class GroupLagGauges: Sendable {
  private let gauges = ScrapedGauges(
    "sluice_kafka_group_lag_records", labels: ["group", "topic", "partition"])

  func update(offsets: GroupOffsetStore, log: EmbeddedLog) {
    var values: [[String]: Double] = [:]
    for group in offsets.groups {
      for (tp, committed) in offsets.offsets(of: group) {
        guard let end = try? log.offsets(topic: tp.topic, partition: tp.partition).end else {
          continue
        }
        values[[group, tp.topic, String(tp.partition)]] = Double(max(0, end - committed.offset))
      }
    }
    gauges.update(values)
  }

  func removeAll() { gauges.removeAll() }
}
