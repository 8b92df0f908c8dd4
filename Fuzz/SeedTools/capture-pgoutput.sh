#!/usr/bin/env bash
# Writes real pgoutput messages into Fuzz/corpus/pgoutput/: a throwaway PostgreSQL
# (Tests/Servers/start.sh) runs inserts, updates (key change, TOAST, REPLICA IDENTITY FULL),
# deletes, a truncate and a logical message; each transaction's messages, read back with
# pg_logical_slot_peek_binary_changes, become one seed in the pgoutput target's framing
# (per message: 2-byte big-endian length, then a CopyData XLogData message 'w' + 24 bytes + payload).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=Fuzz/corpus/pgoutput
mkdir -p "$out"
servers=$(mktemp -d /tmp/sluice-fuzz-pg.XXXXXX)
trap 'bash Tests/Servers/stop.sh "$servers"' EXIT INT TERM
bash Tests/Servers/start.sh "$servers" >/dev/null
# shellcheck disable=SC1091
source "$servers/env"
q() { psql "$SLUICE_TEST_PG_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
q <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), tags text[], doc jsonb,
  at timestamptz, raw bytea, f float8, ok bool);
CREATE TABLE wide (id bigint PRIMARY KEY, big text);
CREATE TABLE full_row (a int, b text);
ALTER TABLE full_row REPLICA IDENTITY FULL;
CREATE TABLE "Odd.Schema" (k uuid PRIMARY KEY, v interval);
CREATE PUBLICATION fuzz_pub FOR ALL TABLES;
SELECT 'x' FROM pg_create_logical_replication_slot('fuzz_slot', 'pgoutput');
INSERT INTO items VALUES (1, 'apple', 1.50, '{a,"b c"}', '{"x": [1, 2, {"y": null}]}',
  '2024-01-02 03:04:05.678+00', '\xdeadbeef', 1.5e300, true);
INSERT INTO items VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', false);
UPDATE items SET name = 'pear', f = '-Infinity' WHERE id = 1;
UPDATE items SET id = 3 WHERE id = 2;
DELETE FROM items WHERE id = 3;
INSERT INTO wide VALUES (1, repeat('toast', 3000));
UPDATE wide SET id = id WHERE id = 1;
INSERT INTO full_row VALUES (1, 'one'), (2, 'two');
UPDATE full_row SET b = 'uno' WHERE a = 1;
DELETE FROM full_row WHERE a = 2;
INSERT INTO "Odd.Schema" VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:03:04');
BEGIN; SELECT 'x' FROM pg_logical_emit_message(true, 'fuzz-prefix', 'hello'); COMMIT;
TRUNCATE full_row, wide;
SQL
# One row per message: its LSN, its transaction, its bytes in hex.
q -F ' ' -c "SELECT lsn, xid, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('fuzz_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'fuzz_pub', 'messages', 'true')" \
  | python3 -c '
import sys, struct, collections
groups = collections.OrderedDict()
for line in sys.stdin:
    lsn, xid, data = line.split()
    hi, lo = lsn.split("/")
    position = int(hi, 16) << 32 | int(lo, 16)
    frame = b"w" + struct.pack(">QQq", position, position, 0) + bytes.fromhex(data)
    groups.setdefault(xid, []).append(struct.pack(">H", len(frame)) + frame)
everything = b""
for n, frames in enumerate(groups.values()):
    seed = b"".join(frames)
    everything += seed
    open(sys.argv[1] + "/pg-tx-%02d" % n, "wb").write(seed)
open(sys.argv[1] + "/pg-all", "wb").write(everything)
' "$out"
ls -la "$out"
