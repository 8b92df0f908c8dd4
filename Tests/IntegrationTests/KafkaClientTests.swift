import Foundation
import XCTest

/// The Kafka listener against real clients: confluent-kafka (librdkafka 2.16), kafka-python,
/// aiokafka and Debian's kcat (librdkafka 2.0.2), each producing and consuming through Sluice.
final class KafkaClientTests: KafkaWorkerTestCase {
  /// Every client produces with every codec, keys, headers and idempotence on; another client
  /// reads each topic from the beginning and checks every record.
  func testEveryClientProducesEveryCodecAndAnotherClientReadsItBack() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    let clients = ["confluent", "kafka-python", "aiokafka"]
    for (c, producer) in clients.enumerated() {
      for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = "m-\(producer)-\(codec)"
        let produced = try kafkaTool(
          "produce",
          [
            "--bootstrap", bootstrap, "--client", producer, "--topic", topic, "--count", "300",
            "--compression", codec, "--idempotent", "--acks", "all", "--keys", "--headers",
          ])
        let consumer = clients[(c + 1) % clients.count]
        let read = try kafkaTool(
          "consume",
          [
            "--bootstrap", bootstrap, "--client", consumer, "--topic", topic, "--expect", "300",
            "--base-ts", "\(produced["base_ts"] ?? 0)", "--settle", "0.3",
          ])
        XCTAssertEqual(read["count"] as? Int, 300, "\(consumer) reading \(topic)")
      }
    }
    // Sluice's own reader sees the compressed batches as ordinary records.
    let records = try worker.records("m-kafka-python-zstd")
    XCTAssertEqual(records.count, 300)
    XCTAssertEqual(records.first?["key"] as? String, "key-0")
  }

  /// With `log.compression`, the batches Sluice writes for its own sources lie compressed on
  /// disk, and every client (and kcat, on Debian's older librdkafka) reads them through the
  /// listener as it reads a producer's.
  func testBatchesSluiceCompressesItselfAreReadByEveryClient() throws {
    for (codec, bits) in [("lz4", 3), ("zstd", 4)] {
      let (worker, bootstrap) = try startKafkaWorker(
        log: "{ partitions: 1, fsync: batch, compression: \(codec) }")
      let topic = "own-\(codec)"
      var keys: [String] = []
      for batch in 0..<3 {
        let records = (0..<50).map { i -> String in
          let n = batch * 50 + i
          keys.append("k\(n)")
          return #"{"key": "k\#(n)", "value": {"n": \#(n), "text": "a value that repeats itself"}}"#
        }
        let posted = try worker.post(
          "/topics/\(topic)/records", json: #"{"records": [\#(records.joined(separator: ","))]}"#)
        XCTAssertEqual(posted.status, 200, String(decoding: posted.body, as: UTF8.self))
      }
      XCTAssertEqual(try worker.storedCodecs(topic), [bits, bits, bits], codec)
      for client in ["confluent", "kafka-python", "aiokafka"] {
        let read = try runProgram(
          Self.python, ["-c", Self.readKeysScript, client, bootstrap, topic, "150"])
        let got = read.output.split(separator: "\n").last.flatMap {
          try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String]
        }
        XCTAssertEqual(got, keys, "\(client) reading \(codec) batches: \(read.output.suffix(1500))")
      }
      let kcat = try runProgram(
        "/usr/bin/kcat",
        ["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-c", "150", "-e", "-f", "%k %s\n"])
      XCTAssertEqual(kcat.status, 0, kcat.output)
      let lines = kcat.output.split(separator: "\n").filter { $0.hasPrefix("k") }
      XCTAssertEqual(lines.map { String($0.prefix { $0 != " " }) }, keys, "kcat reading \(codec)")
      XCTAssertTrue(lines.last?.contains(#""n":149"#) == true, "\(lines.last ?? "")")
      XCTAssertEqual(worker.terminate()?.status, 0)
    }
  }

  /// Reads `count` records of partition 0 of a topic from the beginning with one client
  /// (argv: client, bootstrap, topic, count) and prints their keys as a JSON list.
  static let readKeysScript = """
    import asyncio, json, sys
    client, bootstrap, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    keys = []
    if client == "confluent":
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "keys", "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 0)])
        while len(keys) < count:
            m = c.poll(10)
            if m is None: break
            if not m.error(): keys.append(m.key().decode())
        c.close()
    elif client == "kafka-python":
        from kafka import KafkaConsumer, TopicPartition
        c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        for m in c:
            keys.append(m.key.decode())
            if len(keys) >= count: break
        c.close()
    else:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        async def main():
            c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await c.start()
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            await c.seek_to_beginning(tp)
            try:
                while len(keys) < count:
                    got = await c.getmany(tp, timeout_ms=10000)
                    if not got: break
                    keys.extend(m.key.decode() for m in got.get(tp, []))
            finally:
                await c.stop()
        asyncio.run(main())
    print(json.dumps(keys))
    """

  /// Metadata with each client (topics created with a partition count), kcat -L, and reading
  /// from a timestamp (ListOffsets by timestamp) with each client.
  func testMetadataKcatAndConsumingFromATimestamp() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    for client in ["confluent", "kafka-python", "aiokafka"] {
      try kafkaTool(
        "metadata",
        [
          "--bootstrap", bootstrap, "--client", client, "--create", "meta-\(client)",
          "--partitions", "3",
        ])
    }
    let listing = try runProgram("/usr/bin/kcat", ["-L", "-J", "-b", bootstrap, "-m", "10"])
    XCTAssertEqual(listing.status, 0, listing.output)
    let json = try XCTUnwrap(
      listing.output.split(separator: "\n").last.flatMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
      }, listing.output)
    let topics = (json["topics"] as? [[String: Any]]) ?? []
    XCTAssertEqual(
      topics.first { $0["topic"] as? String == "meta-aiokafka" }.flatMap {
        ($0["partitions"] as? [Any])?.count
      }, 3, "kcat -L lists the 3 partitions")

    let produced = try kafkaTool(
      "produce", ["--bootstrap", bootstrap, "--topic", "ts", "--count", "1000", "--keys"])
    let base = try XCTUnwrap(produced["base_ts"] as? Int)
    for client in ["confluent", "kafka-python", "aiokafka"] {
      let read = try kafkaTool(
        "consume",
        [
          "--bootstrap", bootstrap, "--client", client, "--topic", "ts", "--from",
          "timestamp:\(base + 600)", "--expect", "400", "--settle", "0.3",
        ])
      XCTAssertEqual(read["min_index"] as? Int, 600, "\(client) starts at the timestamp")
    }
    XCTAssertEqual(worker.terminate()?.status, 0, "a graceful stop with Kafka clients")
  }

  /// A record from a Kafka producer is an ordinary record to Sluice (API, CLI), and a record
  /// Sluice writes is an ordinary record to a Kafka consumer.
  func testKafkaRecordsAndSluiceRecordsAreOneSetOfTopics() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    try kafkaTool(
      "produce",
      [
        "--bootstrap", bootstrap, "--client", "kafka-python", "--topic", "k2s", "--count", "5",
        "--keys", "--headers",
      ])
    let records = try worker.records("k2s")
    XCTAssertEqual(records.map { $0["key"] as? String }, (0..<5).map { "key-\($0)" })
    XCTAssertTrue(
      (records.first?["value"] as? String)?.hasPrefix("skt1 i=0 ") == true,
      "\(records.first ?? [:])")

    let produced = try worker.post(
      "/topics/s2k/records",
      json: #"{"records": [{"key": "a", "value": {"n": 1}}, {"key": "b", "value": {"n": 2}}]}"#)
    XCTAssertEqual(produced.status, 200, String(decoding: produced.body, as: UTF8.self))
    let script = """
      import json, sys
      from confluent_kafka import Consumer
      c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "s2k", "auto.offset.reset": "earliest"})
      c.subscribe(["s2k"])
      got = []
      while len(got) < 2:
          m = c.poll(10)
          if m is None: break
          if not m.error(): got.append([m.key().decode(), json.loads(m.value())["n"]])
      c.close()
      print(json.dumps(got))
      """
    let read = try runProgram(Self.python, ["-c", script, bootstrap])
    XCTAssertTrue(read.output.hasSuffix("[[\"a\", 1], [\"b\", 2]]\n"), read.output)
  }

  /// Three consumers in one group over six partitions read every record exactly once while a
  /// fourth joins and one leaves; the committed offsets survive a `kill -9` of the worker.
  func testAGroupReadsEverythingOnceThroughRebalancesAndItsOffsetsSurviveKill9() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    let run = try kafkaTool(
      "group",
      [
        "--bootstrap", bootstrap, "--topic", "grp", "--group", "g", "--records", "6000",
        "--produce-seconds", "6", "--timeout", "120",
      ])
    let first = try XCTUnwrap(run["first_assignment_s"] as? Double)
    XCTAssertLessThan(first, 1.5, "a fresh group's first assignment")
    let committed = try XCTUnwrap(run["committed"] as? [String: Any])
    XCTAssertEqual(committed.count, 6)

    // The same offsets through the admin API and `sluice groups`.
    let listed = try XCTUnwrap(try worker.getJSON("/groups") as? [[String: Any]])
    let partitions =
      listed.first { $0["group"] as? String == "g" }?["partitions"] as? [[String: Any]]
    XCTAssertEqual(partitions?.count, 6)
    XCTAssertEqual(
      partitions?.reduce(0) { $0 + ($1["lag"] as? Int ?? -1) }, 0, "nothing left to read")
    let table = try runProgram(WorkerProcess.binary, ["groups", "--api", worker.apiURL])
    XCTAssertTrue(table.output.contains("g\t"), table.output)
    XCTAssertEqual(
      table.output.split(separator: "\n").filter { $0.hasPrefix("g\t") }.count, 6, table.output)

    worker.kill9()
    try worker.start()
    let after = try kafkaTool(
      "group", ["--bootstrap", bootstrap, "--topic", "grp", "--group", "g", "--offsets"])
    XCTAssertEqual(
      NSDictionary(dictionary: after["committed"] as? [String: Any] ?? [:]),
      NSDictionary(dictionary: committed), "committed offsets after kill -9")
  }

  /// An idempotent producer (acks=all) keeps producing while the worker is killed with
  /// SIGKILL and restarted: every acknowledged record is there once, in order per partition.
  func testIdempotentProducerRetriesAcrossKill9StoreEveryAcknowledgedRecordOnce() throws {
    let (worker, bootstrap) = try startKafkaWorker()
    let ackLog = worker.directory.appendingPathComponent("acks.log").path
    let producing = try KafkaToolProcess(
      "idempotent_retry",
      [
        "--bootstrap", bootstrap, "--topic", "idem", "--partitions", "3", "--produce-for", "12",
        "--rate", "3000", "--ack-log", ackLog,
      ])
    // Killed once the producer has acknowledged records (the log is flushed every 64 KiB).
    try waitUntil("acknowledged records before the kill", timeout: 30) {
      (try FileManager.default.attributesOfItem(atPath: ackLog)[.size] as? Int ?? 0) > 0
    }
    worker.kill9()
    Thread.sleep(forTimeInterval: 1)  // down for a while: the producer retries meanwhile
    try worker.start()
    let produced = producing.wait()
    XCTAssertEqual(produced["ok"] as? Bool, true, "\(produced)\n\(producing.stderr.suffix(1500))")
    XCTAssertGreaterThan(produced["acked"] as? Int ?? 0, 20_000)
    let verified = try kafkaTool(
      "idempotent_retry",
      ["--bootstrap", bootstrap, "--topic", "idem", "--verify", "--ack-log", ackLog])
    XCTAssertEqual(verified["duplicates"] as? Int, 0)
    XCTAssertEqual(verified["missing"] as? Int, 0)
  }
}
