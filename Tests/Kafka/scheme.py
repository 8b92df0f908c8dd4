"""What the Kafka test clients share: the deterministic record scheme, the digest of what a
consumer read, and the one-JSON-line result with a watchdog so that no script ever hangs.

The record scheme ("skt1"). Record i (0-based) of a run whose base timestamp is B:
  value      b"skt1 i=<i> ts=<B> k=<0|1> h=<0|1> |" then filler up to --value-bytes: the digits
             of i ("%08d") repeated. A value describes itself, so a consumer checks a record
             without being told how it was produced.
  key        b"key-<i>" when produced with --keys (k=1), else none (null key)
  headers    with --headers (h=1): [("i", b"<i>"), ("scheme", b"skt1"), ("bin", bytes([i % 256, 0, 255]))]
             (in that order, the last one not UTF-8), else none
  timestamp  B + i (CreateTime, milliseconds); B = the producer's start time minus the record count,
             so that every timestamp lies in the past.
"""
import json
import os
import re
import signal
import sys
import time
import traceback

MAGIC = b"skt1"
_HEAD = re.compile(rb"^skt1 i=(\d+) ts=(\d+) k=([01]) h=([01]) \|")


def key(i):
    return b"key-%d" % i


def headers(i):
    return [("i", b"%d" % i), ("scheme", MAGIC), ("bin", bytes([i % 256, 0, 255]))]


def value(i, base_ts, with_keys, with_headers, size):
    head = b"skt1 i=%d ts=%d k=%d h=%d |" % (i, base_ts, int(with_keys), int(with_headers))
    pad = max(0, size - len(head))
    filler = (b"%08d" % i) * (pad // 8 + 1)
    return head + filler[:pad]


def timestamp(i, base_ts):
    return base_ts + i


def base_timestamp(count):
    return int(time.time() * 1000) - count


def parse(value_bytes):
    """(i, base_ts, with_keys, with_headers) of a scheme value, or None."""
    m = _HEAD.match(value_bytes or b"")
    if not m:
        return None
    return int(m[1]), int(m[2]), m[3] == b"1", m[4] == b"1"


def normal_headers(hs):
    """Headers as a list of (str, bytes) whatever the client gave (None, tuples, lists)."""
    return [(k, bytes(v) if v is not None else None) for k, v in (hs or [])]


class Digest:
    """What a consumer read: every (partition, offset, index) and whether each record matches
    the scheme. `summary()` is the part of the JSON result the tests assert on."""

    def __init__(self, min_timestamp=None, base_ts=None):
        self.min_timestamp = min_timestamp
        self.base_ts = base_ts
        self.rows = []  # (partition, offset, index or None)
        self.bad = {"keys": 0, "values": 0, "headers": 0, "timestamps": 0}
        self.bases = set()
        self.examples = []

    def _bad(self, what, partition, offset, detail):
        self.bad[what] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{what} p{partition}@{offset}: {detail}")

    def add(self, partition, offset, k, v, hs, ts):
        meta = parse(v)
        if meta is None:
            self._bad("values", partition, offset, f"not a scheme value: {bytes(v or b'')[:40]!r}")
            self.rows.append((partition, offset, None))
            return
        i, base, with_keys, with_headers = meta
        self.bases.add(base)
        if self.base_ts is not None and base != self.base_ts:
            self._bad("values", partition, offset, f"base timestamp {base}, expected {self.base_ts}")
        elif v != value(i, base, with_keys, with_headers, len(v)):
            self._bad("values", partition, offset, "filler differs")
        want_key = key(i) if with_keys else None
        if (bytes(k) if k is not None else None) != want_key:
            self._bad("keys", partition, offset, f"{k!r} != {want_key!r}")
        want_headers = headers(i) if with_headers else []
        if normal_headers(hs) != want_headers:
            self._bad("headers", partition, offset, f"{normal_headers(hs)!r}")
        if ts != timestamp(i, base):
            self._bad("timestamps", partition, offset, f"{ts} for i={i}, base {base}: expected {timestamp(i, base)}")
        elif self.min_timestamp is not None and ts < self.min_timestamp:
            self._bad("timestamps", partition, offset, f"{ts} (i={i}) is before the --from timestamp {self.min_timestamp}")
        self.rows.append((partition, offset, i))

    def __len__(self):
        return len(self.rows)

    def summary(self):
        parts = {}
        for p, o, i in self.rows:
            parts.setdefault(p, []).append((o, i))
        partitions = {}
        for p in sorted(parts):
            rows = parts[p]
            offsets = [o for o, _ in rows]
            indices = [i for _, i in rows if i is not None]
            partitions[str(p)] = {
                "count": len(rows),
                "first": offsets[0],
                "last": offsets[-1],
                "offsets_ordered": offsets == sorted(set(offsets)),
                "contiguous": offsets == list(range(offsets[0], offsets[0] + len(offsets))),
                "indices_ordered": indices == sorted(indices),
            }
        seen_offsets = {(p, o) for p, o, _ in self.rows}
        indices = [i for _, _, i in self.rows if i is not None]
        return {
            "count": len(self.rows),
            "partitions": partitions,
            "keys_ok": self.bad["keys"] == 0,
            "values_ok": self.bad["values"] == 0,
            "headers_ok": self.bad["headers"] == 0,
            "timestamps_ok": self.bad["timestamps"] == 0,
            "mismatches": self.bad,
            "examples": self.examples,
            "duplicate_offsets": len(self.rows) - len(seen_offsets),
            "duplicate_indices": len(indices) - len(set(indices)),
            "min_index": min(indices) if indices else None,
            "max_index": max(indices) if indices else None,
            "base_ts": sorted(self.bases),
        }


def finish(result, problems=()):
    """Print the one JSON line; exit 1 with the problems on stderr if there are any."""
    problems = list(problems)
    result["ok"] = not problems
    if problems:
        result["problems"] = problems
    print(json.dumps(result, sort_keys=True), flush=True)
    if problems:
        print(f"{os.path.basename(sys.argv[0])}: FAILED: " + "; ".join(problems), file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)  # not sys.exit: a client library's threads must not keep the process alive


def watchdog(seconds, what):
    """A hard limit on the whole script: past it, print a failed result and exit 2."""

    def fire(*_):
        print(json.dumps({"ok": False, "problems": [f"{what}: watchdog fired after {seconds} s"]}), flush=True)
        print(f"{os.path.basename(sys.argv[0])}: FAILED: watchdog fired after {seconds} s", file=sys.stderr, flush=True)
        os._exit(2)

    signal.signal(signal.SIGALRM, fire)
    signal.alarm(int(seconds))


def guarded(main):
    """Run main(); an exception becomes a failed JSON result, not a traceback and a hang."""
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - any failure must end in one JSON line
        traceback.print_exc()
        finish({"error": f"{type(e).__name__}: {e}"}, [f"{type(e).__name__}: {e}"])
