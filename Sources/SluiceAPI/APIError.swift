import Foundation
import Hummingbird
import SluiceCore
import SluiceHTTP

/// An error answer in Kafka Connect's shape: `{"error_code": 404, "message": "…"}`.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
  public var status: HTTPResponse.Status
  public var message: String
  public var headers: HTTPFields = [:]

  public init(_ status: HTTPResponse.Status, _ message: String) {
    self.status = status
    self.message = message
  }

  public var description: String { "\(status.code) \(message)" }

  public func response(from request: Request, context: some RequestContext) throws -> Response {
    let body = ErrorBody.json(code: status.code, message: message)
    var fields = headers
    fields[.contentType] = "application/json"
    // A 503 is a moment's state (a full disk, a closing log): say when to come back.
    if status == .serviceUnavailable && fields[.retryAfter] == nil { fields[.retryAfter] = "1" }
    return Response(
      status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
  }

  /// The answer for a store error: the caller's fault is 4xx, the store's 503.
  static func from(_ error: any Error) -> APIError {
    switch error {
    case let e as APIError: return e
    case let e as TopicStoreError:
      switch e {
      case .invalidTopicName, .invalidRecord: return APIError(.badRequest, e.description)
      case .unknownTopic, .unknownPartition: return APIError(.notFound, e.description)
      case .recordTooLarge: return APIError(.contentTooLarge, e.description)
      case .topicNotAllowed: return APIError(.forbidden, e.description)
      case .offsetOutOfRange: return APIError(.rangeNotSatisfiable, e.description)
      case .unavailable, .corrupt: return APIError(.serviceUnavailable, e.description)
      }
    case let e as HTTPError:
      return APIError(e.status, e.body ?? e.status.reasonPhrase)
    default:
      return APIError(.internalServerError, "\(error)")
    }
  }
}

/// Turns every error — including Hummingbird's own 404/405 — into an ``APIError`` body, so a
/// client always gets JSON with a reason.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
  /// Clients retrying against a full disk would otherwise log one error per request.
  static var warnings: WarningRateLimiter { apiWarnings }
  /// The routes' methods, for 405 rather than 404 when only the method is wrong.
  var methods: RouteMethods? = nil

  func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws
    -> Response
  {
    do {
      return try await next(request, context)
    } catch let error as HTTPError where error.status == .notFound && error.body == nil {
      let allowed = methods?.methods(for: request.uri.path) ?? []
      if !allowed.isEmpty {
        var refusal = APIError(
          .methodNotAllowed, "HTTP \(request.method) is not supported for \(request.uri.path)")
        refusal.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return try refusal.response(from: request, context: context)
      }
      return try APIError(.notFound, "no endpoint \(request.method) \(request.uri.path)").response(
        from: request, context: context)
    } catch {
      let apiError = APIError.from(error)
      if apiError.status.code >= 500,
        let line = Self.warnings.line("\(apiError.status.code)", "request failed")
      {
        context.logger.error(
          "\(line)", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
      }
      return try apiError.response(from: request, context: context)
    }
  }
}

private let apiWarnings = WarningRateLimiter()
