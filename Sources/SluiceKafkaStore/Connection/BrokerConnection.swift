import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SluiceKafka

/// One connection to one broker: dialed on first use (TCP, TLS if configured), opened with the
/// ApiVersions handshake and SASL, then carrying any number of requests at once, each at the
/// highest version both sides support. When it breaks, its requests in flight fail with
/// ``KafkaClientError/Kind/connectionClosed`` and the next request dials again.
public actor BrokerConnection {
  /// The broker this connection goes to.
  public nonisolated let address: BrokerAddress
  private let configuration: KafkaClientConfiguration
  private let group: any EventLoopGroup
  private let logger: Logger
  private var channel: (any Channel)?
  private var dialing: Task<any Channel, any Error>?
  private var closed = false
  /// The broker's version range per API key, from the last ApiVersions handshake.
  public private(set) var brokerVersions: [Int16: ClosedRange<Int16>] = [:]

  /// A connection to `address` (not dialed until used).
  public init(
    address: BrokerAddress, configuration: KafkaClientConfiguration,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger = Logger(label: "sluice.kafka.client")
  ) {
    self.address = address
    self.configuration = configuration
    self.group = group
    self.logger = logger
  }

  /// Sends `request` at the negotiated version and returns the broker's answer. `extraTimeout`
  /// is added to the configured request timeout, for requests the broker holds on purpose (a
  /// long-poll fetch, a join waiting for a rebalance).
  public func send<Request: KafkaRequest>(_ request: Request, extraTimeout: Duration = .zero)
    async throws -> Request.Response
  {
    let channel = try await connectedChannel()
    let version = try negotiatedVersion(Request.apiKey)
    let body = try await exchange(
      channel, apiKey: Request.apiKey, version: version, body: request.bytes(version: version),
      timeout: configuration.requestTimeout + extraTimeout)
    do {
      return try Request.Response(bytes: body, version: version)
    } catch {
      throw KafkaClientError(
        .protocolViolation, broker: address.description,
        "cannot decode \(Request.apiKey) v\(version) response: \(error)")
    }
  }

  /// The version `apiKey` is sent at on the current connection (dialing if needed).
  public func version(for apiKey: ApiKey) async throws -> Int16 {
    _ = try await connectedChannel()
    return try negotiatedVersion(apiKey)
  }

  /// Closes the connection; in-flight requests fail, and no new one is dialed.
  public func close() async {
    closed = true
    dialing?.cancel()
    if let channel { try? await channel.close() }
    channel = nil
  }

  /// Drops the current connection (if any) so the next request dials again: for a broker
  /// whose answers say it is no longer who the metadata says.
  public func reset() async {
    if let channel { try? await channel.close() }
    channel = nil
  }

  private func negotiatedVersion(_ apiKey: ApiKey) throws -> Int16 {
    guard
      let version = ApiVersionsNegotiation.version(
        for: apiKey, broker: brokerVersions, cap: configuration.versionCaps[apiKey])
    else {
      let theirs = brokerVersions[apiKey.rawValue].map { "\($0)" } ?? "none"
      throw KafkaClientError(
        .unsupportedVersion, broker: address.description,
        "\(apiKey): the broker supports \(theirs), the codec \(apiKey.decodableVersions)")
    }
    return version
  }

  // MARK: - Dialing

  private func connectedChannel() async throws -> any Channel {
    if closed {
      throw KafkaClientError(.closed, broker: address.description, "connection closed")
    }
    if let channel, channel.isActive { return channel }
    channel = nil
    if let dialing { return try await dialing.value }
    let task = Task { try await self.dial() }
    dialing = task
    defer { dialing = nil }
    let channel = try await task.value
    self.channel = channel
    return channel
  }

  private func dial() async throws -> any Channel {
    let sslContext = try configuration.tls.map(Self.sslContext)
    let host = address.host
    let verifyHostname = configuration.tls?.verifyHostname ?? true
    let maxFrame = configuration.maxResponseBytes
    let broker = address.description
    let bootstrap = ClientBootstrap(group: group)
      .connectTimeout(configuration.connectTimeout.timeAmount)
      .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let sslContext {
            let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            try pipeline.addHandler(
              NIOSSLClientHandler(
                context: sslContext,
                serverHostname: isAddress || !verifyHostname ? nil : host))
          }
          try pipeline.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrame)))
          try pipeline.addHandler(KafkaClientChannelHandler(broker: broker))
        }
      }
    let channel: any Channel
    do {
      channel = try await bootstrap.connect(host: address.host, port: address.port).get()
    } catch {
      throw KafkaClientError(.connectionFailed, broker: broker, "connect: \(error)")
    }
    do {
      try await handshake(channel)
    } catch {
      try? await channel.close()
      throw error
    }
    logger.debug("connected", metadata: ["broker": "\(broker)"])
    return channel
  }

  private static func sslContext(_ tls: KafkaTLSConfiguration) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeClientConfiguration()
    do {
      if let ca = tls.caFile { configuration.trustRoots = .file(ca) }
      if let certificate = tls.certificateFile {
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map {
          .certificate($0)
        }
      }
      if let key = tls.privateKeyFile { configuration.privateKey = .file(key) }
      if !tls.verifyHostname { configuration.certificateVerification = .noHostnameVerification }
      return try NIOSSLContext(configuration: configuration)
    } catch {
      throw KafkaClientError(.authenticationFailed, "TLS configuration: \(error)")
    }
  }

  // MARK: - Handshake

  /// ApiVersions (falling back for older brokers), then SASL if configured.
  private func handshake(_ channel: any Channel) async throws {
    var negotiation = ApiVersionsNegotiation()
    while true {
      let request = ApiVersionsRequest(
        clientSoftwareName: "sluice", clientSoftwareVersion: "1.0")
      let body = try await exchange(
        channel, apiKey: .apiVersions, version: negotiation.version,
        body: request.bytes(version: negotiation.version), timeout: configuration.requestTimeout)
      switch negotiation.received(body) {
      case .retry(let version):
        logger.debug(
          "ApiVersions downgrade", metadata: ["broker": "\(address)", "version": "\(version)"])
        continue
      case .fail(let reason):
        throw KafkaClientError(.protocolViolation, broker: address.description, reason)
      case .done(let ranges):
        brokerVersions = ranges
      }
      break
    }
    if let sasl = configuration.sasl { try await authenticate(channel, sasl) }
  }

  private func authenticate(_ channel: any Channel, _ sasl: KafkaSASLConfiguration) async throws {
    let broker = address.description
    func failure(_ message: String) -> KafkaClientError {
      KafkaClientError(
        .authenticationFailed, broker: broker, "SASL \(sasl.mechanism.rawValue): \(message)")
    }
    guard let handshakeVersion = try? negotiatedVersion(.saslHandshake), handshakeVersion >= 1,
      let authenticateVersion = try? negotiatedVersion(.saslAuthenticate)
    else { throw failure("the broker does not offer SaslHandshake v1 and SaslAuthenticate") }
    let handshake = try SaslHandshakeResponse(
      bytes: try await exchange(
        channel, apiKey: .saslHandshake, version: handshakeVersion,
        body: SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue).bytes(
          version: handshakeVersion), timeout: configuration.requestTimeout),
      version: handshakeVersion)
    guard handshake.errorCode == 0 else {
      throw failure(
        "mechanism refused (broker offers \(handshake.mechanisms.joined(separator: ", ")))")
    }
    var conversation = SASLConversation(
      mechanism: sasl.mechanism, username: sasl.username, password: sasl.password)
    var action = conversation.start()
    while true {
      switch action {
      case .done: return
      case .fail(let reason): throw failure(reason)
      case .send(let bytes):
        let response = try SaslAuthenticateResponse(
          bytes: try await exchange(
            channel, apiKey: .saslAuthenticate, version: authenticateVersion,
            body: SaslAuthenticateRequest(authBytes: bytes).bytes(version: authenticateVersion),
            timeout: configuration.requestTimeout),
          version: authenticateVersion)
        guard response.errorCode == 0 else {
          throw failure(response.errorMessage ?? "error \(response.errorCode)")
        }
        action = conversation.received(response.authBytes)
      }
    }
  }

  // MARK: - Exchange

  private func exchange(
    _ channel: any Channel, apiKey: ApiKey, version: Int16, body: [UInt8], timeout: Duration
  ) async throws -> [UInt8] {
    let promise = channel.eventLoop.makePromise(of: [UInt8].self)
    let request = OutgoingRequest(
      apiKey: apiKey, version: version, clientId: configuration.clientId, body: body,
      expectsResponse: true, timeout: timeout.timeAmount, promise: promise)
    channel.writeAndFlush(request).whenFailure { error in
      promise.fail(
        (error as? KafkaClientError)
          ?? KafkaClientError(
            .connectionClosed, broker: "\(channel.remoteAddress.map { "\($0)" } ?? "")",
            "write failed: \(error)"))
    }
    return try await promise.futureResult.get()
  }
}
