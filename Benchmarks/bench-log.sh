#!/usr/bin/env bash
# The log benchmark of issue 2, floor and subject in the same run:
#   floor:   dd writing the same bytes in the same block size with conv=fdatasync, same disk
#   subject: 4 producers appending 1 KiB records in batches (fsync: batch), then reading back
#   and the worker's idle RSS.
# Prints every round and the medians. ROUNDS, RECORDS, BATCH override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-5}
records=${RECORDS:-262144}
record_bytes=1024
batch=${BATCH:-1024}
producers=4
in_flight=${IN_FLIGHT:-1}

bench_build sluice-log-bench sluice
bench_workdir
bytes=$((records * record_bytes))
echo "log benchmark: $records records × $record_bytes B = $((bytes >> 20)) MiB per round, batches of $batch, $producers producers with $in_flight appends in flight each, $rounds rounds"
: >"$work/dd" ; : >"$work/append" ; : >"$work/read"
for round in $(seq 1 "$rounds"); do
  rm -rf "$work/log" "$work/dd.bin"
  dd_out=$(dd if=/dev/zero of="$work/dd.bin" bs=$((batch * record_bytes)) count=$((records / batch)) conv=fdatasync 2>&1 | tail -1)
  dd_seconds=$(echo "$dd_out" | sed -E 's/.* copied, ([0-9.]+) s.*/\1/')
  dd_mb_s=$(awk -v b="$bytes" -v s="$dd_seconds" 'BEGIN {printf "%.1f", b / s / 1e6}')
  rm -f "$work/dd.bin"
  out=$("$bin/sluice-log-bench" --dir "$work/log" --records "$records" --record-bytes "$record_bytes" --batch-records "$batch" --producers "$producers" --in-flight "$in_flight")
  append=$(echo "$out" | sed -n 's/^append_mb_s=//p')
  read=$(echo "$out" | sed -n 's/^read_mb_s=//p')
  cpu=$(echo "$out" | sed -n 's/.*append_cpu_s=\([0-9.]*\).*/\1/p')
  echo "round $round: dd ${dd_mb_s} MB/s | append ${append} MB/s ($(echo "$out" | tail -1), ${cpu} s CPU) | ratio $(awk -v a="$append" -v d="$dd_mb_s" 'BEGIN {printf "%.2f", a / d}') | read ${read} MB/s"
  echo "$dd_mb_s" >>"$work/dd"; echo "$append" >>"$work/append"; echo "$read" >>"$work/read"
done
dd_median=$(median <"$work/dd")
append_median=$(median <"$work/append")
read_median=$(median <"$work/read")
echo "median: dd (floor) ${dd_median} MB/s | append ${append_median} MB/s | ratio append/dd $(awk -v a="$append_median" -v d="$dd_median" 'BEGIN {printf "%.2f", a / d}') (target >= 0.60) | read ${read_median} MB/s (target >= 1000)"

# Idle RSS of a worker with the default demo connectors (file source and sink, no input).
mkdir -p "$work/idle/Config/connectors"
cp Config/connectors/*.yaml "$work/idle/Config/connectors/"
port=$(free_port)
sed "s/127.0.0.1:8083/127.0.0.1:$port/" Config/worker.yaml >"$work/idle/Config/worker.yaml"
(cd "$work/idle" && exec "$bin/sluice" run --config Config/worker.yaml >"$work/idle.log" 2>&1) &
worker=$!
sleep 5
idle_mib=$(rss_mib "$worker")
kill -TERM "$worker"; wait "$worker" || true; worker=""
echo "idle worker RSS: ${idle_mib} MiB (target < 30 MiB)"
