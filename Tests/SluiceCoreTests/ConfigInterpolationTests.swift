import Foundation
import SluiceCore
import XCTest

/// `${env:…}`, `${file:…}` and `$${` in config values, and their errors at the scalar.
final class ConfigInterpolationTests: XCTestCase {
  private func value(_ scalar: String, environment: [String: String] = [:]) throws -> String {
    let root = try ConfigNode.parse(
      text: "v: \(scalar)\n", file: "f.yaml", environment: environment)
    return try root.mapping(allowedKeys: ["v"]).string("v")
  }

  private func valueError(_ scalar: String, environment: [String: String] = [:]) -> String {
    ConfigTestSupport.error { try value(scalar, environment: environment) }
  }

  func testEnvironmentVariableIsSubstituted() throws {
    XCTAssertEqual(try value("${env:PGPASSWORD}", environment: ["PGPASSWORD": "pw"]), "pw")
    XCTAssertEqual(try value("\"${env:PGPASSWORD}\"", environment: ["PGPASSWORD": "pw"]), "pw")
    XCTAssertEqual(
      try value("${env:PGPASSWORD:-fallback}", environment: ["PGPASSWORD": ""]), "",
      "set but empty wins")
  }

  func testUnsetEnvironmentVariableIsAnErrorAtTheScalar() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError(
        "name: x\nsink: file\ntopics: [t]\nconfig:\n  password: ${env:PGPASSWORD}\n"),
      "c.yaml:5:13: config.password: environment variable PGPASSWORD is not set (give a default with ${env:PGPASSWORD:-value})"
    )
  }

  func testDefaultIsUsedWhenTheVariableIsUnset() throws {
    XCTAssertEqual(try value("${env:MISSING:-fallback}"), "fallback")
    XCTAssertEqual(try value("${env:MISSING:-}"), "")
    XCTAssertEqual(try value("\"${env:MISSING:-a:b-c}\""), "a:b-c")
  }

  func testSeveralReferencesInOneValue() throws {
    let url = try value(
      "postgresql://${env:USER}:${env:PASS}@${env:HOST:-127.0.0.1}:5432/db",
      environment: ["USER": "sluice", "PASS": "s3cret"])
    XCTAssertEqual(url, "postgresql://sluice:s3cret@127.0.0.1:5432/db")
  }

  func testFileContentsAreSubstitutedWithOneTrailingNewlineTrimmed() throws {
    let directory = try ConfigTestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let secret = directory.appendingPathComponent("secret")
    try "s3cret\n\n".write(to: secret, atomically: true, encoding: .utf8)
    XCTAssertEqual(try value("pre-${file:\(secret.path)}-post"), "pre-s3cret\n-post")
    try "s3cret\n".write(to: secret, atomically: true, encoding: .utf8)
    XCTAssertEqual(try value("${file:\(secret.path)}"), "s3cret")
  }

  func testUnreadableFileIsAnErrorNamingThePathAndReason() {
    XCTAssertEqual(
      valueError("${file:/no/such/secret}"),
      "f.yaml:1:4: v: cannot read /no/such/secret for ${file:/no/such/secret}: No such file or directory"
    )
  }

  func testReadFileIsInjectable() throws {
    let root = try ConfigNode.parse(
      text: "v: ${file:/run/secrets/pg}\n", file: "f.yaml", environment: [:],
      readFile: { path in path == "/run/secrets/pg" ? "from-reader\n" : "" })
    XCTAssertEqual(try root.mapping(allowedKeys: ["v"]).string("v"), "from-reader")
  }

  func testDoubleDollarIsALiteralReference() throws {
    XCTAssertEqual(try value("$${env:NOT_EXPANDED}"), "${env:NOT_EXPANDED}")
    XCTAssertEqual(try value("\"costs $5, $$ and $${x}\""), "costs $5, $$ and ${x}")
  }

  func testExpandedTextIsNotExpandedAgain() throws {
    XCTAssertEqual(
      try value("${env:TWICE}", environment: ["TWICE": "${env:PGPASSWORD}", "PGPASSWORD": "pw"]),
      "${env:PGPASSWORD}")
    XCTAssertEqual(try value("${env:DOLLARS}", environment: ["DOLLARS": "$${"]), "$${")
  }

  func testUnknownSchemeListsTheKnownOnes() {
    XCTAssertEqual(
      valueError("${vault:x}"),
      "f.yaml:1:4: v: unknown interpolation scheme 'vault' in '${vault:x}'; expected one of: env, file"
    )
    XCTAssertEqual(
      valueError("${evn:X}"),
      "f.yaml:1:4: v: unknown interpolation scheme 'evn' in '${evn:X}'; expected one of: env, file; did you mean 'env'?"
    )
    XCTAssertEqual(
      valueError("${PGPASSWORD}"),
      "f.yaml:1:4: v: '${PGPASSWORD}' needs a scheme: ${env:PGPASSWORD} or ${file:/path} (write a literal '${' as '$${')"
    )
    XCTAssertEqual(
      valueError("\"${env:X\""),
      "f.yaml:1:4: v: '${' has no closing '}' (write a literal '${' as '$${')")
  }

  func testKeysAreNotInterpolated() throws {
    let root = try ConfigNode.parse(text: "${env:K}: 1\n", file: "f.yaml", environment: ["K": "k"])
    XCTAssertEqual(root.mappingKeys, ["${env:K}"])
  }

  func testInterpolationInsideListsKeepsThePath() {
    XCTAssertEqual(
      ConfigTestSupport.error {
        try ConfigNode.parse(
          text: "config:\n  tables: [a, \"${env:T}\"]\n", file: "f.yaml", environment: [:])
      },
      "f.yaml:2:15: config.tables[1]: environment variable T is not set (give a default with ${env:T:-value})"
    )
  }
}
