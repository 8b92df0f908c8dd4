/// The release this build is, as `GET /` and `sluice --version` report it.
public enum SluiceVersion {
  public static let current = "0.1.0"
}
