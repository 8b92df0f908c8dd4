/// The release this build is, as `GET /` and `sluice --version` report it.
public enum SluiceVersion {
  public static let current = "0.1.0"
  /// The Kafka Connect REST API this build serves, as `GET /` reports it: clients such as kcctl
  /// parse the leading `major.minor` and enable features from it (stop and offsets need 3.5).
  public static let kafkaConnect = "3.9.0-sluice-\(current)"
  /// `GET /`'s `commit`: the release, since a build does not know its git commit.
  public static let commit = "sluice-\(current)"
}
