import SluiceCore

/// A Kafka Connect schema, written as Kafka's JSON converter writes it with
/// `schemas.enable=true`: the `schema` half of `{"schema": …, "payload": …}`.
///
/// Members come out in the converter's order — `type`, then `fields` (struct), `items` (array)
/// or `keys`/`values` (map), `optional`, `name`, `version`, `doc`, `parameters`, `default`, and
/// `field` for a member of a struct — so Sluice's schemas are Debezium's byte for byte.
struct ConnectSchema: Equatable, Sendable {
  /// A member of a struct schema.
  struct Field: Equatable, Sendable {
    var name: String
    var schema: ConnectSchema
  }

  /// Connect's type name: int8…int64, float, double, boolean, string, bytes, array, map, struct.
  var type: String
  var optional: Bool = true
  var name: String? = nil
  var version: Int? = nil
  var doc: String? = nil
  /// Name/value pairs, in order (Connect's schema parameters are strings).
  var parameters: [(String, String)] = []
  /// The default value as JSON text.
  var defaultJSON: String? = nil
  /// A struct's members.
  var fields: [Field] = []
  /// An array's element schema, or a map's key and value schemas.
  var items: [ConnectSchema] = []

  static func == (a: ConnectSchema, b: ConnectSchema) -> Bool {
    a.type == b.type && a.optional == b.optional && a.name == b.name && a.version == b.version
      && a.doc == b.doc && a.parameters.elementsEqual(b.parameters, by: { $0 == $1 })
      && a.defaultJSON == b.defaultJSON && a.fields == b.fields && a.items == b.items
  }

  /// A semantic type of Debezium or Connect: `name` at version 1.
  static func named(
    _ type: String, _ name: String, optional: Bool = true, parameters: [(String, String)] = []
  ) -> ConnectSchema {
    ConnectSchema(type: type, optional: optional, name: name, version: 1, parameters: parameters)
  }

  static func structure(
    _ fields: [Field], optional: Bool, name: String? = nil, version: Int? = nil,
    doc: String? = nil
  ) -> ConnectSchema {
    ConnectSchema(
      type: "struct", optional: optional, name: name, version: version, doc: doc, fields: fields)
  }

  /// The schema as JSON; `field` names it as a member of a struct.
  func write(field: String? = nil, to out: inout JSONWriter) {
    out.raw("{\"type\":")
    out.string(type)
    switch type {
    case "struct":
      out.raw(",\"fields\":[")
      for (i, member) in fields.enumerated() {
        if i > 0 { out.byte(",") }
        member.schema.write(field: member.name, to: &out)
      }
      out.byte("]")
    case "array" where items.count == 1:
      out.raw(",\"items\":")
      items[0].write(to: &out)
    case "map" where items.count == 2:
      out.raw(",\"keys\":")
      items[0].write(to: &out)
      out.raw(",\"values\":")
      items[1].write(to: &out)
    default:
      break
    }
    out.raw(optional ? ",\"optional\":true" : ",\"optional\":false")
    if let name {
      out.raw(",\"name\":")
      out.string(name)
    }
    if let version {
      out.raw(",\"version\":")
      out.number(Int64(version))
    }
    if let doc {
      out.raw(",\"doc\":")
      out.string(doc)
    }
    if !parameters.isEmpty {
      out.raw(",\"parameters\":{")
      for (i, (key, value)) in parameters.enumerated() {
        if i > 0 { out.byte(",") }
        out.key(key)
        out.string(value)
      }
      out.byte("}")
    }
    if let defaultJSON {
      out.raw(",\"default\":")
      out.raw(Array(defaultJSON.utf8))
    }
    if let field {
      out.raw(",\"field\":")
      out.string(field)
    }
    out.byte("}")
  }

  /// The schema as JSON text.
  var json: String {
    var out = JSONWriter()
    write(to: &out)
    return String(decoding: out.bytes, as: UTF8.self)
  }
}
