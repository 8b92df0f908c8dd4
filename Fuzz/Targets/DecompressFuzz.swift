import SluiceCompression

// Fuzz target `decompress`: bytes as a compressed RecordBatch records section, given to the
// decompressors of Sources/SluiceCompression (gzip through zlib, xerial or raw snappy,
// LZ4 frames, zstd frames).
//
// Input: byte 0 = codec in bits 0–2 (5–7 must be refused as unknown) and the output limit in
// bits 3–5 (64 B … 4 MiB, small ones so the limit is hit often), then the compressed bytes.
// A CompressionError is an answer; a trap, an ASan report, or output past the limit is a bug.
// What decodes is compressed again and must decode to the same bytes.

private let limits = [64, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecompress(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let selector = data[0]
  let limit = limits[Int(selector >> 3) & 7]
  let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  let codec: RecordBatchCompression
  do {
    codec = try RecordBatchCompression(attributes: Int16(selector))
  } catch {
    precondition(selector & 7 >= 5, "a defined codec was refused: \(error)")
    return 0
  }
  guard let output = try? codec.decompress(input, limit: limit) else { return 0 }
  precondition(output.count <= limit, "\(codec): \(output.count) bytes past the limit of \(limit)")
  do {
    let again = try codec.decompress(try codec.compress(output), limit: output.count)
    precondition(again == output, "\(codec): a round trip changed the bytes")
  } catch {
    fatalError("\(codec): Sluice's own output does not decode: \(error)")
  }
  return 0
}
