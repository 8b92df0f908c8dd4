import SluiceCore

/// A file source's position: which generation of the file (bumped on every rotation), the byte
/// offset after the last line read, and the inode that generation had.
///
/// Text form `GGGGGGGG-OOOOOOOOOOOOOOOO-IIIIIIIIIIIIIIII` (hex, fixed width), so the runtime's
/// byte-wise order of positions is the order of lines: generation first, then offset.
struct FilePosition: Equatable, CustomStringConvertible {
  var generation: UInt64
  var offset: UInt64
  var inode: UInt64

  init(generation: UInt64, offset: UInt64, inode: UInt64) {
    self.generation = generation
    self.offset = offset
    self.inode = inode
  }

  init?(_ position: SourcePosition) {
    let parts = position.text.split(separator: "-")
    guard parts.count == 3, let g = UInt64(parts[0], radix: 16),
      let o = UInt64(parts[1], radix: 16),
      let i = UInt64(parts[2], radix: 16)
    else { return nil }
    self.init(generation: g, offset: o, inode: i)
  }

  var sourcePosition: SourcePosition {
    SourcePosition(
      "\(SourcePosition.hex(generation, width: 8))-\(SourcePosition.hex(offset))-\(SourcePosition.hex(inode))"
    )
  }

  var description: String { "generation \(generation), byte \(offset), inode \(inode)" }
}
