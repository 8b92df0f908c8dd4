// swift-tools-version:6.1
import PackageDescription

/// Sluice: one worker process, an embedded topic log, and connectors that move events between
/// PostgreSQL, MQTT, HTTP and topics. The target layout mirrors ../shared/DESIGN.md §1.
let package = Package(
  name: "sluice",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "sluice", targets: ["sluice"])
  ],
  dependencies: [
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    // TLS for the Kafka listener and Sluice's Kafka client, and a test TLS receiver for the HTTP sink.
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    // NIOHTTPTypes: the request/response parts the listeners' ConnectionGuard sees.
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    // The CLI's client of the admin API (http and https, `api.tls`).
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    // `GET /metrics`: components record through swift-metrics, exported by swift-prometheus.
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
  ],
  targets: [
    // MARK: - System libraries (module map + shim header only)
    .systemLibrary(
      name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"])]),
    .systemLibrary(
      name: "CMosquitto", path: "Sources/CMosquitto", pkgConfig: "libmosquitto",
      providers: [.apt(["libmosquitto-dev"])]),
    .systemLibrary(
      name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]),
    // Kafka's RecordBatch codecs (SluiceCompression). Debian ships no snappy.pc: the module
    // map links it by name.
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CSnappy", path: "Sources/CSnappy", providers: [.apt(["libsnappy-dev"])]),
    .systemLibrary(
      name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
    .systemLibrary(
      name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
      providers: [.apt(["libzstd-dev"])]),

    // MARK: - Runtime
    .target(
      name: "SluiceCore",
      dependencies: [
        .product(name: "Yams", package: "Yams"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]),
    .target(
      name: "SluiceLog",
      dependencies: [
        "SluiceCore", "CRC32C", "SluiceCompression",
        .product(name: "Metrics", package: "swift-metrics"),
      ]),
    // gzip, snappy, lz4 and zstd as Kafka's RecordBatch uses them: a module of its own (not
    // part of SluiceKafka) because the log, which SluiceKafka does not depend on, reads them.
    .target(name: "SluiceCompression", dependencies: ["CZlib", "CSnappy", "CLZ4", "CZstd"]),
    // Hardware CRC-32C (SSE4.2) for RecordBatch checksums; the only C code in Sluice.
    .target(name: "CRC32C", path: "Sources/CRC32C"),
    // What every HTTP listener shares: the connection limit and timeouts (ConnectionGuard).
    .target(
      name: "SluiceHTTP",
      dependencies: [
        "SluiceCore",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    // OpenAPI/openapi.json, the description `GET /openapi.json` serves, and the dashboard's
    // assets are compiled in (`PackageResources.openapi_json`, …): the binary needs no file
    // beside it.
    .target(
      name: "SluiceAPI",
      dependencies: [
        "SluiceCore",
        "SluiceHTTP",
        .product(name: "Hummingbird", package: "hummingbird"),
        // HTTPS for the admin API (`api.tls`).
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      resources: [
        .embedInCode("OpenAPI/openapi.json"),
        // The dashboard's script and stylesheet (GET /ui/dashboard.js, /ui/dashboard.css).
        .embedInCode("Dashboard/Assets/dashboard.js"),
        .embedInCode("Dashboard/Assets/dashboard.css"),
      ]),

    // The Kafka listener: the embedded log as a single-node Kafka broker (DESIGN.md §8).
    .target(
      name: "SluiceKafkaBroker",
      dependencies: [
        "SluiceCore", "SluiceLog", "SluiceHTTP", "SluiceKafka",
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]),

    // The libpq connection the PostgreSQL sink and the CDC source share.
    .target(name: "SluicePostgres", dependencies: ["CLibPQ"]),

    // The Kafka wire protocol (primitives, generated message codecs) and the SASL/SCRAM
    // primitives Sluice's client and its listener share (SASL/, on swift-crypto's hashes).
    .target(
      name: "SluiceKafka", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
      path: "Sources/SluiceKafka"),

    // Sluice's own Kafka client (DESIGN.md §8): connections, metadata and leader routing,
    // idempotent and transactional producers, read_committed fetch, classic consumer groups,
    // TLS and SASL; and on it (Store/) the runtime's TopicStore on a Kafka cluster. Knows
    // nothing of the embedded log.
    .target(
      name: "SluiceKafkaStore",
      dependencies: [
        "SluiceCore", "SluiceKafka", "SluiceCompression", "CRC32C",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ]),

    // MARK: - Connectors (one target each, depending only on SluiceCore)
    .target(name: "FileConnector", dependencies: ["SluiceCore"], path: "Connectors/File"),
    .target(
      name: "WebhookConnector",
      dependencies: [
        "SluiceCore",
        "SluiceHTTP",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Connectors/Webhook"),
    .target(
      name: "PostgresSinkConnector", dependencies: ["SluiceCore", "SluicePostgres"],
      path: "Connectors/PostgresSink"),
    .target(
      name: "PostgresCDCConnector",
      dependencies: [
        "SluiceCore", "SluicePostgres",
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      path: "Connectors/PostgresCDC"),
    .target(
      name: "HTTPSinkConnector",
      dependencies: [
        "SluiceCore", "CCurl", .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Connectors/HTTPSink"),
    .target(
      name: "MQTTConnector",
      dependencies: [
        "SluiceCore", "CMosquitto", .product(name: "Metrics", package: "swift-metrics"),
      ],
      path: "Connectors/MQTT"),

    // MARK: - Executables
    .executableTarget(
      name: "sluice",
      dependencies: [
        "SluiceCore", "SluiceLog", "SluiceAPI", "SluiceKafkaBroker", "SluiceKafkaStore",
        "SluiceCompression",
        "FileConnector",
        "WebhookConnector",
        "PostgresSinkConnector", "HTTPSinkConnector", "MQTTConnector", "PostgresCDCConnector",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOFoundationCompat", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    .executableTarget(
      name: "sluice-log-bench", dependencies: ["SluiceLog", "SluiceCore"],
      path: "Benchmarks/LogBench"),
    // The floor of the webhook and HTTP sink benchmarks: a Hummingbird endpoint that answers
    // 200 without writing (Benchmarks/README.md).
    .executableTarget(
      name: "sluice-bench-floor",
      dependencies: [
        "SluiceCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Benchmarks/BenchFloor"),
    .executableTarget(
      name: "sluice-mqtt-publish", dependencies: ["CMosquitto"], path: "Benchmarks/MQTTPublish"),

    // MARK: - Tests
    .testTarget(
      name: "SluiceLogTests", dependencies: ["SluiceLog", "SluiceCore", "SluiceCompression"]),
    // Fixtures/: kafka-python batches the tests read by path, and the script that made them.
    .testTarget(
      name: "SluiceCompressionTests", dependencies: ["SluiceCompression"], exclude: ["Fixtures"]),
    // Prometheus: MetricsHistoryTests and the metrics unit tests read registries of their own.
    .testTarget(
      name: "SluiceCoreTests",
      dependencies: [
        "SluiceCore", "SluiceLog", .product(name: "Prometheus", package: "swift-prometheus"),
      ]),
    .testTarget(
      name: "SluiceKafkaBrokerTests",
      dependencies: [
        "SluiceKafkaBroker", "SluiceLog", "SluiceCore", "SluiceKafka",
        // Only to run Sluice's client SASL conversation against the listener's server side.
        "SluiceKafkaStore",
        .product(name: "NIOCore", package: "swift-nio"),
      ]),
    .testTarget(
      name: "SluiceAPITests",
      dependencies: [
        "SluiceAPI", "SluiceCore", "SluiceLog",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        // DashboardTests charts a Prometheus registry of its own.
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]),
    .testTarget(
      name: "FileConnectorTests", dependencies: ["FileConnector", "SluiceCore", "SluiceLog"]),
    .testTarget(
      name: "IntegrationTests",
      dependencies: [
        "SluiceCore", "SluiceTestBrokers", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ]),
    .testTarget(
      name: "PostgresSinkTests",
      dependencies: [
        "PostgresSinkConnector", "SluicePostgres", "SluiceCore", "SluiceTestBrokers",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "PostgresCDCTests",
      dependencies: ["PostgresCDCConnector", "SluiceCore", "SluiceTestBrokers"]),
    .testTarget(name: "HTTPSinkTests", dependencies: ["HTTPSinkConnector", "SluiceCore"]),
    .testTarget(
      name: "WebhookTests",
      dependencies: [
        "WebhookConnector", "SluiceCore", .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .testTarget(name: "MQTTConnectorTests", dependencies: ["MQTTConnector", "SluiceCore"]),
    // Every built-in connector type in Kafka Connect's flat form: plugins, definitions, round trips.
    .testTarget(
      name: "ConnectorPluginTests",
      dependencies: [
        "SluiceCore", "FileConnector", "WebhookConnector", "MQTTConnector", "PostgresCDCConnector",
        "PostgresSinkConnector", "HTTPSinkConnector",
      ]),
    .testTarget(name: "SystemLibraryTests", dependencies: ["CLibPQ", "CMosquitto", "CCurl"]),
    // Fixtures/ (hex files and the script that writes them) are read through #filePath.
    .testTarget(name: "SluiceKafkaTests", dependencies: ["SluiceKafka"], exclude: ["Fixtures"]),
    // Test brokers started by tests: Tansu (from .build/kafka-venv) and Sluice's own listener
    // ($SLUICE_BIN); shared by the Kafka client's tests and the integration tests. Also where
    // the tests find the servers `make test` starts (TestServers).
    .target(name: "SluiceTestBrokers", path: "Tests/SluiceTestBrokers"),
    // Against real brokers: Tansu (from .build/kafka-venv) and Sluice's own listener ($SLUICE_BIN).
    .testTarget(
      name: "SluiceKafkaStoreTests",
      dependencies: [
        "SluiceKafkaStore", "SluiceKafka", "SluiceCore", "SluiceCompression", "SluiceTestBrokers",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
