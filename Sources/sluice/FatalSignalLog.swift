#if canImport(Glibc)
  import Glibc
#endif

/// Makes a crash visible: on a fatal signal (a Swift runtime trap is SIGILL or SIGTRAP; a bad
/// pointer SIGSEGV or SIGBUS) writes one last log line naming the signal, then the return
/// addresses of the crashing thread, to stderr, and lets the signal kill the process as before.
///
/// Without it a trap in a static release build ends the worker with nothing in its log. The
/// handler uses only async-signal-safe calls on memory prepared by ``install()``.
enum FatalSignalLog {
  static let signals: [(Int32, String)] = [
    (SIGILL, "SIGILL (a Swift runtime trap: overflow, index out of range, failed unwrap)"),
    (SIGTRAP, "SIGTRAP (a Swift runtime trap)"),
    (SIGSEGV, "SIGSEGV (invalid memory access)"),
    (SIGBUS, "SIGBUS (invalid memory access)"),
    (SIGFPE, "SIGFPE (arithmetic fault)"),
    (SIGABRT, "SIGABRT (abort)"),
  ]

  /// Installs the handler for every signal in ``signals``; call once, early.
  static func install() {
    // The messages are laid out once here; the handler only reads them.
    for (number, name) in signals where number >= 0 && number < 64 {
      let text = Array(
        "critical sluice: fatal signal \(name); the worker stops. Backtrace (return addresses):\n"
          .utf8)
      let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: text.count)
      storage.initialize(from: text, count: text.count)
      messages[Int(number)] = (UnsafePointer(storage), text.count)
    }
    // glibc loads its unwinder on the first backtrace(); do that now, not inside the handler.
    _ = glibcBacktrace(frames, 1)
    // An alternate stack, so a stack overflow can still be reported.
    let stackSize = 64 << 10
    var stack = stack_t()
    stack.ss_sp = UnsafeMutableRawPointer.allocate(byteCount: stackSize, alignment: 16)
    stack.ss_size = stackSize
    stack.ss_flags = 0
    sigaltstack(&stack, nil)
    for (number, _) in signals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in FatalSignalLog.report(signal) }
      // Reset to the default action, so re-raising the signal ends the process as it would have.
      action.sa_flags = SA_ONSTACK | Int32(bitPattern: UInt32(SA_RESETHAND))
      sigemptyset(&action.sa_mask)
      sigaction(number, &action, nil)
    }
  }

  nonisolated(unsafe) private static var messages =
    [(pointer: UnsafePointer<UInt8>, count: Int)?](repeating: nil, count: 64)
  nonisolated(unsafe) private static var frames =
    UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 64)

  private static func report(_ signal: Int32) {
    if signal >= 0 && signal < 64, let message = messages[Int(signal)] {
      _ = write(2, message.pointer, message.count)
    }
    let count = glibcBacktrace(frames, 64)
    glibcBacktraceSymbols(frames, count, 2)
    raise(signal)
  }
}

// glibc's <execinfo.h>, which the Glibc module does not export.
@_silgen_name("backtrace")
private func glibcBacktrace(_ buffer: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ size: Int32)
  -> Int32
@_silgen_name("backtrace_symbols_fd")
private func glibcBacktraceSymbols(
  _ buffer: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ size: Int32, _ fd: Int32)
