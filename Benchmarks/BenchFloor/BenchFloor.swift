import ArgumentParser
import Hummingbird
import Logging
import SluiceCore
import Synchronization

/// `sluice-bench-floor`: an HTTP endpoint that answers 200 without writing anything — the floor
/// the webhook benchmark compares the webhook source with, and the receiver of the HTTP sink
/// benchmark. Benchmark code, not part of the product: built from this package with the same
/// Hummingbird and the same flags as `sluice`, so the two differ only by what the webhook
/// source does. `GET /stats` tells how many POSTs arrived and when the first and the last did
/// (ms since the epoch); `DELETE /stats` starts counting again.
@main
struct BenchFloor: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sluice-bench-floor",
    abstract: "Serve POST answers of 200 without writing (the webhook benchmark's floor).")

  @Option(help: "Address to listen on.") var listen = "127.0.0.1:8090"

  func run() async throws {
    guard let colon = listen.lastIndex(of: ":"),
      let port = Int(listen[listen.index(after: colon)...])
    else {
      throw ValidationError("--listen expects host:port")
    }
    let router = Router()
    let stats = Mutex((requests: 0, first: Int64(0), last: Int64(0)))
    // Like the webhook source, the floor reads the whole body before answering.
    router.post("**") { request, _ -> Response in
      var request = request
      _ = try await request.collectBody(upTo: 64 << 20)
      let now = currentTimeMillis()
      stats.withLock {
        if $0.requests == 0 { $0.first = now }
        $0.requests += 1
        $0.last = now
      }
      return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"topic":"floor","partition":0,"offset":0}"#)))
    }
    router.get("stats") { _, _ -> Response in
      let (n, first, last) = stats.withLock { ($0.requests, $0.first, $0.last) }
      return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(
          byteBuffer: ByteBuffer(
            string: #"{"requests":\#(n),"first_ms":\#(first),"last_ms":\#(last)}"#)))
    }
    router.delete("stats") { _, _ -> HTTPResponse.Status in
      stats.withLock { $0 = (0, 0, 0) }
      return .noContent
    }
    let app = Application(
      router: router,
      configuration: .init(address: .hostname(String(listen[..<colon]), port: port)),
      logger: Logger(label: "bench-floor"))
    try await app.runService()
  }
}
