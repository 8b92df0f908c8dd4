import Foundation

/// The batches Fixtures/make-fixtures.py built with kafka-python, read from beside this file
/// (not bundled as resources: SluiceLogTests reads the same files).
enum Fixture {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

  static func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: directory.appendingPathComponent(name + ".batch")))
  }

  /// A batch's records section: what its codec compressed.
  static func recordsSection(_ name: String) throws -> [UInt8] {
    Array(try bytes(name)[61...])
  }
}
