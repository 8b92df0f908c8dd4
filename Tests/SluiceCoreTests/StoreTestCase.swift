import Foundation
import SluiceCore
import SluiceLog
import XCTest

/// A fresh embedded store per test — its log, and the offsets file its sink groups commit to —
/// in a folder removed afterwards, for the tests that run a worker on it.
class StoreTestCase: XCTestCase {
  var directory: URL!
  var log: EmbeddedLog!
  var store: EmbeddedTopicStore!
  var offsets: FileOffsetStore!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-\(type(of: self))-\(UUID().uuidString)")
    log = try EmbeddedLog(directory: directory.appendingPathComponent("log").path)
    offsets = try FileOffsetStore(directory: directory.appendingPathComponent("offsets").path)
    store = EmbeddedTopicStore(log: log, defaultPartitions: 1, groupOffsets: offsets)
  }

  override func tearDownWithError() throws {
    log.close()
    try? FileManager.default.removeItem(at: directory)
  }
}
