import ArgumentParser
import Hummingbird
import Logging

/// `sluice bench-floor`: an HTTP endpoint in this same binary that answers 200 without writing
/// anything — the floor the webhook benchmark compares the webhook source with.
struct BenchFloorCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-floor",
    abstract: "Serve POST answers of 200 without writing (the webhook benchmark's floor).",
    shouldDisplay: false)

  @Option(help: "Address to listen on.") var listen = "127.0.0.1:8090"

  func run() async throws {
    guard let colon = listen.lastIndex(of: ":"),
      let port = Int(listen[listen.index(after: colon)...])
    else {
      throw Failure("--listen expects host:port")
    }
    let router = Router()
    // Like the webhook source, the floor reads the whole body before answering.
    router.post("**") { request, _ -> Response in
      var request = request
      _ = try await request.collectBody(upTo: 1 << 20)
      return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"topic":"floor","partition":0,"offset":0}"#)))
    }
    let app = Application(
      router: router,
      configuration: .init(address: .hostname(String(listen[..<colon]), port: port)),
      logger: Logger(label: "bench-floor"))
    try await app.runService()
  }
}
