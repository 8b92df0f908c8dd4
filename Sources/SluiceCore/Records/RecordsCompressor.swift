/// A codec whose stream can be written a piece at a time — LZ4's frame of independent blocks —
/// which a store offers (``TopicStore/recordsCompressor``) so that a source compresses the
/// records it encodes on its own threads
/// (``EncodedRecords/init(reusing:capacity:compressor:)``), and the store adds the record it
/// appends last (the one with the source's position) without compressing the batch again.
public protocol RecordsCompressor: Sendable {
  /// The codec's number in a batch's attributes (bits 0–2).
  var codec: Int16 { get }
  /// Starts a stream in `output`.
  func start(appendingTo output: inout [UInt8])
  /// Appends `input`, compressed, to the stream in `output`. It cannot fail: what a codec
  /// cannot shrink it stores as it is.
  func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8])
  /// Ends the stream in `output`.
  func finish(appendingTo output: inout [UInt8])
}
