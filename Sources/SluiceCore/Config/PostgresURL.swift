extension ConfigMapping {
  /// The PostgreSQL connection string at `key` (required), as libpq takes it: a URL
  /// (`postgresql://` or `postgres://`) or a `key=value` string. The one check the PostgreSQL
  /// connectors share; anything else is a ``ConfigError`` at the value, with its password
  /// masked.
  public func postgresURL(_ key: String) throws(ConfigError) -> String {
    let node = try required(key)
    let url = try node.string()
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.contains("=")
    else {
      throw node.error(
        "expected a PostgreSQL URL like postgresql://user@127.0.0.1:5432/db, got \(CredentialMask.masking(node.kindDescription))"
      )
    }
    return url
  }
}
