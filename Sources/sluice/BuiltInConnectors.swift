import FileConnector
import HTTPSinkConnector
import MQTTConnector
import PostgresCDCConnector
import PostgresSinkConnector
import SluiceCore
import WebhookConnector

/// The one table of connector types this executable knows. A new connector target registers here.
enum BuiltInConnectors {
  static var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    FileConnectors.register(in: &registry)
    WebhookConnectors.register(in: &registry)
    PostgresSinkConnectors.register(in: &registry)
    HTTPSinkConnectors.register(in: &registry)
    MQTTConnectors.register(in: &registry)
    PostgresCDCConnectors.register(in: &registry)
    return registry
  }
}
