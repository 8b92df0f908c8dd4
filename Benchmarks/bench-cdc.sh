#!/usr/bin/env bash
# Throughput part of issue 3's CDC benchmark, floor and subject in the same run (a backlog drain):
#   workload: ROWS rows (id, 100-byte text, timestamp) inserted in 1,000-row transactions while
#             two logical slots retain the WAL
#   floor:    pg_recvlogical streaming the slot with pgoutput into a file, until the workload's
#             end LSN (--endpos)
#   subject:  a `source: postgres-cdc` connector on the other slot, from the worker's start until
#             every row is durable in the topic (one long poll of the admin API for the last
#             offset, which a reader sees only once it is fsynced); its peak RSS
# Then the latency part, Benchmarks/bench-cdc-latency.sh, on the same servers: commit -> durable
# p50/p99 at a steady 10,000 changes/s.
# ROUNDS and ROWS override the defaults; LAT_ROUNDS=0 skips the latency part.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
rows=${ROWS:-1000000}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
bench_setup
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

: >"$work/floor"; : >"$work/sluice"; : >"$work/rss"; : >"$work/ratio"
echo "CDC benchmark: $rows rows in 1,000-row transactions, $rounds rounds (backlog drain)"
for round in $(seq 1 "$rounds"); do
  psql_q -c "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigint PRIMARY KEY, pad text, at timestamptz)" \
    -c "DROP PUBLICATION IF EXISTS bench_pub; CREATE PUBLICATION bench_pub FOR TABLE bench_rows"
  for slot in bench_floor bench_sluice; do
    psql_q -c "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
    psql_q -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  done
  # The workload: one transaction per 1,000 rows.
  psql_q -c "DO \$\$ BEGIN FOR i IN 0..$((rows / 1000 - 1)) LOOP
      INSERT INTO bench_rows SELECT g, repeat('x', 100), now() FROM generate_series(i * 1000 + 1, i * 1000 + 1000) g;
      COMMIT; END LOOP; END \$\$"
  end_lsn=$(psql_q -c "SELECT pg_current_wal_lsn()")

  start=$(now)
  PGPASSWORD=sluice "$pg_bin/../bin/pg_recvlogical" -d "$url" --slot bench_floor --start -E "$end_lsn" \
    -o proto_version=1 -o publication_names=bench_pub -f "$work/floor.out" --no-loop 2>/dev/null || true
  floor_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')

  api=$(free_port)
  mkdir -p "$work/r$round/connectors"
  cat >"$work/r$round/worker.yaml" <<YAML
data_dir: $work/r$round/data
connectors_dir: $work/r$round/connectors
api: { listen: 127.0.0.1:$api }
log: { partitions: 1, fsync: batch }
YAML
  cat >"$work/r$round/connectors/cdc.yaml" <<YAML
name: cdc
source: postgres-cdc
topic: "bench.{table}"
config: { url: "$url", tables: [bench_rows], slot: bench_sluice, publication: bench_pub, snapshot: never }
YAML
  start=$(now)
  "$bin/sluice" run --config "$work/r$round/worker.yaml" >"$work/r$round/worker.log" 2>&1 & worker=$!
  # Peak RSS, sampled with bash builtins only, so the sampling takes next to no CPU.
  (peak=0; while [ -r "/proc/$worker/status" ]; do
     while read -r k v _; do [ "$k" = VmRSS: ] && [ "$v" -gt "$peak" ] && peak=$v && echo "$peak" >"$work/r$round/rss"; done <"/proc/$worker/status"
     sleep 0.1; done) 2>/dev/null & sampler=$!
  # Wait (cheaply: a request every 50 ms until the topic exists, then long polls) for the last row.
  last="http://127.0.0.1:$api/topics/bench.bench_rows/records?partition=0&offset=$((rows - 1))&limit=1&wait_ms=60000"
  for _ in $(seq 1 6000); do
    curl -sf -o /dev/null "http://127.0.0.1:$api/topics/bench.bench_rows" 2>/dev/null && break
    sleep 0.05
  done
  for _ in $(seq 1 20); do
    [ "$(curl -s "$last" 2>/dev/null | head -c 2)" = '[{' ] && break
  done
  sluice_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""
  peak=$(cat "$work/r$round/rss" 2>/dev/null || echo 0)
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  psql_q -c "SELECT pg_drop_replication_slot(s) FROM unnest(ARRAY['bench_floor','bench_sluice']) s" >/dev/null
  f=$(awk -v n="$rows" -v s="$floor_s" 'BEGIN {printf "%.0f", n / s}')
  r=$(awk -v n="$rows" -v s="$sluice_s" 'BEGIN {printf "%.0f", n / s}')
  echo "round $round: floor pg_recvlogical ${f} changes/s | sluice ${r} changes/s (events durable, worker start included) | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS $((peak / 1024)) MiB"
  echo "$f" >>"$work/floor"; echo "$r" >>"$work/sluice"; echo "$((peak / 1024))" >>"$work/rss"
  awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f\n", a / b}' >>"$work/ratio"
done
f=$(median <"$work/floor"); r=$(median <"$work/sluice")
echo "median: floor $f changes/s | sluice $r changes/s | ratio of medians $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}'), median of the rounds' ratios $(median <"$work/ratio") (target >= 0.80) | peak RSS $(sort -n "$work/rss" | tail -1) MiB (target < 64)"
if [ "${LAT_ROUNDS:-3}" -gt 0 ]; then
  echo
  bash Benchmarks/bench-cdc-latency.sh "$bin" "$url" "$work"
fi
