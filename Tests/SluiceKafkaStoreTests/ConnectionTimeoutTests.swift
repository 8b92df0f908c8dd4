import NIOCore
import NIOPosix
import SluiceKafka
import SluiceTestBrokers
import XCTest

@testable import SluiceKafkaStore

/// A peer that accepts connections and never answers.
final class SilentPeer: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
}

final class ConnectionTimeoutTests: XCTestCase {
  /// A request without an answer fails with requestTimedOut after the configured timeout; the
  /// connection is closed, and the next request dials again (and times out again, here).
  func testARequestWithoutAnswerTimesOut() async throws {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .childChannelInitializer { channel in channel.pipeline.addHandler(SilentPeer()) }
      .bind(host: "127.0.0.1", port: 0).get()
    defer { server.close(promise: nil) }
    let port = try XCTUnwrap(server.localAddress?.port)
    let connection = BrokerConnection(
      address: BrokerAddress(host: "127.0.0.1", port: port),
      configuration: KafkaClientConfiguration(
        bootstrap: [], requestTimeout: .milliseconds(300)))
    for _ in 0..<2 {
      let started = ContinuousClock.now
      do {
        _ = try await connection.send(MetadataRequest(topics: []))
        XCTFail("a silent broker cannot answer")
      } catch let error as KafkaClientError {
        XCTAssertEqual(error.kind, .requestTimedOut, "\(error)")
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
      }
    }
    await connection.close()
  }

  func testNoBrokerListeningIsAConnectionFailure() async throws {
    let port = try BrokerProcess.freePort()
    let connection = BrokerConnection(
      address: BrokerAddress(host: "127.0.0.1", port: port),
      configuration: KafkaClientConfiguration(bootstrap: []))
    do {
      _ = try await connection.send(MetadataRequest(topics: []))
      XCTFail("nothing listens")
    } catch let error as KafkaClientError {
      XCTAssertEqual(error.kind, .connectionFailed)
      XCTAssertTrue(error.isRetriable)
    }
  }
}
