// What the MQTT record mapper uses from Sources/SluiceCore/Worker/SourceWriter.swift (not
// compiled in: it needs swift-log and the topic store).
public enum SourceHeaders {
  public static let connector = "sluice.source"
  public static let position = "sluice.position"
}
