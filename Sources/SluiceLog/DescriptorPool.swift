import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The log's open file descriptors. Segment and index files open on first use and stay open
/// while used; past `limit` open files, the least recently used idle ones are closed (and
/// reopened when next needed). A log of thousands of partitions would otherwise hold two
/// descriptors per segment for good and fail to start under a 1,024-descriptor limit.
final class DescriptorPool: Sendable {
  let limit: Int
  /// False with `fsync: none`, where nothing is synced before close anyway.
  let keepsUnsyncedFilesOpen: Bool
  private let state = Mutex(State())

  private struct State {
    var open: [ObjectIdentifier: WeakFile] = [:]
    var clock: UInt64 = 0
  }

  private struct WeakFile {
    weak var file: PooledFile?
  }

  /// `limit` nil: half the process's descriptor limit, at least 16 and at most 4,096, which
  /// leaves the rest to sockets, libpq and libcurl.
  init(limit: Int? = nil, keepsUnsyncedFilesOpen: Bool = true) {
    self.limit = limit ?? Self.defaultLimit()
    self.keepsUnsyncedFilesOpen = keepsUnsyncedFilesOpen
  }

  static func defaultLimit() -> Int {
    var limits = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 512 }
    let soft = Int(clamping: limits.rlim_cur)  // RLIM_INFINITY clamps to Int.max
    return min(4096, max(16, soft / 2))
  }

  var openCount: Int { state.withLock { $0.open.count } }

  fileprivate func opened(_ file: PooledFile) -> UInt64 {
    state.withLock { s in
      s.open[ObjectIdentifier(file)] = WeakFile(file: file)
      s.clock += 1
      return s.clock
    }
  }

  fileprivate func closed(_ file: PooledFile) {
    _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(file)) }
  }

  fileprivate func tick() -> UInt64 {
    state.withLock { s in
      s.clock += 1
      return s.clock
    }
  }

  /// Closes idle files, least recently used first, until at most `limit` are open. Called
  /// without any file's lock held.
  fileprivate func trim() {
    let candidates: [PooledFile] = state.withLock { s in
      guard s.open.count > limit else { return [] }
      return s.open.values.compactMap(\.file)
    }
    guard !candidates.isEmpty else { return }
    var excess = candidates.count - limit
    for file in candidates.sorted(by: { $0.lastUse < $1.lastUse }) where excess > 0 {
      if file.closeIfIdle() { excess -= 1 }
    }
  }
}

/// One file of the log whose descriptor ``DescriptorPool`` may close while it is idle: every
/// use goes through ``use(writes:_:)``, which reopens it if needed and keeps it open meanwhile.
/// A file with writes not yet synced is not closed (a segment's data), so the fdatasync that
/// makes them durable also sees their errors; writes that do not need that (an index, which is
/// rebuilt from its segment when in doubt) are made without `writes`.
final class PooledFile: Sendable {
  let path: String
  private let flags: Int32
  private let pool: DescriptorPool
  /// `written` and `synced` count writes and the writes an fdatasync covered: a file with
  /// `written > synced` stays open.
  private let state = Mutex(
    (fd: Int32(-1), users: 0, lastUse: UInt64(0), written: UInt64(0), synced: UInt64(0)))

  init(path: String, flags: Int32, pool: DescriptorPool) throws {
    self.path = path
    self.flags = flags
    self.pool = pool
    // Opened once now, so that a file that cannot be opened fails where it is created.
    try use { _ in }
  }

  deinit {
    let fd = state.withLock { $0.fd }
    if fd >= 0 {
      close(fd)
      pool.closed(self)
    }
  }

  fileprivate var lastUse: UInt64 { state.withLock { $0.lastUse } }

  /// Runs `body` with an open descriptor of the file; `writes` marks the file as holding
  /// unsynced writes until the next ``sync()``.
  func use<T>(writes: Bool = false, _ body: (Int32) throws -> T) throws -> T {
    let (fd, reopened) = try state.withLock { s throws -> (Int32, Bool) in
      var reopened = false
      if s.fd < 0 {
        s.fd = try FileIO.open(path, flags: flags)
        reopened = true
      }
      s.users += 1
      if writes { s.written += 1 }
      return (s.fd, reopened)
    }
    let now = reopened ? pool.opened(self) : pool.tick()
    defer {
      state.withLock { s in
        s.users -= 1
        s.lastUse = max(s.lastUse, now)
      }
    }
    if reopened { pool.trim() }
    return try body(fd)
  }

  /// fdatasync: the writes made before it are durable when it returns.
  func sync() throws {
    let covered = state.withLock { $0.written }
    try use { try FileIO.sync($0, path: path) }
    state.withLock { $0.synced = max($0.synced, covered) }
  }

  fileprivate func closeIfIdle() -> Bool {
    let fd = state.withLock { s -> Int32 in
      guard s.fd >= 0, s.users == 0, s.written == s.synced || !pool.keepsUnsyncedFilesOpen else {
        return -1
      }
      defer { s.fd = -1 }
      return s.fd
    }
    guard fd >= 0 else { return false }
    close(fd)
    pool.closed(self)
    return true
  }
}
