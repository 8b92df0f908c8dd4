import Foundation
import Logging
import SluiceCore
import SluiceLog
import XCTest

/// A sink connector's tasks are members of one consumer group: the group, not the task index,
/// gives each its partitions; a partition taken from a task is closed by it (its offsets
/// committed) before another task reads it, and every record is delivered once.
final class SinkGroupTests: StoreTestCase {
  func testThreeTasksShareSixPartitionsAndDeliverEachRecordOnceInOrder() async throws {
    try await store.createTopic("in", partitions: 6)
    let journal = Journal()
    var registry = ConnectorRegistry()
    registry.registerSink("journal") { _ in JournalSinkConnector(journal: journal) }
    let worker = Worker(
      store: store, offsets: offsets, registry: registry, workerID: "test",
      logger: Logger(label: "test"))
    let file = directory.appendingPathComponent("j.yaml")
    try "name: j\nsink: journal\ntopics: [in]\ntasks: 3\nconfig: {}\n".write(
      to: file, atomically: true, encoding: .utf8)
    await worker.apply(
      [try ConnectorDefinition.load(path: file.path, environment: [:])], errors: [])
    // Records keep arriving while the tasks join and the group shares the partitions out.
    for round in 0..<20 {
      for p in 0..<6 {
        _ = try await store.append(
          (0..<10).map { OutgoingRecord(key: nil, value: Array("\(round * 10 + $0)".utf8)) },
          to: TopicPartition("in", p))
      }
      try await Task.sleep(for: .milliseconds(20))
    }
    try await eventually(timeout: .seconds(20)) { await journal.total == 1200 }
    let final = await journal.snapshot()
    for p in 0..<6 {
      let tp = TopicPartition("in", p)
      XCTAssertEqual(final.delivered[tp], (0..<200).map(Int64.init), "\(tp) once, in order")
    }
    // Once the group is settled each task holds two partitions.
    try await eventually {
      await journal.snapshot().held.values.map(\.count).sorted() == [2, 2, 2]
    }
    for (task, partitions) in await journal.snapshot().held {
      XCTAssertEqual(partitions.count, 2, "task \(task)")
    }
    // Each task's status says how far behind it is: nothing, over its two partitions.
    try await eventually {
      let tasks = worker.status.status(of: "j")?.tasks ?? []
      return tasks.count == 3
        && tasks.allSatisfy { $0.details["lag_records"] == "0" && $0.details["partitions"] == "2" }
    }
    await worker.stopAll()
    // Every partition's committed offset is its end: nothing is delivered again.
    let committed = try await offsets.sinkOffsets(connector: "j")
    XCTAssertEqual(committed.count, 6)
    XCTAssertTrue(committed.values.allSatisfy { $0 == 200 })
  }
}

/// What the test sink's tasks delivered, per partition, and which partitions each task holds
/// (opened and not closed).
actor Journal {
  var delivered: [TopicPartition: [Int64]] = [:]
  var held: [Int: Set<TopicPartition>] = [:]
  var total: Int { delivered.values.reduce(0) { $0 + $1.count } }

  func open(_ task: Int, _ partitions: [TopicPartition]) {
    for tp in partitions {
      for (other, set) in held where other != task {
        XCTAssertFalse(set.contains(tp), "\(tp) opened by task \(task) while task \(other) has it")
      }
      held[task, default: []].insert(tp)
    }
  }

  func close(_ task: Int, _ partitions: [TopicPartition]) {
    held[task, default: []].subtract(partitions)
  }

  func put(_ task: Int, _ records: [Record]) {
    for record in records {
      XCTAssertTrue(held[task, default: []].contains(record.topicPartition))
      delivered[record.topicPartition, default: []].append(record.offset)
    }
  }

  func snapshot() -> (delivered: [TopicPartition: [Int64]], held: [Int: Set<TopicPartition>]) {
    (delivered, held)
  }
}

struct JournalSinkConnector: SinkConnector {
  let journal: Journal
  var offsetCommitInterval: Duration { .milliseconds(50) }
  func makeTask(index: Int, count: Int, context: any SinkTaskContext) throws -> any SinkTask {
    JournalSinkTask(journal: journal, index: index)
  }
}

struct JournalSinkTask: SinkTask {
  let journal: Journal
  let index: Int
  func open(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
    await journal.open(index, partitions)
    return [:]
  }
  func close(_ partitions: [TopicPartition]) async throws { await journal.close(index, partitions) }
  func put(_ records: [Record]) async throws { await journal.put(index, records) }
  func close() async {
    await journal.close(index, Array(await journal.snapshot().held[index] ?? []))
  }
}
