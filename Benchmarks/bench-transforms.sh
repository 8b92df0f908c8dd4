#!/usr/bin/env bash
# Issue 17's transform benchmark: the CDC backlog drain of `make bench-cdc` (Benchmarks/bench-lib.sh)
# with a transform chain, against the same drain without transforms, in the same run.
#   workload: ROWS rows (id, 100-byte text, timestamp) inserted in 1,000-row transactions while two
#             logical slots retain the WAL
#   plain:    a `source: postgres-cdc` connector on one slot, no transforms, from the worker's start
#             until the last row's event is durable in bench.bench_rows
#   chain:    the same on the other slot with `transforms:` Debezium's unwrap
#             (ExtractNewRecordState, deletes rewritten), RegexRouter (bench.bench_rows ->
#             cdc.bench_rows) and `filter_if` (drops deleted rows and the first 1,000 rows by
#             value.id), until the last kept row is durable in cdc.bench_rows
# The two drains alternate which goes first from round to round. Per round: both rates, their ratio,
# both workers' peak RSS. Then medians. Targets: chain >= 0.85 x plain, peak RSS <= +8 MiB.
# ROUNDS and ROWS override the defaults; CHAIN_YAML and DROPPED replace the chain (the connector
# file's `transforms:` lines) and the number of rows it drops, to measure one transform alone.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
rows=${ROWS:-1000000}
dropped=${DROPPED:-1000}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
bench_setup
: >"$work/plain"; : >"$work/chain"; : >"$work/ratio"; : >"$work/rss_plain"; : >"$work/rss_chain"

chain_yaml=${CHAIN_YAML:-'transforms:
  - name: unwrap
    type: io.debezium.transforms.ExtractNewRecordState
    delete.tombstone.handling.mode: rewrite
  - name: rename
    type: org.apache.kafka.connect.transforms.RegexRouter
    regex: "bench\\.(.*)"
    replacement: "cdc.$1"
  - name: no-test-rows
    type: filter_if
    if: '"'"'value.__deleted == "true" || value.id <= 1000'"'"''}

# wait_topic TOPIC LAST DIR API: like cdc_wait_embedded, for offset LAST of TOPIC.
wait_topic() {
  local records="http://127.0.0.1:$4/topics/$1/records?partition=0&offset=$2&limit=1&wait_ms=60000"
  for _ in $(seq 1 6000); do
    curl -sf -o /dev/null "http://127.0.0.1:$4/topics/$1" 2>/dev/null && break
    sleep 0.05
  done
  for _ in $(seq 1 20); do
    [ "$(curl -s "$records" 2>/dev/null | head -c 2)" = '[{' ] && return 0
  done
  return 1
}
wait_plain() { wait_topic bench.bench_rows $((rows - 1)) "$@"; }
wait_chain() { wait_topic cdc.bench_rows $((rows - dropped - 1)) "$@"; }

drain() { # drain plain|chain ROUND
  if [ "$1" = chain ]; then cdc_connector_extra=$chain_yaml; else cdc_connector_extra=""; fi
  cdc_drain_worker "$work/$1$2" "bench_$1" "log: { partitions: 1, fsync: batch }" "wait_$1"
  eval "rate_$1=\$drain_rate peak_$1=\$peak_mib cpu_$1=\$drain_cpu"
  rm -rf "${work:?}/$1$2/data"
}

echo "Transform benchmark: $rows rows in 1,000-row transactions, $rounds rounds (backlog drain)"
echo "chain (drops $dropped):"; echo "$chain_yaml"
for round in $(seq 1 "$rounds"); do
  cdc_drain_workload bench_plain bench_chain
  if [ $((round % 2)) -eq 1 ]; then drain plain "$round"; drain chain "$round"
  else drain chain "$round"; drain plain "$round"; fi
  psql_q -c "SELECT pg_drop_replication_slot(s) FROM unnest(ARRAY['bench_plain','bench_chain']) s" >/dev/null
  ratio=$(awk -v a="$rate_chain" -v b="$rate_plain" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  echo "round $round: no transforms ${rate_plain} changes/s (peak RSS ${peak_plain} MiB, CPU ${cpu_plain} s) | chain ${rate_chain} changes/s (peak RSS ${peak_chain} MiB, CPU ${cpu_chain} s) | ratio $ratio | RSS $((peak_chain - peak_plain)) MiB"
  echo "$rate_plain" >>"$work/plain"; echo "$rate_chain" >>"$work/chain"; echo "$ratio" >>"$work/ratio"
  echo "$peak_plain" >>"$work/rss_plain"; echo "$peak_chain" >>"$work/rss_chain"
done
p=$(median <"$work/plain"); c=$(median <"$work/chain")
rp=$(sort -n "$work/rss_plain" | tail -1); rc=$(sort -n "$work/rss_chain" | tail -1)
echo "median: no transforms $p changes/s | chain $c changes/s | ratio of medians $(awk -v a="$c" -v b="$p" 'BEGIN {printf "%.2f", a / b}'), median of the rounds' ratios $(median <"$work/ratio") (target >= 0.85) | peak RSS $rp -> $rc MiB, $((rc - rp)) MiB (target <= +8)"
