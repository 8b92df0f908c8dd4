#!/usr/bin/env bash
# The CDC source's initial snapshot (issue 16 point 5), floor and subject in the same run, for the
# issue's two shapes:
#   one:     ONE_ROWS rows in one table (default 10,000,000)
#   eight:   8 tables of EIGHT_ROWS rows (default 1,000,000 each)
#   rows:    (id bigint primary key, 100 hex digits of md5s unique to the row, timestamptz),
#            VACUUM ANALYZEd: the text does not compress, so a compressed log gains only what
#            Debezium's JSON envelope around it repeats
#   floor:   psql copying the same rows to /dev/null, one \copy per table, tables one after another
#            (\copy (SELECT * FROM t ORDER BY id) TO /dev/null)
#   subject: a fresh worker with a `source: postgres-cdc` connector, `snapshot: initial_only`,
#            `snapshot_max_threads: THREADS` (default 4), from its start until every row is
#            durable in the topics as a Debezium `r` event (it logs `snapshot completed`); its peak
#            RSS (the kernel's VmHWM); once per `log.compression` in COMPRESSIONS (default
#            "none lz4"), each after the same floor run
# ROUNDS (default 3), ONE_ROWS, EIGHT_ROWS, THREADS, SHAPES ("one eight") and COMPRESSIONS override
# the defaults. Each round prints its figures; then the medians per shape and compression (the
# ratio is median sluice rows/s over median floor rows/s) and the highest peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
one_rows=${ONE_ROWS:-10000000}
compressions=${COMPRESSIONS:-none lz4}
eight_rows=${EIGHT_ROWS:-1000000}
threads=${THREADS:-4}
shapes=${SHAPES:-one eight}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
bench_setup

# snap_tables SHAPE: the tables of SHAPE, as `name rows` lines.
snap_tables() {
  case $1 in
    one) echo "snap_one $one_rows" ;;
    eight) for i in 1 2 3 4 5 6 7 8; do echo "snap_eight_$i $eight_rows"; done ;;
  esac
}

# snap_round SHAPE ROUND: one floor and one worker run; appends to $work/SHAPE.{floor,sluice,rss}.
snap_round() {
  local shape=$1 round=$2 total=0 names=() start floor_s f name n codec
  while read -r name n; do names+=("$name"); total=$((total + n)); done < <(snap_tables "$shape")
  start=$(now)
  for name in "${names[@]}"; do
    psql_q -c "\\copy (SELECT * FROM $name ORDER BY id) TO '/dev/null'"
  done
  floor_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  f=$(awk -v n="$total" -v s="$floor_s" 'BEGIN {printf "%.0f", n / s}')
  echo "$f" >>"$work/$shape.floor"
  for codec in $compressions; do sluice_run "$shape" "$round" "$codec" "$f"; done
}

# sluice_run SHAPE ROUND CODEC FLOOR: one worker run with `log.compression: CODEC`; appends to
# $work/SHAPE-CODEC.{sluice,rss}.
sluice_run() {
  local shape=$1 round=$2 codec=$3 f=$4 total=0 names=() list start api dir sluice_s r name n
  while read -r name n; do names+=("$name"); total=$((total + n)); done < <(snap_tables "$shape")
  dir="$work/$shape-$codec-r$round"
  api=$(free_port)
  mkdir -p "$dir/connectors"
  printf 'data_dir: %s\nconnectors_dir: %s\napi: { listen: 127.0.0.1:%s }\nlog: { fsync: batch, compression: %s }\n' \
    "$dir/data" "$dir/connectors" "$api" "$codec" >"$dir/worker.yaml"
  list=$(IFS=,; echo "${names[*]}")
  cat >"$dir/connectors/snap.yaml" <<YAML
name: snap
source: postgres-cdc
topic: "snap.{table}"
config: { url: "$url", tables: [$list], slot: bench_snap_$shape, publication: bench_snap_$shape, snapshot: initial_only, snapshot_max_threads: $threads }
YAML
  start=$(now)
  "$bin/sluice" run --config "$dir/worker.yaml" >"$dir/worker.log" 2>&1 & worker=$!
  # Done when the task logs that the snapshot completed (every row durable). The log is followed
  # with inotify (`tail -F`), not by polling the API: on 2 cores a process started every 50 ms
  # takes CPU from the worker that the floor's run does not give up.
  exec {log}< <(tail -F -n +1 --pid="$worker" "$dir/worker.log" 2>/dev/null)
  grep -q -m1 'snapshot completed' <&"$log" || true
  sluice_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  exec {log}<&-
  # The kernel's own peak (VmHWM): exact, and nothing samples the worker while it runs.
  peak_mib=$(peak_rss_mib "$worker")
  n=0
  for name in "${names[@]}"; do
    n=$((n + $(curl -s "http://127.0.0.1:$api/topics/snap.$name" | python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin)["partitions"]))')))
  done
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  if [ "$n" -ne "$total" ]; then echo "round $round ($shape, $codec): $n records for $total rows, see $dir/worker.log" >&2; exit 1; fi
  r=$(awk -v n="$total" -v s="$sluice_s" 'BEGIN {printf "%.0f", n / s}')
  echo "$shape round $round, compression $codec: floor psql \\copy ${f} rows/s | sluice ${r} rows/s (worker start included) | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS ${peak_mib} MiB | log $(du -sm "$dir/data" | cut -f1) MiB"
  echo "$r" >>"$work/$shape-$codec.sluice"; echo "$peak_mib" >>"$work/$shape-$codec.rss"
  rm -rf "$dir/data"
}

for shape in $shapes; do
  sql=""
  while read -r name n; do
    sql+="DROP TABLE IF EXISTS $name; CREATE TABLE $name (id bigint PRIMARY KEY, pad text, at timestamptz);"
    sql+="INSERT INTO $name SELECT g, md5(g::text) || md5('a' || g) || left(md5('b' || g), 36), now()"
    sql+=" FROM generate_series(1, $n) g;"
  done < <(snap_tables "$shape")
  psql_q -c "$sql"
  psql_q -c "VACUUM ANALYZE"
  echo "CDC snapshot benchmark, $shape: $(snap_tables "$shape" | awk '{n += $2; t++} END {print t " table(s), " n " rows"}'), snapshot_max_threads $threads, $rounds rounds, compressions: $compressions"
  for round in $(seq 1 "$rounds"); do snap_round "$shape" "$round"; done
done
for shape in $shapes; do
  f=$(median <"$work/$shape.floor")
  for codec in $compressions; do
    r=$(median <"$work/$shape-$codec.sluice")
    echo "median $shape, compression $codec: floor $f rows/s | sluice $r rows/s | ratio $(awk -v a="$r" -v b="$f" 'BEGIN {printf "%.2f", a / b}') | peak RSS $(sort -n "$work/$shape-$codec.rss" | tail -1) MiB"
  done
done
