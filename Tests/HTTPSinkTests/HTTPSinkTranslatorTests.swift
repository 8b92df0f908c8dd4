import Foundation
import SluiceCore
import XCTest

@testable import HTTPSinkConnector

/// The main keys of Confluent's and Aiven's HTTP sink connectors, run as Sluice's `http` sink.
final class HTTPSinkTranslatorTests: XCTestCase {
  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    HTTPSinkConnectors.register(in: &registry)
    return registry
  }

  private func config(_ pairs: KeyValuePairs<String, String>, environment: [String: String] = [:])
    throws -> HTTPSinkConfig
  {
    let definition = try registry.definition(
      name: "h", config: ConnectConfig(pairs), file: "h.json",
      interpolation: Interpolation(environment: environment))
    return try HTTPSinkConfig(definition: definition)
  }

  func testConfluentHTTPSink() throws {
    let config = try config(
      [
        "connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "orders",
        "http.api.url": "https://api.example.com/${topic}", "request.method": "put",
        "headers": "Content-Type:application/json|X-Source:kafka", "auth.type": "BASIC",
        "connection.user": "svc", "connection.password": "${env:HTTP_PASSWORD}",
        "batch.max.size": "50", "batch.json.as.array": "true", "max.retries": "4",
        "retry.backoff.ms": "500", "http.request.timeout.ms": "10000",
        "confluent.topic.bootstrap.servers": "localhost:9092",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
      ], environment: ["HTTP_PASSWORD": "pw"])
    XCTAssertEqual(config.url.text, "https://api.example.com/{topic}")
    XCTAssertEqual(config.method, "PUT")
    XCTAssertEqual(config.contentType, "application/json")
    XCTAssertEqual(config.headers.map(\.name), ["X-Source"])
    XCTAssertEqual(config.headers.first?.value.text, "kafka")
    guard case .basic(let user, let password) = config.auth else {
      return XCTFail("\(config.auth)")
    }
    XCTAssertEqual([user, password], ["svc", "pw"])
    XCTAssertEqual(config.batch?.maxRecords, 50)
    XCTAssertEqual(config.batch?.format, .jsonArray)
    XCTAssertEqual(config.retry.maxAttempts, 5)
    XCTAssertEqual(config.retry.backoff, .milliseconds(500))
    XCTAssertEqual(config.timeout, .seconds(10))

    let single = try self.config([
      "connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "orders",
      "http.api.url": "https://api.example.com/orders/${key}",
    ])
    XCTAssertEqual(single.url.text, "https://api.example.com/orders/{key}")
    XCTAssertNil(single.batch)
    XCTAssertEqual(single.retry.maxAttempts, 11)
    XCTAssertEqual(single.retry.backoff, .seconds(3))
    // Sluice's own rule still holds: a batch has one URL, so {key} cannot be in it.
    XCTAssertThrowsError(
      try self.config([
        "connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "orders",
        "http.api.url": "https://api.example.com/orders/${key}", "batch.max.size": "10",
        "batch.json.as.array": "true",
      ]))
  }

  func testAivenHTTPSink() throws {
    let config = try config([
      "connector.class": "io.aiven.kafka.connect.http.HttpSinkConnector", "topics": "events",
      "http.url": "http://collector:8080/ingest", "http.authorization.type": "static",
      "http.headers.authorization": "Bearer t0ken",
      "http.headers.content.type": "application/x-ndjson",
      "http.headers.additional": "X-A:1,X-B:2", "batching.enabled": "true",
      "batch.max.size": "200", "http.timeout": "5",
    ])
    XCTAssertEqual(config.url.text, "http://collector:8080/ingest")
    XCTAssertEqual(config.method, "POST")
    XCTAssertEqual(config.headers.map(\.name), ["X-A", "X-B", "Authorization"])
    XCTAssertEqual(config.headers.last?.value.text, "Bearer t0ken")
    XCTAssertEqual(config.contentType, "application/x-ndjson")
    XCTAssertEqual(config.batch?.format, .ndjson)
    XCTAssertEqual(config.batch?.maxRecords, 200)
    XCTAssertEqual(config.retry.maxAttempts, 2)
    XCTAssertEqual(config.timeout, .seconds(5))
    XCTAssertEqual(
      registry.redacted(
        ConnectConfig([
          "connector.class": "io.aiven.kafka.connect.http.HttpSinkConnector",
          "http.headers.authorization": "Bearer t0ken",
        ]))["http.headers.authorization"], "[hidden]")
  }

  func testUnbuiltSettingsAreErrors() {
    func failure(_ extra: [(String, String)]) -> String {
      var config = ConnectConfig([
        "connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "t",
        "http.api.url": "http://x/",
      ])
      for (k, v) in extra { config[k] = v }
      do {
        _ = try registry.definition(
          name: "h", config: config, file: "h.json", interpolation: Interpolation(environment: [:]))
        return "no error"
      } catch {
        return "\(error.key): \(error.message)"
      }
    }
    XCTAssertEqual(
      failure([("auth.type", "OAUTH2")]),
      "auth.type: OAUTH2 authentication is not built in Sluice (NONE and BASIC are)")
    XCTAssertEqual(
      failure([("batch.max.size", "10")]),
      "batch.prefix: Sluice sends batches as a JSON array (prefix '[', suffix ']', separator ',') or as lines (prefix '', separator newline); this combination is not built"
    )
    XCTAssertEqual(
      failure([("reporter.error.topic.name", "errors")]),
      "reporter.error.topic.name: reporting responses to a topic is not built in Sluice; failed requests go to the dead-letter topic (errors.tolerance=all, errors.deadletterqueue.topic.name)"
    )
    XCTAssertEqual(failure([("reporter.bootstrap.servers", "k:9092")]), "no error")
    XCTAssertEqual(
      failure([("behavior.on.null.values", "ignore")]),
      "behavior.on.null.values: 'ignore' is not built in Sluice: Sluice sends a record without a value as the body null"
    )
  }
}
