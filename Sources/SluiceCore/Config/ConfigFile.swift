import Foundation

/// Reading config files and the files `${file:…}` names, with the operating system's own reason
/// when that fails ("No such file or directory", "Permission denied").
enum ConfigFile {
  /// Why a file could not be read, in words for an error message.
  struct ReadError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
  }

  /// The whole file as UTF-8 text.
  static func contents(of path: String) throws(ReadError) -> String {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw ReadError(reason: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw ReadError(reason: String(cString: strerror(errno)))
      }
      if count == 0 { break }
      bytes.append(contentsOf: chunk[0..<count])
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ReadError(reason: "the file is not UTF-8 text")
    }
    return text
  }

  /// Why a folder cannot be listed, in the operating system's words, or nil if it can.
  static func folderProblem(_ path: String) -> String? {
    guard let folder = opendir(path) else { return String(cString: strerror(errno)) }
    closedir(folder)
    return nil
  }

  /// The reason an error thrown by a `readFile` function gives.
  static func reason(for error: any Error) -> String {
    if let error = error as? ReadError { return error.reason }
    let error = error as NSError
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError,
      underlying.domain == NSPOSIXErrorDomain
    {
      return String(cString: strerror(Int32(underlying.code)))
    }
    return error.localizedDescription
  }

  /// A short fingerprint of a file's text (64-bit FNV-1a, 16 hex digits): equal texts give
  /// equal fingerprints, and an edit changes it.
  static func fingerprint(of text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}
