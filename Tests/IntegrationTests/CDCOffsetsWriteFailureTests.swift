import Foundation
import XCTest

/// A CDC connector whose offsets file cannot be written while changes stream (EPERM, ENOSPC):
/// the task fails and is restarted with backoff (status shows it), the worker process stays
/// alive, and once the folder is writable again every committed change is in its topic
/// exactly once.
///
/// Before the fix, the failed send stopped the replication stream while its thread waited
/// for room, the thread took the stop's semaphore count, and libdispatch trapped when the
/// stream was freed below the semaphore's initial value: the worker died.
final class CDCOffsetsWriteFailureTests: CDCWorkerTestCase {
  /// EPERM: the folder is immutable (or not a folder at all).
  func testAnUnwritableOffsetsFolderFailsTheTaskNotTheWorkerAndLosesNothing() throws {
    try streamWhileOffsetsFail(name: "cdc-offw", seed: 7) { try UnwritableFolder($0) }
  }

  /// ENOSPC: a full file system is mounted over the folder.
  func testAFullDiskUnderTheOffsetsFolderFailsTheTaskNotTheWorkerAndLosesNothing() throws {
    try streamWhileOffsetsFail(name: "cdc-offfull", seed: 8) { try FullFolder($0) }
  }

  /// EMFILE: the worker's descriptor limit is lowered (prlimit) to what it has open, so the
  /// offsets file cannot be opened — nor can anything else, the admin API's connections
  /// included, so the failure is read from the log and the restart count afterwards.
  func testRunningOutOfDescriptorsFailsTheTaskNotTheWorkerAndLosesNothing() throws {
    let name = "cdc-offfd"
    let prefix = "cdc_offfd"
    let workload = CDCWorkload(prefix: prefix, transactions: 1200, seed: 9)
    let worker = try WorkerProcess()
    try workload.prepare(url)
    slotsToDrop.append(prefix)
    try worker.writeConnector(
      name, connectorYAML(name, tables: workload.tableList, topic: "\(prefix).{table}"))
    try worker.start()
    try waitForStreaming(worker, name)
    let first = workload.run(url, chunks: 0..<4)
    try waitUntil("the first part committed", timeout: 120) { first.finished }
    XCTAssertNil(first.failure)
    let restartsBefore = taskStatus(worker, name)?["restarts"] as? Int ?? 0

    let ceiling = try DescriptorCeiling(pid: try XCTUnwrap(worker.process?.processIdentifier))
    defer { ceiling.restore() }
    let blocked = workload.run(url, chunks: 4..<10)
    try waitUntil("changes made while out of descriptors", timeout: 120) { blocked.finished }
    XCTAssertNil(blocked.failure)
    try waitUntil("the task failed for want of descriptors", timeout: 30) {
      worker.log().contains("Too many open files")
    }
    // The runtime handled the failure (it logs it as it schedules the restart), and lives on.
    try waitUntil("the task's failure handled", timeout: 30) {
      worker.log().split(separator: "\n").contains {
        $0.contains("source task failed") && $0.contains("Too many open files")
      }
    }
    XCTAssertTrue(worker.process?.isRunning == true, "the worker died:\n\(worker.log())")
    let failures = worker.log().split(separator: "\n").filter {
      $0.contains("source task failed") && $0.contains("Too many open files")
    }
    XCTAssertFalse(failures.isEmpty, "the task's failure names EMFILE:\n\(worker.log())")
    print("CDC out of descriptors: \(failures.count) task failures, first: \(failures.first ?? "")")

    ceiling.restore()
    let rest = workload.run(url, chunks: 10..<workload.chunks.count)
    try waitUntil("the rest committed", timeout: 120) { rest.finished }
    XCTAssertNil(rest.failure)
    try workload.verify(worker, topicPrefix: "\(prefix).", context: "after EMFILE")
    try waitUntil("streaming again", timeout: 90) {
      self.taskStatus(worker, name)?["state"] as? String == "RUNNING"
        && self.detail(worker, name, "state") == "streaming"
    }
    let restarts = (taskStatus(worker, name)?["restarts"] as? Int ?? 0) - restartsBefore
    XCTAssertGreaterThanOrEqual(restarts, 1, "the task was restarted after the failure")
    XCTAssertTrue(worker.log().contains("source task failed; restarting"), worker.log())
    XCTAssertNotNil(worker.terminate())
  }

  /// Streams a workload, makes the offsets folder fail with `block` part way, checks the
  /// worker lives and status shows the task failing, then makes it work again and checks
  /// every change arrived once.
  func streamWhileOffsetsFail(
    name: String, seed: UInt64, block: (URL) throws -> any OffsetsFolderBlocker
  ) throws {
    let prefix = name.replacingOccurrences(of: "-", with: "_")
    let workload = CDCWorkload(prefix: prefix, transactions: 2400, seed: seed)
    let worker = try WorkerProcess()
    try workload.prepare(url)
    slotsToDrop.append(prefix)
    try worker.writeConnector(
      name, connectorYAML(name, tables: workload.tableList, topic: "\(prefix).{table}"))
    try worker.start()
    try waitForStreaming(worker, name)

    // A first part streams normally, so the connector has a committed position.
    let first = workload.run(url, chunks: 0..<4)
    try waitUntil("the first part committed", timeout: 120) { first.finished }
    XCTAssertNil(first.failure)
    let offsets = worker.directory.appendingPathComponent("data/offsets")
    try waitUntil("a committed position", timeout: 30) {
      FileManager.default.fileExists(atPath: offsets.appendingPathComponent("\(name).json").path)
    }

    let blocker = try block(offsets)
    // Restored on every way out, before the worker's folder is removed.
    defer { blocker.restore() }
    let restartsBefore = taskStatus(worker, name)?["restarts"] as? Int ?? 0

    // Changes keep coming at full speed while the offsets cannot be written, so the
    // replication thread is ahead of the task when a send fails.
    var next = 4
    var sawFailed = false
    var traces = Set<String>()
    while next < 16 {
      let part = workload.run(url, chunks: next..<next + 2)
      next += 2
      while !part.finished {
        XCTAssertTrue(worker.process?.isRunning == true, "the worker died:\n\(worker.log())")
        guard worker.process?.isRunning == true else { return }
        if let task = taskStatus(worker, name), task["state"] as? String == "FAILED" {
          sawFailed = true
          if let trace = task["trace"] as? String { traces.insert(trace) }
        }
        Thread.sleep(forTimeInterval: 0.02)
      }
      XCTAssertNil(part.failure)
      let restarts = (taskStatus(worker, name)?["restarts"] as? Int ?? 0) - restartsBefore
      if sawFailed && restarts >= 3 { break }
    }
    // Let the last failure and restart happen with nothing more arriving.
    try waitUntil("the task failed and restarted at least three times", timeout: 60) {
      if let task = self.taskStatus(worker, name), task["state"] as? String == "FAILED" {
        sawFailed = true
        if let trace = task["trace"] as? String { traces.insert(trace) }
      }
      let restarts = self.taskStatus(worker, name)?["restarts"] as? Int ?? 0
      return sawFailed && restarts - restartsBefore >= 3
    }
    XCTAssertTrue(worker.process?.isRunning == true, "the worker died:\n\(worker.log())")
    XCTAssertTrue(sawFailed, "status showed the task FAILED")
    XCTAssertTrue(
      traces.contains { $0.contains("offsets") && $0.contains("\(name).json") },
      "the reason names the offsets file: \(traces)")
    XCTAssertTrue(worker.log().contains("source task failed; restarting"), "logged")
    print(
      "CDC offsets write failure (\(name)): \(blocker.how), \((taskStatus(worker, name)?["restarts"] as? Int ?? 0) - restartsBefore) restarts, traces: \(traces)"
    )

    // Writable again: the task recovers by itself, and the rest of the workload streams.
    blocker.restore()
    let rest = workload.run(url, chunks: next..<workload.chunks.count)
    try waitUntil("the rest committed", timeout: 120) { rest.finished }
    XCTAssertNil(rest.failure)
    try workload.verify(
      worker, topicPrefix: "\(prefix).", context: "after offsets writes failed with \(blocker.how)")
    try waitUntil("streaming again", timeout: 90) {
      self.detail(worker, name, "state") == "streaming"
        && self.taskStatus(worker, name)?["state"] as? String == "RUNNING"
    }
    XCTAssertTrue(worker.process?.isRunning == true, "the worker died:\n\(worker.log())")
    // The position moves on again: a restart would not replay the whole slot.
    let file = offsets.appendingPathComponent("\(name).json")
    let before = try Data(contentsOf: file)
    try cdcPSQL(url, "INSERT INTO \(prefix)_a VALUES (100000, 1, 'after')")
    try waitUntil("the offsets file was written again", timeout: 30) {
      (try? Data(contentsOf: file)) != before
    }
    XCTAssertNotNil(worker.terminate())
  }
}

/// Lowers a running process's open-file limit well below the number it has open, so its
/// `open`, `accept` and `socket` calls fail with EMFILE until ``restore()`` — however many idle
/// files it closes meanwhile (the log's descriptor pool closes idle segments).
final class DescriptorCeiling: @unchecked Sendable {
  let pid: Int32
  private let original: String
  private var lowered = false
  private let lock = NSLock()

  init(pid: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
    self.pid = pid
    let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
    let row = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
    let numbers = row.split(separator: " ").filter { Int($0) != nil }
    guard numbers.count >= 2 else { throw WorkerError("cannot read the limits of \(pid)") }
    original = "\(numbers[0]):\(numbers[1])"
    let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    let set = try runProgram(
      "/usr/bin/prlimit", ["--pid", "\(pid)", "--nofile=\(max(8, open / 2)):\(numbers[1])"])
    guard set.status == 0 else {
      XCTFail("prlimit failed: \(set.output)", file: file, line: line)
      throw WorkerError("prlimit failed")
    }
    lowered = true
  }

  func restore() {
    lock.withLock {
      guard lowered else { return }
      _ = try? runProgram("/usr/bin/prlimit", ["--pid", "\(pid)", "--nofile=\(original)"])
      lowered = false
    }
  }
}

/// Something that makes a folder fail writes until ``restore()``.
protocol OffsetsFolderBlocker: AnyObject, Sendable {
  /// How the writes fail, for the test's output.
  var how: String { get }
  /// Makes the folder work as before; safe to call twice.
  func restore()
}

/// Whether a byte can be written and synced to a new file in `folder`.
func canWrite(in folder: URL) -> Bool {
  let probe = folder.appendingPathComponent(".probe-\(UUID().uuidString)")
  let fd = open(probe.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
  guard fd >= 0 else { return false }
  defer {
    close(fd)
    unlink(probe.path)
  }
  var byte: UInt8 = 1
  return write(fd, &byte, 1) == 1 && fsync(fd) == 0
}

/// Fills a folder's file system (ENOSPC): a small tmpfs mounted over it and filled up, so the
/// offsets store's writes fail for lack of space; unmounting shows the folder as it was.
final class FullFolder: OffsetsFolderBlocker, @unchecked Sendable {
  let folder: URL
  let how = "a full tmpfs over the folder (ENOSPC)"
  private var mounted = false
  private let lock = NSLock()

  init(_ folder: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    self.folder = folder
    let mount = try runProgram(
      "/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder.path])
    guard mount.status == 0 else {
      // `make test` runs as root (PostgreSQL is started with runuser); not a reason to skip.
      XCTFail("cannot mount a tmpfs (needs root): \(mount.output)", file: file, line: line)
      throw WorkerError("cannot mount a tmpfs over \(folder.path)")
    }
    mounted = true
    // Fill it: dd stops with ENOSPC, which is the point.
    _ = try runProgram(
      "/bin/dd", ["if=/dev/zero", "of=\(folder.path)/fill", "bs=4k"])
    guard !canWrite(in: folder) else {
      restore()
      XCTFail("could not fill \(folder.path)", file: file, line: line)
      throw WorkerError("could not fill \(folder.path)")
    }
  }

  func restore() {
    lock.withLock {
      guard mounted else { return }
      if (try? runProgram("/bin/umount", [folder.path]))?.status != 0 {
        _ = try? runProgram("/bin/umount", ["-l", folder.path])
      }
      mounted = false
    }
  }
}

/// Makes a folder impossible to write into, even for root (tests run as root, so a chmod
/// would not stop anything): the immutable attribute (`chattr +i`), or where the file system
/// has none, a plain file in the folder's place. Checks that a write really fails.
final class UnwritableFolder: OffsetsFolderBlocker, @unchecked Sendable {
  let folder: URL
  private var moved: URL?
  private var immutable = false
  /// How the folder was made unwritable, for the test's output.
  private(set) var how = "chattr +i"
  private let lock = NSLock()

  init(_ folder: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    self.folder = folder
    if (try? runProgram("/usr/bin/chattr", ["+i", folder.path]))?.status == 0 {
      immutable = true
    }
    if !immutable || canWrite(in: folder) {
      if immutable { _ = try? runProgram("/usr/bin/chattr", ["-i", folder.path]) }
      immutable = false
      let aside = folder.deletingLastPathComponent().appendingPathComponent(
        folder.lastPathComponent + ".aside")
      try FileManager.default.moveItem(at: folder, to: aside)
      moved = aside
      how = "a file in the folder's place"
      FileManager.default.createFile(atPath: folder.path, contents: Data())
    }
    guard !canWrite(in: folder) else {
      restore()
      XCTFail("could not make \(folder.path) unwritable", file: file, line: line)
      throw WorkerError("could not make \(folder.path) unwritable")
    }
  }

  /// Makes the folder writable again, as it was; safe to call twice.
  func restore() {
    lock.withLock {
      if immutable {
        _ = try? runProgram("/usr/bin/chattr", ["-i", folder.path])
        immutable = false
      }
      if let moved {
        try? FileManager.default.removeItem(at: folder)
        try? FileManager.default.moveItem(at: moved, to: folder)
        self.moved = nil
      }
    }
  }
}
