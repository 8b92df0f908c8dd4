import SluicePostgres

/// The CDC source's connections: sessions that decode the same whatever the server's defaults,
/// ordinary or speaking the walsender protocol. The COPY BOTH stream itself is SluicePostgres's
/// (PostgresConnection+CopyBoth.swift).
extension PostgresConnection {
  /// ISO dates, UTC and round-trippable floats, so values decode the same whatever the
  /// server's defaults are.
  static let changeCaptureSessionOptions =
    "-c datestyle=ISO -c intervalstyle=iso_8601 -c timezone=UTC -c extra_float_digits=3"

  /// A connection for the CDC source, ordinary or (`replication`) speaking the walsender
  /// protocol for logical replication.
  static func changeCapture(
    url: String, password: String?, applicationName: String, replication: Bool = false
  ) throws -> PostgresConnection {
    try PostgresConnection(
      url: url, password: password, applicationName: applicationName,
      options: changeCaptureSessionOptions, replication: replication)
  }
}
