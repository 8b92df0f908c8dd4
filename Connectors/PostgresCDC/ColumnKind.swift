/// What a column's values are, for writing them as Debezium does: decided once per Relation
/// message from the column's type OID and type modifier (`atttypmod`), which carry the
/// precision of times and the scale of numerics.
///
/// Only `array` is indirect: the other kinds are stored inline, so handing a row's kinds to the
/// converters, column after column, copies a value instead of retaining and releasing a box.
enum ColumnKind: Equatable, Sendable {
  case integer, float, bool, text, json, bytea, money, timetz, interval, point
  case hstore
  /// `numeric(p, s)`: `scale` nil when the column declares none (Debezium's variable scale).
  case numeric(scale: Int?)
  case date
  /// `time(p)`, `timestamp(p)`: p is 6 when the column declares none.
  case time(precision: Int)
  case timestamp(precision: Int)
  /// `timestamptz(p)`: p decides how many fraction digits the ISO string has.
  case zonedTimestamp(precision: Int)
  /// `bit(n)`: a boolean for bit(1), else Debezium's Bits (little-endian bytes).
  case bit(length: Int)
  case varbit
  indirect case array(of: ColumnKind)

  /// The kind of type `oid` with modifier `modifier`; `userTypes` describes types created in
  /// the database (domains, extension types such as hstore, enums), which have no fixed OID.
  static func of(
    _ oid: UInt32, modifier: Int32 = -1, userTypes: [UInt32: UserType] = [:], depth: Int = 0
  ) -> ColumnKind {
    if let element = arrayElements[oid] {
      return .array(of: of(element, modifier: modifier, userTypes: userTypes, depth: depth + 1))
    }
    switch oid {
    case 20, 21, 23, 26: return .integer  // int8, int2, int4, oid
    case 700, 701: return .float
    case 1700:
      // numeric's modifier is ((precision << 16) | scale) + 4; the scale is 11 bits, signed
      // since PostgreSQL 15.
      guard modifier >= 4 else { return .numeric(scale: nil) }
      let raw = Int((modifier - 4) & 0x7FF)
      return .numeric(scale: (raw ^ 1024) - 1024)
    case 790: return .money
    case 16: return .bool
    case 114, 3802: return .json
    case 17: return .bytea
    case 1082: return .date
    case 1083: return .time(precision: modifier >= 0 ? Int(modifier) : 6)
    case 1266: return .timetz
    case 1114: return .timestamp(precision: modifier >= 0 ? Int(modifier) : 6)
    case 1184: return .zonedTimestamp(precision: modifier >= 0 ? Int(modifier) : 6)
    case 1186: return .interval
    case 1560: return .bit(length: modifier > 0 ? Int(modifier) : 1)
    case 1562: return .varbit
    case 600: return .point
    default: break
    }
    // Domains take their base type's kind (and modifier); a bounded depth guards a catalog
    // that would loop.
    guard depth < 16, let user = userTypes[oid] else { return .text }
    switch user {
    case .named(let name): return name == "hstore" ? .hstore : .text
    case .enumeration: return .text
    case .domain(let base, let baseModifier):
      return of(
        base, modifier: baseModifier >= 0 ? baseModifier : modifier, userTypes: userTypes,
        depth: depth + 1)
    case .array(let element):
      return .array(of: of(element, modifier: modifier, userTypes: userTypes, depth: depth + 1))
    }
  }

  /// Built-in array types and their elements.
  static let arrayElements: [UInt32: UInt32] = [
    1005: 21, 1007: 23, 1016: 20, 1028: 26, 1021: 700, 1022: 701, 1231: 1700, 791: 790,
    1000: 16, 199: 114, 3807: 3802, 1001: 17, 1182: 1082, 1183: 1083, 1270: 1266, 1115: 1114,
    1185: 1184, 1187: 1186, 1561: 1560, 1563: 1562, 1017: 600, 1009: 25, 1015: 1043, 1014: 1042,
    1003: 19, 1002: 18, 2951: 2950, 1041: 869, 651: 650, 1040: 829, 775: 774, 143: 142,
    3643: 3614,
  ]

  /// Whether `oid` may be a type created in the database, which the catalog must describe.
  static func needsCatalog(_ oid: UInt32) -> Bool { oid >= 16384 }
}

/// A type created in the database, as `pg_type` describes it.
enum UserType: Equatable, Sendable {
  /// An enum, an extension's base type (hstore, ltree, citext…) or anything else by name.
  case named(String)
  /// An enum and its labels in sort order (Debezium's `io.debezium.data.Enum` lists them).
  case enumeration(labels: [String])
  /// A domain: its base type and the modifier the domain gives it.
  case domain(base: UInt32, modifier: Int32)
  /// An array of `element`.
  case array(element: UInt32)
}
