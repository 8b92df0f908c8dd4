import XCTest

@testable import SluiceLog

/// Segment recovery's decisions over bytes in memory, with windows far smaller than a batch so
/// every path that reads piece by piece is taken: intact, torn tails, damage followed by an
/// intact batch (corruption), and a damaged header claiming more than the segment holds.
final class SegmentRecoveryTests: XCTestCase {
  /// Three batches at offsets 10, 13 and 15, as a segment with base offset 10 holds them.
  private func segment() -> (bytes: [UInt8], starts: [Int]) {
    var bytes: [UInt8] = []
    var starts: [Int] = []
    var offset: Int64 = 10
    for count in [3, 2, 4] {
      var batch = RecordBatch.encode(
        (0..<count).map {
          LogRecord(
            timestamp: 1_000 + Int64($0), key: nil,
            value: Array("value \(offset) \($0) \(String(repeating: "x", count: 40))".utf8))
        })
      withUnsafeBytes(of: offset.bigEndian) { batch.replaceSubrange(0..<8, with: $0) }
      starts.append(bytes.count)
      bytes += batch
      offset += Int64(count)
    }
    return (bytes, starts)
  }

  /// Runs recovery over `bytes` the way a segment does, returning the batches it reported,
  /// the outcome and the largest read it asked for.
  private func recover(
    _ bytes: [UInt8], verify: Bool = true, search: Bool = true, window: Int = 80
  ) -> (batches: [Int64], outcome: SegmentRecovery.Outcome, largestRead: Int) {
    var recovery = SegmentRecovery(
      from: 0, expectedOffset: 10, fileSize: Int64(bytes.count), verify: verify,
      searchPastDamage: search, windowBytes: window)
    var held: [UInt8] = []
    var heldAt: Int64 = 0
    var batches: [Int64] = []
    var largest = 0
    for _ in 0..<100_000 {
      switch held.withUnsafeBytes({ recovery.next(window: $0, at: heldAt) }) {
      case .needBytes(let at, let count):
        XCTAssertLessThanOrEqual(at + Int64(count), Int64(bytes.count), "a read past the end")
        held = Array(bytes[Int(at)..<(Int(at) + count)])
        heldAt = at
        largest = max(largest, count)
      case .batch(let header, _):
        batches.append(header.baseOffset)
      case .end(let outcome):
        return (batches, outcome, largest)
      }
    }
    XCTFail("recovery did not end")
    return (batches, .torn(at: -1, nextOffset: -1), largest)
  }

  func testAnIntactSegmentReportsEveryBatchReadingNoMoreThanTheWindow() {
    let (bytes, _) = segment()
    let result = recover(bytes)
    XCTAssertEqual(result.batches, [10, 13, 15])
    XCTAssertEqual(result.outcome, .intact(end: Int64(bytes.count), nextOffset: 19))
    XCTAssertLessThanOrEqual(result.largestRead, 80)
  }

  func testATornLastBatchIsCutAtItsStart() {
    let (bytes, starts) = segment()
    let torn = Array(bytes[..<(bytes.count - 7)])
    let result = recover(torn)
    XCTAssertEqual(result.batches, [10, 13])
    XCTAssertEqual(result.outcome, .torn(at: Int64(starts[2]), nextOffset: 15))
  }

  func testAFewBytesOfAHeaderAreATornTail() {
    let (bytes, _) = segment()
    let result = recover(bytes + [0, 0, 0, 1, 2])
    XCTAssertEqual(result.outcome, .torn(at: Int64(bytes.count), nextOffset: 19))
  }

  func testDamageFollowedByAnIntactBatchIsCorruption() {
    var (bytes, starts) = segment()
    bytes[starts[1] + RecordBatch.headerSize + 5] ^= 0xFF  // inside the second batch's records
    let result = recover(bytes)
    XCTAssertEqual(result.batches, [10])
    XCTAssertEqual(
      result.outcome,
      .corrupt(at: Int64(starts[1]), intactBatchAt: Int64(starts[2]), nextOffset: 13))
    XCTAssertLessThanOrEqual(result.largestRead, 80)
  }

  func testDamageInTheLastBatchIsATornTail() {
    var (bytes, starts) = segment()
    bytes[bytes.count - 3] ^= 0xFF
    XCTAssertEqual(recover(bytes).outcome, .torn(at: Int64(starts[2]), nextOffset: 15))
  }

  func testAHeaderClaimingMoreThanTheSegmentHoldsIsDamageNotARead() {
    var (bytes, starts) = segment()
    // The second batch's length field says 2 GiB: implausible, so the batch is damaged, and
    // nothing is read to check it.
    withUnsafeBytes(of: Int32.max.bigEndian) {
      bytes.replaceSubrange((starts[1] + 8)..<(starts[1] + 12), with: $0)
    }
    let result = recover(bytes)
    XCTAssertEqual(
      result.outcome,
      .corrupt(at: Int64(starts[1]), intactBatchAt: Int64(starts[2]), nextOffset: 13))
    XCTAssertLessThanOrEqual(result.largestRead, 80)
  }

  func testWithoutSearchingTheWalkStopsAtTheDamage() {
    var (bytes, starts) = segment()
    bytes[starts[1] + RecordBatch.headerSize + 5] ^= 0xFF
    XCTAssertEqual(
      recover(bytes, search: false).outcome, .torn(at: Int64(starts[1]), nextOffset: 13))
  }

  func testATrustedWalkReadsHeadersOnly() {
    var (bytes, _) = segment()
    bytes[bytes.count - 3] ^= 0xFF  // a CRC that is not checked
    let result = recover(bytes, verify: false, search: false, window: RecordBatch.headerSize)
    XCTAssertEqual(result.batches, [10, 13, 15])
    XCTAssertEqual(result.outcome, .intact(end: Int64(bytes.count), nextOffset: 19))
  }

  func testAnOffsetGapEndsTheValidBatches() {
    var (bytes, starts) = segment()
    withUnsafeBytes(of: Int64(14).bigEndian) {
      bytes.replaceSubrange(starts[1]..<(starts[1] + 8), with: $0)
    }
    let result = recover(bytes, search: false)
    XCTAssertEqual(result.batches, [10])
    XCTAssertEqual(result.outcome, .torn(at: Int64(starts[1]), nextOffset: 13))
  }

  func testTheRunningCRCEqualsTheWholeOne() {
    let bytes: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let whole = CRC32C.checksum(bytes)
    var running: UInt32 = 0
    for piece in stride(from: 0, to: bytes.count, by: 77) {
      running = bytes[piece..<min(piece + 77, bytes.count)].withUnsafeBytes {
        CRC32C.checksum($0, continuing: running)
      }
    }
    XCTAssertEqual(running, whole)
    let software = bytes.withUnsafeBytes { all in
      CRC32C.software(
        UnsafeRawBufferPointer(rebasing: all[500...]),
        continuing: CRC32C.software(UnsafeRawBufferPointer(rebasing: all[..<500])))
    }
    XCTAssertEqual(software, whole)
  }
}
