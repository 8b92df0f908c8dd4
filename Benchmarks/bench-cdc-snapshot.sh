#!/usr/bin/env bash
# The CDC source's initial snapshot, floor and subject in the same run (not a target of issue 3;
# measured so the figure is known):
#   table:   ROWS rows (id, 100-byte text, timestamp)
#   floor:   psql copying the same rows in key order to a file
#            (\copy (SELECT * FROM t ORDER BY id) TO file)
#   subject: a `source: postgres-cdc` connector with `snapshot: initial_only`, until every row is
#            durable in the topic as a Debezium `r` event; its peak RSS
# ROUNDS and ROWS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
rows=${ROWS:-1000000}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
bench_setup

psql_q -c "DROP TABLE IF EXISTS snap_rows; CREATE TABLE snap_rows (id bigint PRIMARY KEY, pad text, at timestamptz)" \
  -c "INSERT INTO snap_rows SELECT g, repeat('x', 100), now() FROM generate_series(1, $rows) g" \
  -c "VACUUM ANALYZE snap_rows"
: >"$work/floor"; : >"$work/sluice"; : >"$work/rss"
echo "CDC snapshot benchmark: $rows rows, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  start=$(now)
  psql_q -c "\\copy (SELECT * FROM snap_rows ORDER BY id) TO '$work/floor.out'"
  floor_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  rm -f "$work/floor.out"

  api=$(free_port)
  mkdir -p "$work/r$round/connectors"
  cat >"$work/r$round/worker.yaml" <<YAML
data_dir: $work/r$round/data
connectors_dir: $work/r$round/connectors
api: { listen: 127.0.0.1:$api }
log: { fsync: batch }
YAML
  cat >"$work/r$round/connectors/snap.yaml" <<YAML
name: snap
source: postgres-cdc
topic: "snap.{table}"
config: { url: "$url", tables: [snap_rows], slot: bench_snap, publication: bench_snap, snapshot: initial_only }
YAML
  start=$(now)
  "$bin/sluice" run --config "$work/r$round/worker.yaml" >"$work/r$round/worker.log" 2>&1 & worker=$!
  peak=0
  for _ in $(seq 1 6000); do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status" 2>/dev/null || echo 0)
    [ "$rss" -gt "$peak" ] && peak=$rss
    n=$(curl -s "http://127.0.0.1:$api/topics/snap.snap_rows" 2>/dev/null | python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin)["partitions"]))' 2>/dev/null || echo 0)
    [ "$n" -ge "$rows" ] && break
    sleep 0.25
  done
  sluice_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  f=$(awk -v n="$rows" -v s="$floor_s" 'BEGIN {printf "%.0f", n / s}')
  r=$(awk -v n="$rows" -v s="$sluice_s" 'BEGIN {printf "%.0f", n / s}')
  echo "round $round: floor psql \\copy ${f} rows/s | sluice ${r} rows/s (r events durable, worker start included) | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS $((peak / 1024)) MiB"
  echo "$f" >>"$work/floor"; echo "$r" >>"$work/sluice"; echo "$((peak / 1024))" >>"$work/rss"
done
f=$(median <"$work/floor"); r=$(median <"$work/sluice")
echo "median: floor $f rows/s | sluice $r rows/s | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS $(sort -n "$work/rss" | tail -1) MiB"
