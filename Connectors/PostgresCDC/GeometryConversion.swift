import Foundation
import SluiceCore

/// point values as Debezium's io.debezium.data.geometry.Point: `{"x","y","wkb","srid"}`,
/// the WKB a little-endian well-known-binary point and `srid` null (PostgreSQL's point has
/// none). Other geometric types (box, circle, line, lseg, path, polygon) stay their text.
enum GeometryConversion {
  static func writePoint<C: Collection<UInt8>>(_ text: C, to out: inout JSONWriter) {
    let inner = String(decoding: text, as: UTF8.self).trimmingCharacters(
      in: CharacterSet(charactersIn: "() "))
    let parts = inner.split(separator: ",")
    guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]) else {
      out.string(utf8: text)
      return
    }
    var wkb: [UInt8] = [1]  // little-endian
    withUnsafeBytes(of: UInt32(1).littleEndian) { wkb += $0 }  // type 1: point
    withUnsafeBytes(of: x.bitPattern.littleEndian) { wkb += $0 }
    withUnsafeBytes(of: y.bitPattern.littleEndian) { wkb += $0 }
    out.raw("{\"x\":")
    NumericConversion.writeDouble(Array(String(x).utf8), to: &out)
    out.raw(",\"y\":")
    NumericConversion.writeDouble(Array(String(y).utf8), to: &out)
    out.raw(",\"wkb\":")
    out.string(Data(wkb).base64EncodedString())
    out.raw(",\"srid\":null}")
  }
}
