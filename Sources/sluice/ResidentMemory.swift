import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What `sluice run` does to keep its resident set close to what the worker really uses:
/// fewer malloc arenas, and code pages that ran once given back. Both change only what RSS
/// shows, never behaviour; `SLUICE_RSS_TUNING=off` turns both off, so their effect can be
/// measured (Benchmarks/README.md, "Resident memory tuning").
enum ResidentMemory {
  /// False when `SLUICE_RSS_TUNING=off`.
  static var isOn: Bool { ProcessInfo.processInfo.environment["SLUICE_RSS_TUNING"] != "off" }

  /// glibc gives every thread that mallocs its own arena and keeps what is freed in it; a
  /// worker's threads (NIO, dispatch queues, the log's writer) would each hold megabytes of
  /// idle heap. Two arenas keep the resident set close to what is live.
  static func limitMallocArenas() {
    _ = glibcMallopt(glibcArenaMax, 2)
  }

  /// Gives back code pages that ran once (start-up, a config reload) and are not needed now.
  ///
  /// Loading the binary and its libraries, initialising the Swift runtime and starting NIO,
  /// Hummingbird and the connectors fault in code from all over a 40 MB text segment; the
  /// kernel maps 64 KiB around each fault, so an idle worker keeps ~20 MiB of code resident it
  /// will not run again. This drops the page-table entries of the executable mappings
  /// (`r-xp`, never written, so nothing is lost: the pages stay in the page cache and fault
  /// back in, as minor faults, when they run again). Writable and relocated (`r--p` RELRO)
  /// mappings are never touched. The kernel would reclaim these clean pages under memory
  /// pressure anyway; dropping them keeps RSS close to what the worker really uses.
  static func releaseCodePages() {
    guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    for line in maps.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      // address perms offset dev inode path
      guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { continue }
      let range = fields[0].split(separator: "-")
      guard range.count == 2, let start = UInt(range[0], radix: 16),
        let end = UInt(range[1], radix: 16), start % UInt(pageSize) == 0, end > start,
        let address = UnsafeMutableRawPointer(bitPattern: start)
      else { continue }
      let length = Int(end - start)
      _ = madvise(address, length, MADV_DONTNEED)
    }
  }
}

/// glibc's `mallopt` and `M_ARENA_MAX` from <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let glibcArenaMax: Int32 = -8
