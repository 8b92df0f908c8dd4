import Hummingbird
import SluiceCore

extension AdminAPI {
  /// `GET /metrics`: the worker's metrics in Prometheus's text format (version 0.0.4).
  func addMetricsRoutes(to router: Router<BasicRequestContext>) {
    router.get("/metrics") { _, _ -> Response in
      let text = metrics.exposition()
      return Response(
        status: .ok,
        headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }
  }
}
