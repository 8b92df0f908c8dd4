/// The decisions of opening a segment, over bytes the segment reads for it: walk the batches
/// from a position while each continues the offsets (and, when verifying, passes its CRC),
/// report each one (for the indexes), and say how the segment ends — intact, with a torn tail
/// to cut, or corrupt: a damaged batch followed by an intact one, which cutting would lose.
///
/// It does no I/O: ``next(window:at:)`` looks at the bytes the caller holds and either
/// answers or asks for others with ``Step/needBytes(at:count:)``. What it asks for is at
/// most `windowBytes`, whatever the segment holds: a batch larger than that (or a damaged
/// header claiming gigabytes) is checked piece by piece with a running CRC, so recovery needs
/// no more memory for a 2 GiB segment than for a small one.
struct SegmentRecovery {
  /// What the caller does next.
  enum Step: Equatable {
    /// Read `count` bytes at `at` (never past the end of the segment) and call again with them.
    case needBytes(at: Int64, count: Int)
    /// A valid batch at `at`: index it. Call again with the same bytes.
    case batch(RecordBatch.Header, at: Int64)
    /// Done.
    case end(Outcome)
  }

  /// How the segment ends.
  enum Outcome: Equatable {
    /// Every byte up to the end of the segment is a valid batch.
    case intact(end: Int64, nextOffset: Int64)
    /// The valid batches end at `at`, before the end of the segment, and nothing valid follows
    /// (or `searchPastDamage` was off): what is after `at` is a torn write to cut.
    case torn(at: Int64, nextOffset: Int64)
    /// The batch at `at` is damaged and an intact batch continuing the offsets follows at
    /// `intactBatchAt`: not a torn write but corruption, which only a person may cut.
    case corrupt(at: Int64, intactBatchAt: Int64, nextOffset: Int64)
  }

  private enum Phase {
    /// Walking valid batches: the next one should start at `position` with `expected`.
    case scanning(position: Int64, expected: Int64)
    /// CRC-checking the batch at `start` piece by piece: bytes before `checked` are summed.
    case verifying(
      start: Int64, header: RecordBatch.Header, crc: UInt32, checked: Int64, candidate: Bool)
    /// After the valid batches end at `validEnd`: looking for an intact batch from `position`.
    case searching(position: Int64)
    case done(Outcome)
  }

  let fileSize: Int64
  /// Check each batch's CRC (recovery after a crash) or trust them (a cleanly closed segment).
  let verify: Bool
  /// After the valid batches, look for an intact batch further on (to tell corruption from a
  /// torn tail) rather than stop.
  let searchPastDamage: Bool
  /// The most bytes asked for at once.
  let windowBytes: Int
  private var phase: Phase
  /// Where the valid batches end and the offset after them, once the walk stopped.
  private var validEnd: Int64 = 0
  private var nextOffset: Int64 = 0

  init(
    from position: Int64, expectedOffset: Int64, fileSize: Int64, verify: Bool,
    searchPastDamage: Bool, windowBytes: Int = 4 << 20
  ) {
    precondition(windowBytes >= RecordBatch.headerSize)
    self.fileSize = fileSize
    self.verify = verify
    self.searchPastDamage = searchPastDamage
    self.windowBytes = windowBytes
    phase = .scanning(position: position, expected: expectedOffset)
  }

  /// The next step, given `window`: the bytes the caller holds, read at `start`.
  mutating func next(window: UnsafeRawBufferPointer, at start: Int64) -> Step {
    while true {
      switch phase {
      case .done(let outcome):
        return .end(outcome)

      case .scanning(let position, let expected):
        guard position < fileSize else {
          finish(.intact(end: position, nextOffset: expected))
          continue
        }
        guard position + Int64(RecordBatch.headerSize) <= fileSize else {
          stopScanning(at: position, nextOffset: expected)
          continue
        }
        guard let bytes = slice(window, at: start, from: position, count: RecordBatch.headerSize)
        else { return read(from: position) }
        guard let header = RecordBatch.header(bytes), header.baseOffset == expected,
          position + Int64(header.size) <= fileSize
        else {
          stopScanning(at: position, nextOffset: expected)
          continue
        }
        if verify {
          phase = .verifying(
            start: position, header: header, crc: 0,
            checked: position + Int64(RecordBatch.attributesOffset), candidate: false)
          continue
        }
        phase = .scanning(position: position + Int64(header.size), expected: header.nextOffset)
        return .batch(header, at: position)

      case .verifying(let batchStart, let header, let crc, let checked, let candidate):
        let end = batchStart + Int64(header.size)
        if checked == end {
          let valid = crc == header.storedCRC
          if candidate {
            if valid {
              finish(.corrupt(at: validEnd, intactBatchAt: batchStart, nextOffset: nextOffset))
            } else {
              phase = .searching(position: batchStart + 1)
            }
            continue
          }
          guard valid else {
            stopScanning(at: batchStart, nextOffset: header.baseOffset)
            continue
          }
          phase = .scanning(position: end, expected: header.nextOffset)
          return .batch(header, at: batchStart)
        }
        // Sum what the window holds of the rest; ask for the next piece when it holds none.
        let held = start + Int64(window.count)
        guard start <= checked, checked < held else {
          return .needBytes(at: checked, count: Int(min(end - checked, Int64(windowBytes))))
        }
        let upTo = min(end, held)
        let piece = UnsafeRawBufferPointer(
          rebasing: window[Int(checked - start)..<Int(upTo - start)])
        phase = .verifying(
          start: batchStart, header: header, crc: CRC32C.checksum(piece, continuing: crc),
          checked: upTo, candidate: candidate)

      case .searching(let position):
        guard position + Int64(RecordBatch.headerSize) <= fileSize else {
          finish(.torn(at: validEnd, nextOffset: nextOffset))
          continue
        }
        let held = start + Int64(window.count)
        guard start <= position, position + Int64(RecordBatch.headerSize) <= held else {
          return read(from: position)
        }
        // Every start the window holds a whole header for; the magic byte (2) filters first.
        var candidate = position
        while candidate + Int64(RecordBatch.headerSize) <= held {
          let local = Int(candidate - start)
          if window[local + RecordBatch.magicOffset] == 2,
            let header = RecordBatch.header(
              UnsafeRawBufferPointer(rebasing: window[local..<(local + RecordBatch.headerSize)])),
            header.baseOffset >= nextOffset, candidate + Int64(header.size) <= fileSize
          {
            break
          }
          candidate += 1
        }
        guard candidate + Int64(RecordBatch.headerSize) <= held else {
          phase = .searching(position: candidate)
          continue
        }
        let local = Int(candidate - start)
        let header = RecordBatch.header(
          UnsafeRawBufferPointer(rebasing: window[local..<(local + RecordBatch.headerSize)]))!
        phase = .verifying(
          start: candidate, header: header, crc: 0,
          checked: candidate + Int64(RecordBatch.attributesOffset), candidate: true)
      }
    }
  }

  // MARK: - Internals

  /// The valid batches end at `position`: the segment is intact, or search past the damage,
  /// or it is torn there.
  private mutating func stopScanning(at position: Int64, nextOffset offset: Int64) {
    validEnd = position
    nextOffset = offset
    if position == fileSize {
      finish(.intact(end: position, nextOffset: offset))
    } else if searchPastDamage {
      phase = .searching(position: position + 1)
    } else {
      finish(.torn(at: position, nextOffset: offset))
    }
  }

  private mutating func finish(_ outcome: Outcome) { phase = .done(outcome) }

  /// A window of the segment from `position`.
  private func read(from position: Int64) -> Step {
    .needBytes(at: position, count: Int(min(fileSize - position, Int64(windowBytes))))
  }

  /// `count` bytes at `position` when the window holds them.
  private func slice(
    _ window: UnsafeRawBufferPointer, at start: Int64, from position: Int64, count: Int
  ) -> UnsafeRawBufferPointer? {
    guard start <= position, position + Int64(count) <= start + Int64(window.count) else {
      return nil
    }
    let local = Int(position - start)
    return UnsafeRawBufferPointer(rebasing: window[local..<(local + count)])
  }
}
