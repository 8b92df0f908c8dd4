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
: >"$work/floor"; : >"$work/sluice"; : >"$work/rss"; : >"$work/ratio"
echo "CDC benchmark: $rows rows in 1,000-row transactions, $rounds rounds (backlog drain)"
for round in $(seq 1 "$rounds"); do
  cdc_drain_workload bench_floor bench_sluice
  f=$(cdc_drain_floor bench_floor)
  cdc_drain_worker "$work/r$round" bench_sluice "log: { partitions: 1, fsync: batch }" cdc_wait_embedded
  r=$drain_rate peak=$peak_mib
  psql_q -c "SELECT pg_drop_replication_slot(s) FROM unnest(ARRAY['bench_floor','bench_sluice']) s" >/dev/null
  echo "round $round: floor pg_recvlogical ${f} changes/s | sluice ${r} changes/s (events durable, worker start included) | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS $peak MiB"
  echo "$f" >>"$work/floor"; echo "$r" >>"$work/sluice"; echo "$peak" >>"$work/rss"
  awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f\n", a / b}' >>"$work/ratio"
done
f=$(median <"$work/floor"); r=$(median <"$work/sluice")
echo "median: floor $f changes/s | sluice $r changes/s | ratio of medians $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}'), median of the rounds' ratios $(median <"$work/ratio") (target >= 0.80) | peak RSS $(sort -n "$work/rss" | tail -1) MiB (target < 64)"
if [ "${LAT_ROUNDS:-3}" -gt 0 ]; then
  echo
  bash Benchmarks/bench-cdc-latency.sh "$bin" "$url" "$work"
fi
