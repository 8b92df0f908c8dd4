import Foundation
import XCTest

/// The conformance fixtures written by Fixtures/make-fixtures.py (kafka-python 3.0.12's encoder).
enum Fixture {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

  /// Every fixture's name (without `.hex`).
  static var names: [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return files.filter { $0.hasSuffix(".hex") }.map { String($0.dropLast(4)) }.sorted()
  }

  /// The bytes of fixture `name`.
  static func bytes(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> [UInt8]
  {
    let text = try String(
      contentsOf: directory.appendingPathComponent("\(name).hex"), encoding: .utf8)
    let hex = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    guard hex.count % 2 == 0 else {
      XCTFail("odd number of hex digits in \(name)", file: file, line: line)
      return []
    }
    func nibble(_ digit: UInt8) -> UInt8 {
      switch digit {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
      default: return 0
      }
    }
    return stride(from: 0, to: hex.count, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
  }
}
