import Foundation
import XCTest

/// Polls `condition` every 50 ms for up to `timeout` seconds; fails the test if it never holds.
///
/// The one way integration tests wait: for something that shows the awaited thing happened,
/// never for a fixed time. To show that something did *not* happen (a duplicate, a record of a
/// paused connector), make something happen after it — a sentinel row, line or message — and
/// wait for that: everything before it has then been processed.
func waitUntil(
  _ what: String, timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line,
  _ condition: () throws -> Bool
)
  throws
{
  let deadline = Date().addingTimeInterval(timeout)
  while Date() < deadline {
    if (try? condition()) == true { return }
    Thread.sleep(forTimeInterval: 0.05)
  }
  XCTFail("timed out waiting for: \(what)", file: file, line: line)
  throw WorkerError("timed out waiting for: \(what)")
}
