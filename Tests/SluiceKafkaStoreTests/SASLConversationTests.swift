import SluiceKafka
import XCTest

@testable import SluiceKafkaStore

/// SCRAM and PLAIN without a socket, against the RFCs' own exchanges.
final class SASLConversationTests: XCTestCase {
  private func text(_ action: SASLConversation.Action) -> String? {
    guard case .send(let bytes) = action else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// RFC 7677 §3: SCRAM-SHA-256, user "user", password "pencil".
  func testSCRAMSHA256MatchesRFC7677() {
    var conversation = SASLConversation(
      mechanism: .scramSHA256, username: "user", password: "pencil",
      nonce: "rOprNGfwEbeRWgbNEkqO")
    XCTAssertEqual(text(conversation.start()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    let final = conversation.received(
      Array(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
          .utf8))
    XCTAssertEqual(
      text(final),
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    XCTAssertEqual(
      conversation.received(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)), .done)
  }

  /// RFC 5802 §5: the same conversation over SHA-1.
  func testSCRAMSHA1MatchesRFC5802() {
    var conversation = SASLConversation.scramSHA1(
      username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL")
    XCTAssertEqual(text(conversation.start()), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
    let final = conversation.received(
      Array("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096".utf8))
    XCTAssertEqual(
      text(final),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
    XCTAssertEqual(conversation.received(Array("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=".utf8)), .done)
  }

  func testAServerSignatureThatDoesNotMatchFails() {
    var conversation = SASLConversation(
      mechanism: .scramSHA256, username: "user", password: "pencil",
      nonce: "rOprNGfwEbeRWgbNEkqO")
    _ = conversation.start()
    _ = conversation.received(
      Array(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
          .utf8))
    guard case .fail = conversation.received(Array("v=AAAA".utf8)) else {
      return XCTFail("a wrong server signature must fail")
    }
  }

  func testAServerNonceThatDoesNotExtendTheClientsFails() {
    var conversation = SASLConversation(
      mechanism: .scramSHA512, username: "user", password: "pencil", nonce: "abc")
    _ = conversation.start()
    guard case .fail = conversation.received(Array("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096".utf8))
    else { return XCTFail("a foreign nonce must fail") }
  }

  func testAServerAskingForBillionsOfIterationsFailsAtOnce() {
    var conversation = SASLConversation(
      mechanism: .scramSHA256, username: "user", password: "pencil", nonce: "abc")
    _ = conversation.start()
    guard case .fail(let reason) = conversation.received(
      Array("r=abc123,s=QSXCR+Q6sek8bf92,i=2000000000".utf8))
    else { return XCTFail("an absurd iteration count must fail, not be computed") }
    XCTAssertTrue(reason.contains("2000000000"), reason)
  }

  func testServerErrorIsReported() {
    var conversation = SASLConversation(
      mechanism: .scramSHA256, username: "user", password: "pencil", nonce: "abc")
    _ = conversation.start()
    XCTAssertEqual(
      conversation.received(Array("e=unknown-user".utf8)), .fail("server: unknown-user"))
  }

  func testSCRAMSHA512ProducesAProofOfSHA512Length() {
    var conversation = SASLConversation(
      mechanism: .scramSHA512, username: "u,=x", password: "p", nonce: "abc")
    XCTAssertEqual(text(conversation.start()), "n,,n=u=2C=3Dx,r=abc")
    let final = text(conversation.received(Array("r=abcdef,s=QSXCR+Q6sek8bf92,i=16".utf8)))
    let proof = final?.components(separatedBy: ",p=").last ?? ""
    XCTAssertEqual(Data(base64Encoded: proof)?.count, 64)
  }

  func testPlainSendsAuthzAuthcAndPassword() {
    var conversation = SASLConversation(mechanism: .plain, username: "alice", password: "secret")
    XCTAssertEqual(
      conversation.start(), .send([0] + Array("alice".utf8) + [0] + Array("secret".utf8)))
    XCTAssertEqual(conversation.received([]), .done)
  }
}
