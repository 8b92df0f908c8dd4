import NIOSSL
import SluiceCore

extension AdminAPI {
  /// The server side of `api.tls`: the certificate chain and key from their PEM files, TLS 1.2
  /// or later.
  static func tlsConfiguration(_ files: APIConfig.TLSFiles) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    do {
      chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
    } catch {
      throw APITLSError("api.tls.cert \(files.certificateFile): \(error)")
    }
    guard !chain.isEmpty else {
      throw APITLSError("api.tls.cert \(files.certificateFile): no certificate in it")
    }
    let key: NIOSSLPrivateKey
    do {
      key = try NIOSSLPrivateKey(file: files.privateKeyFile, format: .pem)
    } catch {
      throw APITLSError("api.tls.key \(files.privateKeyFile): \(error)")
    }
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    do {
      // Builds the context once here, so a key that does not fit the certificate is a
      // start-up error rather than a failed handshake per connection.
      _ = try NIOSSLContext(configuration: configuration)
    } catch {
      throw APITLSError(
        "api.tls: the key \(files.privateKeyFile) does not fit the certificate \(files.certificateFile) (\(error))"
      )
    }
    return configuration
  }
}

/// A certificate or key of `api.tls` that cannot be used.
public struct APITLSError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}
