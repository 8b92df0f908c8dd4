import CMosquitto
import Foundation

/// Counts acknowledgements from the library's network thread.
final class Progress: @unchecked Sendable {
  let lock = NSCondition()
  var acknowledged = 0
  var connected = false
}

// libmosquitto callbacks; in their own file so they are not main-actor isolated as code in
// main.swift is (they run on the library's thread).

func onConnect(_: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ rc: Int32) {
  let progress = Unmanaged<Progress>.fromOpaque(userdata!).takeUnretainedValue()
  progress.lock.lock()
  progress.connected = rc == 0
  progress.lock.broadcast()
  progress.lock.unlock()
}

func onPublish(_: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _: Int32) {
  let progress = Unmanaged<Progress>.fromOpaque(userdata!).takeUnretainedValue()
  progress.lock.lock()
  progress.acknowledged += 1
  progress.lock.broadcast()
  progress.lock.unlock()
}
