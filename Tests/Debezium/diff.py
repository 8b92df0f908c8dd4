"""Field-by-field comparison of Debezium's and Sluice's events (Tests/Debezium/compare.py).

Events are paired by what they are: `r:id=1` (snapshot read of key id=1), `c:id=3`, `u:id=3`,
`d:id=3`, `tombstone:id=3` (rows `unwrap` made by their added `__op`, and its deletes in
`tombstone` mode, the row's schema with a null payload, as `null-payload:id=3`); transaction metadata records (provide.transaction.metadata) by
status and the transaction's place in the stream, `BEGIN:tx1`, `END:tx1`, `BEGIN:tx2`, …. Both sides' key and value are walked together; every leaf (a
scalar, or an object or array whose shape differs between the sides) is one compared field,
named by its path, e.g. `u:id=3.value.after.c_date`. Numbers compare by value (2.0 equals 2);
a boolean is never a number. A key present on one side only is a difference whose other value
is "<absent>"; an event one side lacks is one difference at the event's label.

With schemas on (the `schemas` set), keys and values are `{"schema", "payload"}`: payloads are
compared as above (`value.payload.after.c_date`), and schemas member by member, a struct's
fields by name with their order as one field (`value.schema.fields[after].fields[c_date].name`,
`value.schema.fields.<order>`).
"""

import json

ABSENT = "<absent>"
PRESENT = "<present>"

# Fields whose values are not compared, with why. Their presence still is: a field Debezium
# has and Sluice lacks is a difference. `ops` limits a rule to those events.
# Change events (not BEGIN/END records, whose ts_ms is the commit time and is compared).
EVENTS = ("r", "c", "u", "d", "t", "tombstone")

IGNORED = [
    ("value.ts_ms", EVENTS, "when the connector processed the event: differs between any two runs"),
    ("value.ts_us", EVENTS, "as value.ts_ms, in microseconds"),
    ("value.ts_ns", EVENTS, "as value.ts_ms, in nanoseconds"),
    ("value.source.ts_ms", "r", "a snapshot read's time is when each connector's snapshot ran"
     " (compared for streamed changes: the commit time)"),
    ("value.source.ts_us", "r", "as value.source.ts_ms of a read, in microseconds"),
    ("value.source.ts_ns", "r", "as value.source.ts_ms of a read, in nanoseconds"),
    ("value.source.lsn", "r", "a read's LSN is its own slot's snapshot point"
     " (compared for streamed changes: the change's WAL position)"),
    ("value.source.txId", "r", "a read's txId is its own snapshot transaction"
     " (compared for streamed changes)"),
    ("value.source.sequence", "r", "a read's sequence holds its own slot's snapshot point"),
    ("value.source.version", None, "the Debezium release vs Sluice's own version string"),
    # What `unwrap` (the unwrap presets) adds from the envelope, under the same rules.
    ("value.__ts_ms", None, "as value.ts_ms, added by unwrap"),
    ("value.__source_ts_ms", "r", "as value.source.ts_ms of a read, added by unwrap"),
    ("value.__lsn", "r", "as value.source.lsn of a read, added by unwrap"),
    ("value.__txId", "r", "as value.source.txId of a read, added by unwrap"),
]

# Fields compared for streamed changes whose values change from run to run (commit time, WAL
# position, transaction id). A known-differences entry on one of them matches whatever the
# value is (see `matching_value`); only which side has the field, and the path, must match.
VOLATILE = {
    "value.source.ts_ms", "value.source.ts_us", "value.source.ts_ns", "value.source.lsn",
    "value.source.txId", "value.source.sequence",
    "value.__source_ts_ms", "value.__lsn", "value.__txId",
    # Transaction metadata: `<xid>:<lsn>` ids and the commit time of BEGIN and END.
    "value.transaction.id", "key.id", "value.id", "value.ts_ms",
}


def matching_value(path, value):
    """The value as a known-differences entry records it: "<value>" on a volatile field."""
    field = schema_paths(path.split(".", 1)[1]) if "." in path else path
    if field in VOLATILE and value not in (ABSENT, PRESENT):
        return "<value>"
    return value


def schema_paths(path):
    """With schemas on, value.payload.X is the envelope's X: the same rules apply."""
    for prefix in ("value.payload.", "key.payload."):
        if path.startswith(prefix):
            return path.replace(".payload", "", 1)
    return path


def ignored(op, path):
    plain = schema_paths(path)
    return any(plain == p and (ops is None or op in ops) for p, ops, _ in IGNORED)


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


class Comparison:
    def __init__(self):
        self.compared = 0
        self.fields = set()  # the compared paths without their event label
        self.differences = []

    def walk(self, op, path, dbz, slc):
        if isinstance(dbz, dict) and isinstance(slc, dict):
            for k in list(dbz) + [k for k in slc if k not in dbz]:
                self.walk(op, f"{path}.{k}", dbz.get(k, ABSENT), slc.get(k, ABSENT))
            return
        if is_schema_fields(dbz) and is_schema_fields(slc):
            # A struct schema's members: compared by field name (paths read
            # `schema.fields[after].fields[c_date].name`), their order as one field more.
            d_by, s_by = {f["field"]: f for f in dbz}, {f["field"]: f for f in slc}
            self.walk(op, f"{path}.<order>", [f["field"] for f in dbz], [f["field"] for f in slc])
            for k in list(d_by) + [k for k in s_by if k not in d_by]:
                self.walk(op, f"{path}[{k}]", d_by.get(k, ABSENT), s_by.get(k, ABSENT))
            return
        if isinstance(dbz, list) and isinstance(slc, list) and len(dbz) == len(slc):
            for i, (x, y) in enumerate(zip(dbz, slc)):
                self.walk(op, f"{path}[{i}]", x, y)
            return
        self.compared += 1
        field = path.split(".", 1)[1]
        self.fields.add(field)
        if ignored(op, field):
            if (dbz is ABSENT) != (slc is ABSENT):
                self.differ(path, PRESENT if slc is ABSENT else ABSENT,
                            PRESENT if dbz is ABSENT else ABSENT)
            return
        if not same(dbz, slc):
            self.differ(path, dbz, slc)

    def differ(self, path, dbz, slc):
        self.differences.append({"path": path, "debezium": dbz, "sluice": slc})


def is_schema_fields(value):
    """Whether `value` is a Connect struct schema's `fields` list (members named by `field`)."""
    return (isinstance(value, list) and len(value) > 0
            and all(isinstance(f, dict) and isinstance(f.get("field"), str) for f in value))


def label(key_text, value_text, transactions):
    """`<op>:<key>` for an event, `tombstone:<key>` for a null value, `<status>:tx<n>` for the
    n-th transaction's BEGIN or END record (`transactions` counts BEGINs seen so far)."""
    if value_text is not None:
        value = json.loads(value_text)
        if isinstance(value, dict) and "payload" in value and "schema" in value:
            value = value["payload"]
        if isinstance(value, dict) and value.get("status") in ("BEGIN", "END"):
            if value["status"] == "BEGIN":
                transactions[0] += 1
            return f"{value['status']}:tx{transactions[0]}"
    key = json.loads(key_text) if key_text else None
    if isinstance(key, dict) and "payload" in key and "schema" in key:
        key = key["payload"]
    k = ",".join(f"{n}={v}" for n, v in key.items()) if isinstance(key, dict) else str(key)
    if value_text is None:
        return f"tombstone:{k}"
    value = json.loads(value_text)
    if isinstance(value, dict) and "payload" in value and "schema" in value:
        value = value["payload"]
        if value is None:
            return f"null-payload:{k}"
    return f"{value.get('op', value.get('__op', '?'))}:{k}"


def by_label(events):
    out = {}
    # BEGIN and END records, by topic: Sluice's come after its table's events.
    transactions = [0]
    for _, key, value in sorted(events, key=lambda e: ".transaction" in (e[0] or "")):
        name = label(key, value, transactions)
        n, unique = 2, name
        while unique in out:  # the same change twice: keep both, the second as name#2
            unique, n = f"{name}#{n}", n + 1
        out[unique] = (key, value)
    return out


def compare(debezium_events, sluice_events):
    """Compares two event lists; returns (number of fields compared, the distinct field paths
    compared, differences)."""
    dbz, slc = by_label(debezium_events), by_label(sluice_events)
    c = Comparison()
    for name in list(dbz) + [n for n in slc if n not in dbz]:
        if name not in dbz or name not in slc:
            c.compared += 1
            c.differ(name, "<event>" if name in dbz else ABSENT,
                     "<event>" if name in slc else ABSENT)
            continue
        op = name.split(":", 1)[0]
        for part, i in (("key", 0), ("value", 1)):
            d_text, s_text = dbz[name][i], slc[name][i]
            c.walk(op, f"{name}.{part}",
                   None if d_text is None else json.loads(d_text),
                   None if s_text is None else json.loads(s_text))
    return c.compared, sorted(c.fields), c.differences
