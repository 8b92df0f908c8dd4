import Hummingbird
import NIOCore

extension AdminAPI {
  /// `GET /openapi.json`: the OpenAPI 3.0.3 description of this API, the repository's
  /// `Sources/SluiceAPI/OpenAPI/openapi.json` built into the binary (SwiftPM's `embedInCode`), so
  /// what a worker serves is what its build was tested against.
  func addOpenAPIRoutes(to router: Router<BasicRequestContext>) {
    router.get("/openapi.json") { _, _ -> Response in
      Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: OpenAPIDocument.bytes))
    }
  }
}

/// The embedded OpenAPI document.
enum OpenAPIDocument {
  /// The document's bytes, copied into a buffer once.
  static let bytes = ByteBuffer(bytes: PackageResources.openapi_json)
}
