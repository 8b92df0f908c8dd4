import XCTest

/// Polls `condition` every 20 ms until it holds, failing the test after `timeout`.
func eventually(
  timeout: Duration = .seconds(10), _ condition: @escaping () async throws -> Bool
) async throws {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: .milliseconds(20))
  }
  XCTFail("condition not met within \(timeout)")
}
