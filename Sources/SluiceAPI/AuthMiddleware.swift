import Foundation
import Hummingbird
import SluiceCore

/// Asks every request but `GET /health` for the credentials `api.auth` names (a bearer token
/// or a basic-auth user); a request without them, or with wrong ones, gets 401 in Kafka
/// Connect's error shape with a `WWW-Authenticate` challenge. With `auth` nil it lets
/// everything through.
///
/// Secrets are compared in constant time, so the time an answer takes says nothing about how
/// much of a guess was right.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
  let auth: APIAuth?

  /// The realm the challenge names.
  static var realm: String { "sluice" }

  func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    guard let auth else { return try await next(request, context) }
    // KIP-1017's health check stays open, for load balancers and orchestrators.
    if request.uri.path == "/health", request.method == .get {
      return try await next(request, context)
    }
    switch Self.check(request.headers[.authorization], against: auth) {
    case .accepted:
      return try await next(request, context)
    case .refused(let message):
      var error = APIError(.unauthorized, message)
      error.headers[.wwwAuthenticate] = Self.challenge(for: auth)
      return try error.response(from: request, context: context)
    }
  }

  enum Verdict: Equatable {
    case accepted
    case refused(String)
  }

  /// Whether an `Authorization` header value carries the credentials of `auth`.
  static func check(_ header: String?, against auth: APIAuth) -> Verdict {
    guard let header, !header.isEmpty else {
      return .refused("authentication required: send an Authorization header")
    }
    let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
    let scheme = parts.first.map { $0.lowercased() } ?? ""
    let credentials = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
    switch auth {
    case .bearer(let token):
      guard scheme == "bearer" else {
        return .refused("authentication required: this API takes a Bearer token")
      }
      return constantTimeEqual(Array(credentials.utf8), Array(token.utf8))
        ? .accepted : .refused("invalid credentials")
    case .basic(let username, let password):
      guard scheme == "basic" else {
        return .refused("authentication required: this API takes Basic credentials")
      }
      guard let decoded = Data(base64Encoded: credentials),
        let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
      else { return .refused("invalid credentials") }
      let givenUser = Array(decoded[decoded.startIndex..<colon])
      let givenPassword = Array(decoded[decoded.index(after: colon)...])
      // Both comparisons run whatever the first says.
      let userMatches = constantTimeEqual(givenUser, Array(username.utf8))
      let passwordMatches = constantTimeEqual(givenPassword, Array(password.utf8))
      return userMatches && passwordMatches ? .accepted : .refused("invalid credentials")
    }
  }

  /// The `WWW-Authenticate` value for `auth` (RFC 6750, RFC 7617).
  static func challenge(for auth: APIAuth) -> String {
    switch auth {
    case .bearer: "Bearer realm=\"\(realm)\""
    case .basic: "Basic realm=\"\(realm)\", charset=\"UTF-8\""
    }
  }

  /// Whether `given` equals `expected`, in a time that depends only on their lengths' maximum.
  static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
    var difference = UInt(given.count ^ expected.count)
    let length = max(given.count, expected.count)
    for index in 0..<length {
      let a = index < given.count ? given[index] : 0
      let b = index < expected.count ? expected[index] : 0
      difference |= UInt(a ^ b)
    }
    return difference == 0
  }
}
