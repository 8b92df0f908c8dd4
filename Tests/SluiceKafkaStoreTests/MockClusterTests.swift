import Foundation
import Logging
import SluiceKafka
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// The client on librdkafka 2.0.2's mock cluster (three brokers, ``MockCluster``): it follows
/// leader moves, retries NOT_LEADER_OR_FOLLOWER and request timeouts without losing or
/// repeating a record, and negotiates down to the mock's older API versions.
///
/// The mock checks producer sequence numbers only for transactional producers (its
/// `rd_kafka_mock_validate_records` returns early without a transactional id): it stores every
/// resent batch of an idempotent producer again. So the idempotent tests inject only failures
/// that store nothing (errors, late error answers), and the tests whose requests are stored but
/// answered too late use a transactional producer, where a resent batch is recognised by its
/// sequence, as Kafka recognises an idempotent producer's.
final class MockClusterTests: XCTestCase {

  /// The client's debug lines, to show that the failures a test injects reached the client.
  private let lines = LogLines()

  private func mockClient(_ cluster: MockCluster, requestTimeout: Duration = .seconds(10))
    -> KafkaClient
  {
    let lines = self.lines
    var logger = Logger(label: "sluice.kafka.client") { _ in LogLineHandler(lines: lines) }
    logger.logLevel = .debug
    return KafkaClient(
      configuration: KafkaClientConfiguration(
        bootstrap: cluster.bootstrap.compactMap(BrokerAddress.init), clientId: "sluice-mock-test",
        connectTimeout: .seconds(2), requestTimeout: requestTimeout,
        retryBackoff: .milliseconds(20), retryBackoffMax: .milliseconds(200),
        retryTimeout: .seconds(60),
        // The 2.0.2 mock writes ListOffsets v4+'s LeaderEpoch as 8 bytes instead of 4
        // (rd_kafka_mock_handle_ListOffsets), which no correct decoder reads; v3 has no epoch.
        versionCaps: [.listOffsets: 3]), logger: logger)
  }

  // MARK: - Version negotiation

  func testVersionsAreNegotiatedDownToTheMocks() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("versions", partitions: 1)
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    let connection = try await client.anyConnection()
    // librdkafka 2.0.2's mock serves ApiVersions 0-2, Metadata 0-2, Produce 0-7, Fetch 0-11,
    // ListOffsets 0-5 (rdkafka_mock_handlers.c); the codec asks ApiVersions v4 first, and the
    // mock's refusal carries no usable key list, so the client falls back to v0.
    let metadataVersion = try await connection.version(for: .metadata)
    let produceVersion = try await connection.version(for: .produce)
    let fetchVersion = try await connection.version(for: .fetch)
    XCTAssertEqual(metadataVersion, 2)
    XCTAssertEqual(produceVersion, 7)
    XCTAssertEqual(fetchVersion, 11)
    try await roundTrip(client, topic: "versions", count: 30)
  }

  func testOlderBrokerVersionsStillWork() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("old", partitions: 1)
    // As a Kafka 0.11 / 1.0 broker: the first versions with RecordBatch v2 and idempotence.
    try cluster.setApiVersions(apiKey: ApiKey.metadata.rawValue, 0...1)
    try cluster.setApiVersions(apiKey: ApiKey.produce.rawValue, 0...3)
    try cluster.setApiVersions(apiKey: ApiKey.fetch.rawValue, 0...4)
    try cluster.setApiVersions(apiKey: ApiKey.listOffsets.rawValue, 0...1)
    try cluster.setApiVersions(apiKey: ApiKey.initProducerId.rawValue, 0...0)
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    let connection = try await client.anyConnection()
    let produceVersion = try await connection.version(for: .produce)
    let fetchVersion = try await connection.version(for: .fetch)
    let metadataVersion = try await connection.version(for: .metadata)
    XCTAssertEqual(produceVersion, 3)
    XCTAssertEqual(fetchVersion, 4)
    XCTAssertEqual(metadataVersion, 1)
    try await roundTrip(client, topic: "old", count: 30)
    let latest = try await client.listOffsets([KafkaTopicPartition("old", 0)], at: .latest)
    XCTAssertEqual(latest[KafkaTopicPartition("old", 0)], 30)
  }

  func testTheOldestVersionOfEveryApiTheClientUses() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("oldest", partitions: 1)
    // FindCoordinator v1: v0 finds only group coordinators.
    let oldest: [ApiKey: Int16] = [
      .metadata: 0, .produce: 3, .fetch: 4, .listOffsets: 1, .initProducerId: 0,
      .findCoordinator: 1, .addPartitionsToTxn: 0, .endTxn: 0,
    ]
    for (api, version) in oldest {
      try cluster.setApiVersions(apiKey: api.rawValue, version...version)
    }
    try cluster.setCoordinator("transaction", key: "oldest-tx", broker: 2)
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    let connection = try await client.anyConnection()
    for (api, version) in oldest {
      let negotiated = try await connection.version(for: api)
      XCTAssertEqual(negotiated, version, "\(api)")
    }
    // Metadata v0 lists every topic when asked for none, and has no controller or cluster id.
    let metadata = try await client.metadata(topics: ["oldest"], refresh: true)
    XCTAssertEqual(metadata.partitionCount(of: "oldest"), 1)
    XCTAssertEqual(metadata.brokers.count, 3)
    let producer = KafkaProducer(client: client, transactionalId: "oldest-tx")
    try await producer.initialize()
    let partition = KafkaTopicPartition("oldest", 0)
    try await producer.beginTransaction()
    try await producer.send((0..<10).map(numbered), to: partition)
    try await producer.send((10..<20).map(numbered), to: partition)
    try await producer.commitTransaction()
    let read = try await readNumbers(
      client, [partition], counts: [partition: 20], isolation: .readUncommitted)
    XCTAssertEqual(read[partition], Array(0..<20))
  }

  func testATransactionCoordinatorIsNotLookedUpWithFindCoordinatorV0() async throws {
    let cluster = try MockCluster()
    try cluster.setApiVersions(apiKey: ApiKey.findCoordinator.rawValue, 0...0)
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    do {
      _ = try await client.coordinator(.transaction, key: "v0-tx")
      XCTFail("FindCoordinator v0 has no key type; it would find the group coordinator")
    } catch let error as KafkaClientError {
      XCTAssertEqual(error.kind, .unsupportedVersion, "\(error)")
    }
    // A group's coordinator is what v0 finds.
    _ = try await client.coordinator(.group, key: "v0-group")
  }

  func testABrokerWithoutRecordBatchV2IsRefusedAtOnce() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("ancient", partitions: 1)
    // Produce v0-2 carry only the old message sets, which the client does not write.
    try cluster.setApiVersions(apiKey: ApiKey.produce.rawValue, 0...2)
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    let started = ContinuousClock.now
    do {
      try await producer.send([numbered(1)], to: KafkaTopicPartition("ancient", 0))
      XCTFail("a broker without Produce v3 must be refused")
    } catch let error as KafkaClientError {
      XCTAssertEqual(error.kind, .unsupportedVersion, "\(error)")
    }
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "not retried")
  }

  /// Writes `count` numbered records to partition 0 of `topic` and reads them back.
  private func roundTrip(_ client: KafkaClient, topic: String, count: Int) async throws {
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    let partition = KafkaTopicPartition(topic, 0)
    for chunk in stride(from: 0, to: count, by: 10) {
      try await producer.send((chunk..<min(chunk + 10, count)).map(numbered), to: partition)
    }
    let read = try await readNumbers(client, [partition], counts: [partition: count])
    XCTAssertEqual(read[partition], Array(0..<count))
  }

  // MARK: - Leader moves and NOT_LEADER

  func testIdempotentProducerFollowsLeaderMovesWithoutLossOrDuplicates() async throws {
    let cluster = try MockCluster()
    let topic = "moves"
    let partitions: Int32 = 4
    try cluster.createTopic(topic, partitions: Int(partitions))
    for index in 0..<partitions { try cluster.setLeader(topic, partition: index, broker: 1) }
    let client = mockClient(cluster)
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client)
    try await producer.initialize()

    let count = 20_000
    let moves = Counter()
    // Each partition's leader moves to the next broker every 20 batches, and every 15 batches
    // the next Produce requests (to whichever broker) fail with NOT_LEADER_OR_FOLLOWER or
    // REQUEST_TIMED_OUT.
    try await produceNumbers(
      producer, topic: topic, partitions: partitions, count: count, batchSize: 25
    ) { partition, batch in
      if batch % 20 == 10 {
        try cluster.setLeader(topic, partition: partition, broker: Int32(batch / 20 % 3) + 1)
        moves.add()
      }
      if batch % 15 == 7 {
        try cluster.pushErrors(apiKey: ApiKey.produce.rawValue, [notLeader, timedOut])
      }
      if batch == 100 {
        // No leader for 300 ms (an election): Metadata says LEADER_NOT_AVAILABLE meanwhile.
        try cluster.setLeader(topic, partition: partition, broker: -1)
        Task {
          try await Task.sleep(for: .milliseconds(300))
          try cluster.setLeader(topic, partition: partition, broker: partition % 3 + 1)
        }
      }
    }
    try cluster.clearErrors(apiKey: ApiKey.produce.rawValue)
    XCTAssertEqual(moves.value, 40)
    // Every move and every injected error made a Produce fail and be retried; the leaderless
    // partitions waited.
    XCTAssertGreaterThanOrEqual(lines.count("Produce to", "retrying", "leaderNotAvailable"), 4)
    XCTAssertGreaterThanOrEqual(lines.count("Produce to", "retrying", "notLeaderOrFollower"), 40)
    XCTAssertGreaterThanOrEqual(lines.count("Produce to", "retrying", "requestTimedOut (7)"), 20)
    try await assertEveryNumberOnce(client, topic: topic, partitions: partitions, count: count)
  }

  // MARK: - Request timeouts

  func testTimedOutRequestsAreRetried() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("slow", partitions: 1)
    try cluster.setLeader("slow", partition: 0, broker: 2)
    let client = mockClient(cluster, requestTimeout: .seconds(1))
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    let started = ContinuousClock.now
    // The answer (an error: the batch is not stored) would come 30 s late; the client gives up
    // on it after 1 s, closes the connection, dials again and resends. One partition only: the
    // requests behind the slow one on its connection were served, and the mock would store
    // their retries again (it checks no sequence numbers without a transactional id).
    try await produceNumbers(
      producer, topic: "slow", partitions: 1, count: 1000, batchSize: 10
    ) { _, batch in
      if batch % 30 == 5 {
        try cluster.pushDelays(
          broker: 2, apiKey: ApiKey.produce.rawValue, [(notLeader, .seconds(30))])
      }
    }
    // Four timeouts of 1 s, and no wait for a late answer.
    let elapsed = ContinuousClock.now - started
    XCTAssertGreaterThanOrEqual(elapsed, .seconds(4))
    XCTAssertLessThan(elapsed, .seconds(25))
    XCTAssertEqual(lines.count("Produce to", "retrying", "no response within 1000 ms"), 4)
    try await assertEveryNumberOnce(client, topic: "slow", partitions: 1, count: 1000)
  }

  func testTimedOutButStoredBatchesAreNotStoredTwice() async throws {
    let cluster = try MockCluster()
    let topic = "late"
    // Partitions 0 and 2 share broker 1 (and so one connection): a late answer there holds up
    // the other partition's answer behind it, and both are resent.
    let leaders: [Int32] = [1, 2, 1]
    try cluster.createTopic(topic, partitions: leaders.count)
    for (partition, broker) in leaders.enumerated() {
      try cluster.setLeader(topic, partition: Int32(partition), broker: broker)
    }
    try cluster.setCoordinator("transaction", key: "late-tx", broker: 3)
    let client = mockClient(cluster, requestTimeout: .seconds(1))
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client, transactionalId: "late-tx")
    try await producer.initialize()
    let started = ContinuousClock.now
    // Served at once, answered 30 s late, long after the client's 1 s timeout: the resent batch
    // (same producer id, epoch and sequence) is recognised as a duplicate and acknowledged
    // without a second copy.
    try await producer.beginTransaction()
    try await produceNumbers(
      producer, topic: topic, partitions: 3, count: 3000, batchSize: 20
    ) { partition, batch in
      if batch % 20 == 3 {
        try cluster.pushDelays(
          broker: leaders[Int(partition)], apiKey: ApiKey.produce.rawValue, [(0, .seconds(30))])
      }
    }
    try await producer.commitTransaction()
    // Timeouts of 1 s (the partitions' at about the same time), and no wait for a late answer.
    let elapsed = ContinuousClock.now - started
    XCTAssertGreaterThanOrEqual(elapsed, .seconds(3))
    XCTAssertLessThan(elapsed, .seconds(25))
    XCTAssertGreaterThanOrEqual(
      lines.count("Produce to", "retrying", "no response within 1000 ms"), 6)
    // The mock writes no transaction markers (its EndTxn only answers), so read uncommitted.
    try await assertEveryNumberOnce(
      client, topic: topic, partitions: 3, count: 3000, isolation: .readUncommitted)
  }

  func testAHungBrokerDoesNotSlowEveryMetadataRefresh() async throws {
    let cluster = try MockCluster()
    let topic = "hung"
    try cluster.createTopic(topic, partitions: 2)
    try cluster.setLeader(topic, partition: 0, broker: 2)
    try cluster.setLeader(topic, partition: 1, broker: 3)
    let client = mockClient(cluster, requestTimeout: .seconds(1))
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    _ = try await client.metadata(topics: [topic])
    // Broker 1 (the first bootstrap address and the lowest node id) still accepts connections
    // but answers nothing within the timeout; it leads nothing.
    try cluster.setRoundTrip(broker: 1, .seconds(30))
    let started = ContinuousClock.now
    // Ten leader moves between brokers 2 and 3, each followed by a metadata refresh.
    try await produceNumbers(
      producer, topic: topic, partitions: 2, count: 2000, batchSize: 20
    ) { partition, batch in
      if batch % 10 == 5 + 2 * Int(partition) {
        try cluster.setLeader(topic, partition: partition, broker: batch / 10 % 2 == 0 ? 3 : 2)
      }
    }
    // Asking broker 1 first every time would cost a 1 s timeout per refresh; once it failed,
    // the brokers that answer are asked first.
    let failures = lines.count("metadata from 127.0.0.1:", "failed")
    XCTAssertLessThanOrEqual(failures, 2, lines.matching("metadata from"))
    XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
    try cluster.setRoundTrip(broker: 1, .zero)
    try await assertEveryNumberOnce(client, topic: topic, partitions: 2, count: 2000)
  }

  // MARK: - Fetch

  func testFetcherFollowsLeaderMovesMidConsume() async throws {
    let cluster = try MockCluster()
    let topic = "consume"
    try cluster.createTopic(topic, partitions: 1)
    try cluster.setLeader(topic, partition: 0, broker: 1)
    let client = mockClient(cluster, requestTimeout: .seconds(2))
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client)
    try await producer.initialize()
    try await produceNumbers(producer, topic: topic, partitions: 1, count: 2000, batchSize: 10)

    // The mock answers a fetch with one batch, so this takes 200 fetches at least.
    let fetcher = KafkaFetcher(
      client: client, isolation: .readCommitted, maxWait: .milliseconds(50))
    let partition = KafkaTopicPartition(topic, 0)
    var position: Int64 = 0
    var numbers: [Int] = []
    var fetches = 0
    var moves = 0
    let deadline = ContinuousClock.now + .seconds(60)
    while numbers.count < 2000 && ContinuousClock.now < deadline {
      fetches += 1
      switch fetches {
      case 40, 80, 120, 160:
        try cluster.setLeader(topic, partition: 0, broker: Int32(fetches / 40 % 3) + 1)
        moves += 1
      case 60:
        try cluster.pushErrors(apiKey: ApiKey.fetch.rawValue, [notLeader, notLeader])
      case 100:
        // Broker 3 leads now; it goes down without a leader change, so fetches fail until it
        // is back.
        try cluster.setDown(broker: 3)
      case 110:
        try cluster.setUp(broker: 3)
      case 130:
        // Broker 1 leads now; its next fetch answer comes 30 s late, past the 2 s timeout.
        try cluster.pushDelays(broker: 1, apiKey: ApiKey.fetch.rawValue, [(0, .seconds(30))])
      default: break
      }
      let fetched = try await fetcher.fetch([partition: position])[partition]
      guard let fetched else { continue }
      numbers += fetched.records.map(number)
      position = fetched.nextOffset
    }
    XCTAssertEqual(moves, 4)
    XCTAssertEqual(numbers, Array(0..<2000))
    XCTAssertLessThan(ContinuousClock.now, deadline - .seconds(30), "no wait for the late answer")
  }

  // MARK: - Transactions

  func testTransactionalProducerAcrossLeaderAndCoordinatorMoves() async throws {
    let cluster = try MockCluster()
    let topic = "txn"
    let partitions: Int32 = 3
    try cluster.createTopic(topic, partitions: Int(partitions))
    try cluster.setCoordinator("transaction", key: "mover-tx", broker: 1)
    let client = mockClient(cluster, requestTimeout: .seconds(2))
    defer { Task { await client.close() } }
    let producer = KafkaProducer(client: client, transactionalId: "mover-tx")
    try cluster.pushErrors(
      apiKey: ApiKey.initProducerId.rawValue,
      [
        KafkaErrorCode.coordinatorLoadInProgress.rawValue,
        KafkaErrorCode.notCoordinator.rawValue,
      ])
    try await producer.initialize()

    let perTransaction = 600
    let transactions = 10
    var coordinator: Int32 = 1
    for round in 0..<transactions {
      try await producer.beginTransaction()
      if round % 4 == 1 {
        // The coordinator moves between transactions: the first AddPartitionsToTxn gets
        // NOT_COORDINATOR from the old one.
        coordinator = coordinator % 3 + 1
        try cluster.setCoordinator("transaction", key: "mover-tx", broker: coordinator)
      }
      if round % 4 == 2 {
        try cluster.pushErrors(
          apiKey: ApiKey.addPartitionsToTxn.rawValue,
          [KafkaErrorCode.concurrentTransactions.rawValue])
        try cluster.pushErrors(
          apiKey: ApiKey.endTxn.rawValue, [KafkaErrorCode.coordinatorLoadInProgress.rawValue])
      }
      let base = round * perTransaction
      try await produceNumbers(
        producer, topic: topic, partitions: partitions, count: perTransaction, first: base,
        batchSize: 20
      ) { partition, batch in
        if batch == 4 {
          try cluster.setLeader(
            topic, partition: partition, broker: Int32((round + Int(partition)) % 3) + 1)
        }
        if batch == 6 && partition == 0 {
          try cluster.pushErrors(apiKey: ApiKey.produce.rawValue, [notLeader])
        }
        if batch == 8 && partition == 0 && round % 3 == 0 {
          // Partition 0's leader, broker 1, goes away for 300 ms without a leader change: the
          // writes to it reconnect until it is back. It is also the first broker asked for
          // metadata, and the coordinator in rounds 0 and 6.
          let broker: Int32 = 1
          try cluster.setDown(broker: broker)
          Task {
            try await Task.sleep(for: .milliseconds(300))
            try cluster.setUp(broker: broker)
          }
        }
      }
      if round % 4 == 3 {
        // The coordinator moves inside a transaction: EndTxn gets NOT_COORDINATOR.
        coordinator = coordinator % 3 + 1
        try cluster.setCoordinator("transaction", key: "mover-tx", broker: coordinator)
      }
      if round == 8 {
        // EndTxn is served, but its answer comes after the client's timeout: the resent
        // commit is answered as done.
        try cluster.pushDelays(
          broker: coordinator, apiKey: ApiKey.endTxn.rawValue, [(0, .seconds(30))])
      }
      try await producer.commitTransaction()
    }
    let state = await producer.state
    XCTAssertEqual(state, .ready)
    XCTAssertGreaterThan(lines.count("AddPartitionsToTxn", "retrying", "notCoordinator"), 0)
    XCTAssertGreaterThan(
      lines.count("EndTxn", "retrying", "notCoordinator"), 0, lines.matching("EndTxn"))
    XCTAssertGreaterThan(lines.count("AddPartitionsToTxn", "retrying", "concurrentTransactions"), 0)
    XCTAssertGreaterThan(lines.count("EndTxn", "retrying", "coordinatorLoadInProgress"), 0)
    XCTAssertGreaterThan(lines.count("Produce to", "retrying", "notLeaderOrFollower"), 0)
    XCTAssertGreaterThan(lines.count("Produce to", "retrying", "connection"), 0)
    XCTAssertEqual(lines.count("InitProducerId", "retrying"), 2)
    XCTAssertEqual(lines.count("EndTxn", "retrying", "no response within 2000 ms"), 1)
    try await assertEveryNumberOnce(
      client, topic: topic, partitions: partitions, count: perTransaction * transactions,
      isolation: .readUncommitted)
  }

  // MARK: - Groups

  func testAGroupMemberFollowsItsCoordinatorMoves() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("grouped", partitions: 2)
    try cluster.setCoordinator("group", key: "movers", broker: 1)
    let client = mockClient(cluster, requestTimeout: .seconds(2))
    defer { Task { await client.close() } }
    let all = [KafkaTopicPartition("grouped", 0), KafkaTopicPartition("grouped", 1)]
    let member = ConsumerGroupMember(
      client: client, groupId: "movers", topics: ["grouped"],
      heartbeatInterval: .milliseconds(100))
    let assigned = try await member.join()
    XCTAssertEqual(assigned, all)
    for round in Int64(1)...6 {
      // The coordinator moves: the next heartbeat or OffsetCommit gets NOT_COORDINATOR and the
      // member finds the new one.
      try cluster.setCoordinator("group", key: "movers", broker: Int32(round % 3) + 1)
      if round == 4 {
        try cluster.pushErrors(
          apiKey: ApiKey.offsetCommit.rawValue,
          [KafkaErrorCode.coordinatorLoadInProgress.rawValue])
      }
      try await member.commit([all[0]: round * 10, all[1]: round * 7])
      let committed = try await member.committed(all)
      XCTAssertEqual(committed, [all[0]: round * 10, all[1]: round * 7], "round \(round)")
      try await Task.sleep(for: .milliseconds(150))
    }
    let assignment = await member.assignment
    XCTAssertEqual(assignment, all)
    await member.leave()
  }

  func testAnIdleMemberFollowsItsCoordinatorWithHeartbeatsAlone() async throws {
    let cluster = try MockCluster()
    try cluster.createTopic("idle", partitions: 2)
    try cluster.setCoordinator("group", key: "idlers", broker: 1)
    let client = mockClient(cluster, requestTimeout: .seconds(2))
    defer { Task { await client.close() } }
    let all = [KafkaTopicPartition("idle", 0), KafkaTopicPartition("idle", 1)]
    let events = RebalanceLog()
    let member = ConsumerGroupMember(
      client: client, groupId: "idlers", topics: ["idle"], sessionTimeout: .seconds(4),
      heartbeatInterval: .milliseconds(200), onRebalance: { await events.add($0) })
    try await member.join()
    // The coordinator moves and the member commits nothing: its heartbeats get
    // NOT_COORDINATOR and must find the new coordinator, or the session (4 s; the mock's first
    // join alone takes 3 s) expires there and the group rebalances.
    try cluster.setCoordinator("group", key: "idlers", broker: 3)
    try await Task.sleep(for: .seconds(6))
    try await member.commit([all[0]: 5])
    let seen = await events.events
    XCTAssertEqual(seen, [.assigned(all)])
    let state = await member.state
    guard case .stable = state else { return XCTFail("\(state)") }
    await member.leave()
  }

  // MARK: - Helpers

  /// Writes the numbers `first..<first+count`, number n to partition n % partitions, in batches
  /// of `batchSize`: the partitions at once, each partition's batches one after another.
  /// `chaos(partition, batch)` runs before each batch.
  private func produceNumbers(
    _ producer: KafkaProducer, topic: String, partitions: Int32, count: Int, first: Int = 0,
    batchSize: Int, chaos: @escaping @Sendable (Int32, Int) throws -> Void = { _, _ in }
  ) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<partitions {
        group.addTask {
          let numbers = Array(
            stride(from: first + Int(index), to: first + count, by: Int(partitions)))
          let partition = KafkaTopicPartition(topic, index)
          for (batch, start) in stride(from: 0, to: numbers.count, by: batchSize).enumerated() {
            try chaos(index, batch)
            let records = numbers[start..<min(start + batchSize, numbers.count)].map(numbered)
            try await producer.send(records, to: partition)
          }
        }
      }
      try await group.waitForAll()
    }
  }

  /// Reads each partition from offset 0 until `counts` records came (or a minute passed) and
  /// returns the numbers in offset order.
  private func readNumbers(
    _ client: KafkaClient, _ partitions: [KafkaTopicPartition],
    counts: [KafkaTopicPartition: Int], isolation: IsolationLevel = .readCommitted
  ) async throws -> [KafkaTopicPartition: [Int]] {
    let fetcher = KafkaFetcher(client: client, isolation: isolation, maxWait: .milliseconds(50))
    var positions = Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(0)) })
    var numbers: [KafkaTopicPartition: [Int]] = [:]
    let deadline = ContinuousClock.now + .seconds(60)
    while !positions.isEmpty && ContinuousClock.now < deadline {
      for (partition, fetched) in try await fetcher.fetch(positions) {
        numbers[partition, default: []] += fetched.records.map(number)
        positions[partition] = fetched.nextOffset
        if numbers[partition, default: []].count >= counts[partition] ?? 0 {
          positions[partition] = nil
        }
      }
    }
    return numbers
  }

  /// Every number of `0..<count` is in partition n % partitions exactly once, in order, and the
  /// log ends there.
  private func assertEveryNumberOnce(
    _ client: KafkaClient, topic: String, partitions: Int32, count: Int,
    isolation: IsolationLevel = .readCommitted, file: StaticString = #filePath, line: UInt = #line
  ) async throws {
    let all = (0..<partitions).map { KafkaTopicPartition(topic, $0) }
    var expected: [KafkaTopicPartition: [Int]] = [:]
    for n in 0..<count { expected[all[n % Int(partitions)], default: []].append(n) }
    let read = try await readNumbers(
      client, all, counts: expected.mapValues(\.count), isolation: isolation)
    let ends = try await client.listOffsets(all, at: .latest, isolation: .readUncommitted)
    for partition in all {
      let got = read[partition] ?? []
      let want = expected[partition] ?? []
      if got != want {
        let missing = Set(want).subtracting(got).count
        let duplicates = got.count - Set(got).count
        XCTFail(
          "\(partition): \(got.count) records, \(want.count) expected; \(missing) missing, "
            + "\(duplicates) duplicated, in order: \(got == got.sorted())",
          file: file, line: line)
      }
      XCTAssertEqual(
        ends[partition], Int64(want.count), "\(partition) log end", file: file, line: line)
    }
  }
}

private let notLeader = KafkaErrorCode.notLeaderOrFollower.rawValue
private let timedOut = KafkaErrorCode.requestTimedOut.rawValue

/// Record `n`: its number as the value, `k<n>` as the key.
private func numbered(_ n: Int) -> KafkaRecord {
  KafkaRecord(key: Array("k\(n)".utf8), value: Array("\(n)".utf8))
}

private func number(_ record: FetchedRecord) -> Int {
  Int(String(decoding: record.record.value ?? [], as: UTF8.self)) ?? -1
}

/// Log lines kept for a test to count.
private final class LogLines: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []

  func add(_ line: String) {
    lock.withLock { lines.append(line) }
  }

  func matching(_ phrase: String) -> String {
    lock.withLock { lines.filter { $0.contains(phrase) }.joined(separator: "\n") }
  }

  /// How many lines contain every one of `phrases`.
  func count(_ phrases: String...) -> Int {
    lock.withLock { lines.filter { line in phrases.allSatisfy(line.contains) }.count }
  }
}

/// A log handler that keeps each message in ``LogLines``.
private struct LogLineHandler: LogHandler {
  let lines: LogLines
  var logLevel: Logger.Level = .debug
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.MetadataValue? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    lines.add("\(event.message)")
  }
}

/// A count shared with the chaos closures (they run in the producing tasks).
private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0

  func add() {
    lock.withLock { count += 1 }
  }

  var value: Int { lock.withLock { count } }
}
