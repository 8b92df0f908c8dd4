import SluicePostgres

extension PostgresError {
  /// Errors of one record's data rather than of the connection or the schema: wrong type or
  /// format (class 22), a violated constraint (class 23), a datatype mismatch.
  var isDataError: Bool {
    guard let state = sqlState else { return false }
    return state.hasPrefix("22") || state.hasPrefix("23") || state == "42804"
  }
}
