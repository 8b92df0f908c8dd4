import Foundation

/// The servers `make test` starts for the tests (Tests/Servers/start.sh), by the environment
/// it exports. There is no fallback address: a test run outside `make test` (or
/// `Tests/Servers/run-tests.sh`) stops at once with what to do, rather than trying a server
/// that may be someone else's.
public enum TestServers {
  /// The repository's folder, found from this file's place in it (Tests/SluiceTestBrokers/).
  public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// `SLUICE_TEST_PG_URL`: PostgreSQL 15 with `wal_level=logical`, as user `sluice`.
  public static var postgresURL: String { required("SLUICE_TEST_PG_URL") }

  private static func required(_ name: String) -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
      preconditionFailure(
        "\(name) is not set: run these tests with `make test` or `TEST_FILTER=… bash Tests/Servers/run-tests.sh`, which start the servers"
      )
    }
    return value
  }
}
