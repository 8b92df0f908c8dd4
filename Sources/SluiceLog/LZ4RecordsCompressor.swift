import SluiceCompression
import SluiceCore

/// LZ4 frames of independent blocks (``LZ4Frame``) as ``RecordsCompressor``: a frame started
/// and filled by a source's thread, the last record's blocks added and the frame ended by the
/// store's. Kafka's readers read the frame as one, whatever calls made its blocks.
struct LZ4RecordsCompressor: RecordsCompressor {
  var codec: Int16 { RecordBatchCompression.lz4.rawValue }

  func start(appendingTo output: inout [UInt8]) { output.append(contentsOf: LZ4Frame.frameHeader) }

  func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
    LZ4Frame.appendBlocks(input, to: &output)
  }

  func finish(appendingTo output: inout [UInt8]) { output.append(contentsOf: LZ4Frame.endMark) }
}
