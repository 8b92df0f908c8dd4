#!/usr/bin/env bash
# Latency part of issue 3's CDC benchmark: end-to-end commit -> durable at a steady load.
#   load:     pgbench at a fixed rate (--rate) of 10-row transactions, RATE changes/s in all,
#             for SECONDS_PER_ROUND s, each row (id, 100-byte text, clock_timestamp()); the
#             sessions use synchronous_commit=on (PostgreSQL's default; the test server's is off)
#   subject:  a `source: postgres-cdc` connector, already streaming when the load starts
#   measured: Benchmarks/cdc-latency-consumer.py long-polls the topic through the admin API
#             and takes arrival − the event's source.ts_ms (commit time) per record; a reader
#             sees a record only after its fsync, so this is an upper bound of commit -> durable
#   disk:     in the same seconds, Benchmarks/fsync-probe.py times a 512-byte append + fdatasync
#             every 20 ms in the worker's data dir: the floor under any durable append here
# Called by bench-cdc.sh with its servers; standalone: bench-cdc-latency.sh BIN PG_URL WORK
# LAT_ROUNDS, RATE and SECONDS_PER_ROUND override the defaults (3, 10000, 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: bench-cdc-latency.sh BIN PG_URL WORK}
url=${2:?}
work=${3:?}
rounds=${LAT_ROUNDS:-3}
rate=${RATE:-10000}
seconds=${SECONDS_PER_ROUND:-20}
rows_per_tx=10
tps=$((rate / rows_per_tx))
expected=$((rate * seconds))

# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh

cat >"$work/lat.sql" <<SQL
INSERT INTO lat_rows (pad, at) SELECT repeat('x', 100), clock_timestamp() FROM generate_series(1, $rows_per_tx);
SQL
: >"$work/lat-p50"; : >"$work/lat-p99"; : >"$work/lat-rate"; : >"$work/lat-rss"; : >"$work/lat-f99"
echo "CDC latency: $rate changes/s ($tps transactions/s of $rows_per_tx rows, pgbench --rate) for $seconds s, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  psql_q -c "DROP TABLE IF EXISTS lat_rows; CREATE TABLE lat_rows (id bigserial PRIMARY KEY, pad text, at timestamptz)" \
    -c "DROP PUBLICATION IF EXISTS lat_pub; CREATE PUBLICATION lat_pub FOR TABLE lat_rows"
  psql_q -c "SELECT pg_drop_replication_slot('lat_sluice') FROM pg_replication_slots WHERE slot_name = 'lat_sluice'" >/dev/null
  psql_q -c "SELECT pg_create_logical_replication_slot('lat_sluice', 'pgoutput')" >/dev/null
  dir="$work/lat$round"
  api=$(free_port)
  mkdir -p "$dir/connectors"
  cat >"$dir/worker.yaml" <<YAML
data_dir: $dir/data
connectors_dir: $dir/connectors
api: { listen: 127.0.0.1:$api }
log: { partitions: 1, fsync: batch }
YAML
  cat >"$dir/connectors/cdc.yaml" <<YAML
name: cdc
source: postgres-cdc
topic: "lat.{table}"
config: { url: "$url", tables: [lat_rows], slot: lat_sluice, publication: lat_pub }
YAML
  "$bin/sluice" run --config "$dir/worker.yaml" >"$dir/worker.log" 2>&1 & worker=$!
  for _ in $(seq 1 300); do
    curl -s "http://127.0.0.1:$api/connectors/cdc/status" 2>/dev/null | grep -q '"state":"streaming"' && break
    sleep 0.1
  done
  # Peak RSS, sampled with bash builtins only (no process per sample).
  (peak=0; while [ -r "/proc/$worker/status" ]; do
     while read -r k v _; do [ "$k" = VmRSS: ] && [ "$v" -gt "$peak" ] && peak=$v && echo "$peak" >"$dir/rss"; done <"/proc/$worker/status"
     sleep 0.1; done) 2>/dev/null & sampler=$!
  python3 Benchmarks/cdc-latency-consumer.py "http://127.0.0.1:$api" lat.lat_rows $((expected * 2)) $((seconds + 30)) \
    >"$dir/latency" & consumer=$!
  python3 Benchmarks/fsync-probe.py "$dir/data" "$seconds" >"$dir/fsync" & probe=$!
  PGOPTIONS="-c synchronous_commit=on" PGPASSWORD=sluice pgbench -n -f "$work/lat.sql" -c 4 -j 2 \
    -R "$tps" -T "$seconds" "$url" >"$dir/pgbench.out" 2>&1 || true
  wait "$consumer" || true
  wait "$probe" || true
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  psql_q -c "SELECT pg_drop_replication_slot('lat_sluice')" >/dev/null
  committed=$(psql_q -c "SELECT count(*) FROM lat_rows")
  load_tps=$(awk '/^tps = / {print $3}' "$dir/pgbench.out")
  read -r _ n _ r _ p50 _ p99 _ max _ b50 _ b99 <"$dir/latency" || true
  rss=$(($(cat "$dir/rss" 2>/dev/null || echo 0) / 1024))
  read -r _ _ _ f50 _ f99 _ fmax <"$dir/fsync" || true
  echo "round $round: load $(awk -v t="$load_tps" -v k=$rows_per_tx 'BEGIN {printf "%.0f", t * k}') changes/s committed ($committed rows), $n events durable | commit->durable p50 ${p50} ms p99 ${p99} ms max ${max} ms (commit->built p50 ${b50} ms p99 ${b99} ms) | disk fdatasync p50 ${f50} ms p99 ${f99} ms max ${fmax} ms | peak RSS $rss MiB"
  echo "$p50" >>"$work/lat-p50"; echo "$p99" >>"$work/lat-p99"; echo "$rss" >>"$work/lat-rss"; echo "$f99" >>"$work/lat-f99"
  awk -v t="$load_tps" -v k=$rows_per_tx 'BEGIN {printf "%.0f\n", t * k}' >>"$work/lat-rate"
done
p99=$(median <"$work/lat-p99")
echo "median: load $(median <"$work/lat-rate") changes/s | p50 $(median <"$work/lat-p50") ms | p99 $p99 ms ($(awk -v p="$p99" 'BEGIN {print (p < 50 ? "meets" : "misses")}') the < 50 ms target) | disk fdatasync p99 $(median <"$work/lat-f99") ms | peak RSS $(sort -n "$work/lat-rss" | tail -1) MiB (target < 64)"
