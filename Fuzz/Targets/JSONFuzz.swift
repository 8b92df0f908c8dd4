// Fuzz target `json`: bytes as a JSON document, through Sources/SluiceCore/Records: the
// validator, the in-place object and array reader (members, elements, strings), and RFC 6901
// pointers into the parsed document (JSONValue.parse, JSONPointer, as webhook keys and topics
// use them), and the writer (JSONWriter, through JSONValue).
// Input: a first line holding a JSON pointer, then the document.
//
// Checks: every member and element the reader locates is itself valid JSON, objects the reader
// accepts are valid, the name cache gives the same names as decoding them, only valid documents
// parse, and what the writer writes of one is valid and writes back the same.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  let newline = input.firstIndex(of: 0x0A) ?? input.count
  let pointer = String(decoding: input[..<newline], as: UTF8.self)
  let document = newline < input.count ? Array(input[(newline + 1)...]) : input

  let valid = JSONValidator.isValid(document)
  if let offset = JSONValidator.errorOffset(document) {
    precondition(offset >= 0 && offset <= document.count, "error offset outside the document")
  }
  let parsed = JSONValue.parse(document)
  // Valid JSON whose strings are not UTF-8 does not parse (nor did it through Foundation).
  precondition(parsed == nil || valid, "parsed what the validator refuses")
  if let parsed {
    let written = parsed.jsonBytes
    precondition(JSONValidator.isValid(written), "the writer wrote invalid JSON")
    // Numbers may print in another form (1e3 as 1000.0, 1e400 as null), so the check is that
    // writing is stable: what was written parses and writes back byte for byte.
    precondition(JSONValue.parse(written)?.jsonBytes == written, "written JSON is not stable")
  }

  if let members = JSONObjectReader.members(of: document) {
    precondition(valid, "members of an object the validator refuses")
    for member in members {
      precondition(
        JSONValidator.isValid(Array(document[member.value])), "a member's value is not JSON")
      if member.kind == .string {
        _ = JSONObjectReader.string(document, member.value)
      }
      if member.kind == .array {
        for element in JSONObjectReader.elements(of: document, in: member.value) ?? [] {
          precondition(JSONValidator.isValid(Array(document[element.value])), "element not JSON")
        }
      }
      if member.kind == .object {
        _ = JSONObjectReader.members(of: document, in: member.value)
      }
    }
    // The same names through the cache a sink uses, twice (the second time from the cache).
    let cache = JSONNameCache()
    for _ in 0..<2 {
      var names: [String] = []
      _ = JSONObjectReader.visitMembers(of: document, names: cache) { name, _, _ in
        names.append(name)
      }
      precondition(names == members.map(\.name), "the name cache changed a name")
    }
  }
  if valid, document.first(where: { $0 > 0x20 }) == UInt8(ascii: "[") {
    precondition(
      JSONObjectReader.elements(of: document, in: 0..<document.count) != nil,
      "a valid array has no elements")
  }
  if let parsed {
    _ = JSONPointer.text(pointer, in: parsed)
  }
  return 0
}
