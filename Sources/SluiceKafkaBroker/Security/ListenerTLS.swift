import NIOSSL
import SluiceCore

/// The listener's TLS server context, from `kafka.tls` (PEM certificate chain and key).
enum ListenerTLS {
  /// Why the certificate or key cannot be used.
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// A server context presenting `tls`'s certificate; TLS 1.2 or newer, no client certificate.
  static func context(_ tls: KafkaListenerTLS) throws -> NIOSSLContext {
    let chain: [NIOSSLCertificate]
    do {
      chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile)
    } catch {
      throw Failure(description: "kafka.tls.cert \(tls.certificateFile): \(error)")
    }
    guard !chain.isEmpty else {
      throw Failure(description: "kafka.tls.cert \(tls.certificateFile): no certificate in it")
    }
    let key: NIOSSLPrivateKey
    do {
      key = try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem)
    } catch {
      throw Failure(description: "kafka.tls.key \(tls.privateKeyFile): \(error)")
    }
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    do {
      return try NIOSSLContext(configuration: configuration)
    } catch {
      throw Failure(
        description:
          "kafka.tls: the key \(tls.privateKeyFile) does not fit the certificate \(tls.certificateFile): \(error)"
      )
    }
  }
}
