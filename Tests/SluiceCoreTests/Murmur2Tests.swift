import SluiceCore
import XCTest

final class Murmur2Tests: XCTestCase {
  /// The vectors of Kafka's own `UtilsTest.testMurmur2`.
  func testMatchesKafkaTestVectors() {
    let vectors: [(String, Int32)] = [
      ("21", -973_932_308),
      ("foobar", -790_332_482),
      ("a-little-bit-long-string", -985_981_536),
      ("a-little-bit-longer-string", -1_486_304_829),
      ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
      ("abc", 479_470_107),
    ]
    for (input, expected) in vectors {
      XCTAssertEqual(Murmur2.hash(Array(input.utf8)), expected, input)
    }
  }

  func testPartitionUsesPositiveMaskNotAbs() {
    XCTAssertEqual(Murmur2.toPositive(Int32.min), 0)
    XCTAssertEqual(Murmur2.toPositive(-1), Int32.max)
    // "foobar" hashes negative; Kafka's partition is (hash & 0x7fffffff) % n.
    let expected = Int((-790_332_482 as Int32) & 0x7fff_ffff) % 7
    XCTAssertEqual(Partitioner.partition(forKey: Array("foobar".utf8), partitions: 7), expected)
  }

  func testKeylessRecordsRoundRobin() {
    let partitioner = Partitioner()
    let chosen = (0..<6).map { _ in partitioner.partition(forKey: nil, partitions: 3) }
    XCTAssertEqual(chosen, [0, 1, 2, 0, 1, 2])
  }
}
