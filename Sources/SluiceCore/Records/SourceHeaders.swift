/// Header names the runtime adds to the last record of every batch a source writes to a
/// partition, so that after a crash it can tell how far that partition durably got.
public enum SourceHeaders {
  public static let connector = "sluice.source"
  public static let position = "sluice.position"
}
