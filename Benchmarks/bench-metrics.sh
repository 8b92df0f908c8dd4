#!/usr/bin/env bash
# What collecting the worker's Prometheus metrics costs (issue 18: at most 3 % of any pipeline's
# rate). Each pipeline runs with `metrics: false` (nothing recorded, handles are no-ops) and with
# metrics on — scraped once a second while it runs, a busier scraper than Prometheus's 15 s — in
# the same run, the order alternating from round to round:
#   webhook: wrk, 64 connections, POSTing 1 KiB JSON bodies to a webhook source (fsync: batch) for
#            SECONDS_PER_RUN seconds (as `make bench-webhook`); req/s
#   file:    a file source reading LINES 100-byte lines into a topic and a file sink writing them
#            out (the log's append, fsync and read path, the runtime's send/poll/put/commit), from
#            the worker's start until the sink's file holds every line; lines/s
#   cdc:     the CDC backlog drain of `make bench-cdc` (ROWS rows in 1,000-row transactions, from
#            the worker's start until the last change is durable); changes/s. CDC=0 skips it
#            (it needs the PostgreSQL of Tests/Servers).
# Each run also gives the worker's CPU time per record (user + system, from /proc): on a shared,
# noisy host the rates swing by tens of percent from run to run, and CPU per record shows the
# cost of collecting with far less noise.
# Prints every round, then per pipeline the medians, on/off of the rate (target >= 0.97) and
# on/off of the CPU per record.
# ROUNDS, SECONDS_PER_RUN, LINES, ROWS and CDC override the defaults; PIPELINES picks some of
# "webhook file cdc"; SCRAPE=0 runs metrics on without the scraper.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
seconds=${SECONDS_PER_RUN:-10}
lines=${LINES:-1000000}
rows=${ROWS:-300000}
cdc=${CDC:-1}
scrape=${SCRAPE:-1}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
scraper=""
trap '[ -n "$scraper" ] && kill "$scraper" 2>/dev/null; bench_cleanup' EXIT
if [ "$cdc" = 1 ]; then
  bench_setup
else
  swift build -c release --static-swift-stdlib --product sluice >/dev/null
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
  bench_work=$(mktemp -d "$PWD/.bench.XXXXXX")
  work=$bench_work
fi

# metrics_yaml on|off: the worker.yaml line.
metrics_yaml() { if [ "$1" = on ]; then echo "metrics: true"; else echo "metrics: false"; fi; }

# scrape_start API / scrape_stop: GET /metrics once a second in the background.
scrape_start() {
  [ "$scrape" = 1 ] || return 0
  (while true; do curl -s -o /dev/null "http://127.0.0.1:$1/metrics" || true; sleep 1; done) &
  scraper=$!
}
scrape_stop() { [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }; scraper=""; }

# start_worker DIR: runs the worker of DIR/worker.yaml as $worker.
start_worker() {
  "$bin/sluice" run --config "$1/worker.yaml" >"$1/worker.log" 2>&1 & worker=$!
}
stop_worker() { kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; worker=""; }

# ---- webhook ---------------------------------------------------------------------------------
pad=$(head -c 980 /dev/zero | tr '\0' 'x')
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"device":"d-1","pad":"$pad"}'
LUA

# webhook_run on|off ROUND: prints req/s and the worker's CPU µs per request.
webhook_run() {
  local dir=$work/webhook-$1-$2 api hook rps cpu0 cpu
  api=$(free_port); hook=$(free_port)
  mkdir -p "$dir/connectors"
  printf 'data_dir: %s\nconnectors_dir: %s\napi: { listen: 127.0.0.1:%s }\nlog: { fsync: batch }\n%s\n' \
    "$dir/data" "$dir/connectors" "$api" "$(metrics_yaml "$1")" >"$dir/worker.yaml"
  cat >"$dir/connectors/bench.yaml" <<YAML
name: bench
source: webhook
topic: bench.events
config: { listen: 127.0.0.1:$hook, path: /hook, max_pending: 100000 }
YAML
  start_worker "$dir"
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$hook/hook" && break; sleep 0.1; done
  [ "$1" = on ] && scrape_start "$api"
  cpu0=$(cpu_seconds "$worker")
  rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$hook/hook" | awk '/Requests\/sec/ {print $2}')
  cpu=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$worker")" 'BEGIN {print b - a}')
  scrape_stop
  stop_worker
  rm -rf "$dir"
  awk -v r="${rps:-0}" -v c="$cpu" -v s="$seconds" 'BEGIN {printf "%s %.2f\n", r, (r > 0 ? c * 1e6 / (r * s) : 0)}'
}

# ---- file -> topic -> file -------------------------------------------------------------------
python3 -c "
import sys
line = 'x' * 90
with open('$work/input.txt', 'w') as f:
    for i in range($lines):
        f.write(f'{i:09d} {line}\n')
"
input_bytes=$(stat -c %s "$work/input.txt")

# file_run on|off ROUND: prints lines/s, from the worker's start until out.txt holds every line,
# and the worker's CPU µs per line.
file_run() {
  local dir=$work/file-$1-$2 api start s cpu ok=0
  api=$(free_port)
  mkdir -p "$dir/connectors"
  printf 'data_dir: %s\nconnectors_dir: %s\napi: { listen: 127.0.0.1:%s }\nlog: { partitions: 1, fsync: batch }\n%s\n' \
    "$dir/data" "$dir/connectors" "$api" "$(metrics_yaml "$1")" >"$dir/worker.yaml"
  cat >"$dir/connectors/in.yaml" <<YAML
name: lines-in
source: file
topic: lines
config: { path: $work/input.txt, poll_ms: 20 }
YAML
  cat >"$dir/connectors/out.yaml" <<YAML
name: lines-out
sink: file
topics: [lines]
config: { path: $dir/out.txt, format: value }
YAML
  start=$(now)
  start_worker "$dir"
  [ "$1" = on ] && scrape_start "$api"
  for _ in $(seq 1 6000); do
    [ "$(stat -c %s "$dir/out.txt" 2>/dev/null || echo 0)" -ge "$input_bytes" ] && { ok=1; break; }
    sleep 0.05
  done
  s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  cpu=$(cpu_seconds "$worker")
  scrape_stop
  stop_worker
  rm -rf "$dir"
  awk -v n="$lines" -v s="$s" -v c="$cpu" -v ok="$ok" 'BEGIN {printf "%.0f %.2f\n", ok ? n / s : 0, c * 1e6 / n}'
}

# ---- CDC drain ---------------------------------------------------------------------------------
# cdc_wait_scraped DIR API: cdc_wait_embedded, scraping /metrics meanwhile (metrics on).
cdc_wait_scraped() {
  local rc=0
  scrape_start "$2"
  cdc_wait_embedded "$@" || rc=$?
  scrape_stop
  return $rc
}

# cdc_run on|off ROUND: prints changes/s and the worker's CPU µs per change (the slot bench_on or
# bench_off holds the backlog).
cdc_run() {
  local wait=cdc_wait_embedded
  [ "$1" = on ] && wait=cdc_wait_scraped
  cdc_drain_worker "$work/cdc-$1-$2" "bench_$1" "log: { partitions: 1, fsync: batch }
$(metrics_yaml "$1")" "$wait" >&2
  rm -rf "${work:?}/cdc-$1-$2"
  awk -v r="$drain_rate" -v c="$drain_cpu" -v n="$rows" 'BEGIN {printf "%s %.2f\n", r, c * 1e6 / n}'
}

# ---- rounds ------------------------------------------------------------------------------------
pipelines=${PIPELINES:-webhook file cdc}
[ "$cdc" = 1 ] || pipelines=${pipelines/cdc/}
for p in $pipelines; do
  for f in on off ratio cpu-on cpu-off cpu-ratio; do : >"$work/$p-$f"; done
done
echo "metrics benchmark: $rounds rounds; webhook wrk -t2 -c64 -d${seconds}s 1 KiB bodies; file $lines lines; $([ "$cdc" = 1 ] && echo "CDC drain $rows rows" || echo "CDC skipped")"
for round in $(seq 1 "$rounds"); do
  case " $pipelines " in *" cdc "*) cdc_drain_workload bench_on bench_off ;; esac
  line="round $round:"
  for p in $pipelines; do
    if [ $((round % 2)) -eq 1 ]; then
      read -r off cpu_off < <("${p}_run" off "$round"); read -r on cpu_on < <("${p}_run" on "$round")
    else
      read -r on cpu_on < <("${p}_run" on "$round"); read -r off cpu_off < <("${p}_run" off "$round")
    fi
    ratio=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
    cpu_ratio=$(awk -v a="$cpu_on" -v b="$cpu_off" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
    echo "$on" >>"$work/$p-on"; echo "$off" >>"$work/$p-off"; echo "$ratio" >>"$work/$p-ratio"
    echo "$cpu_on" >>"$work/$p-cpu-on"; echo "$cpu_off" >>"$work/$p-cpu-off"; echo "$cpu_ratio" >>"$work/$p-cpu-ratio"
    line="$line $p off $off on $on (x$ratio), CPU µs/record $cpu_off -> $cpu_on (x$cpu_ratio) |"
  done
  case " $pipelines " in *" cdc "*) ;; *) false ;; esac && psql_q -c "SELECT pg_drop_replication_slot(s) FROM unnest(ARRAY['bench_on','bench_off']) s" >/dev/null
  echo "${line% |}"
done
for p in $pipelines; do
  off=$(median <"$work/$p-off"); on=$(median <"$work/$p-on")
  unit="req/s"; [ "$p" = file ] && unit="lines/s"; [ "$p" = cdc ] && unit="changes/s"
  echo "median $p: metrics off $off $unit | on $on $unit | on/off $(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}') (ratio of medians), $(median <"$work/$p-ratio") (median of the rounds' ratios) (target >= 0.97)"
  c_off=$(median <"$work/$p-cpu-off"); c_on=$(median <"$work/$p-cpu-on")
  echo "median $p CPU: metrics off $c_off µs/record | on $c_on µs/record | on/off $(awk -v a="$c_on" -v b="$c_off" 'BEGIN {printf "%.3f", a / b}') (ratio of medians), $(median <"$work/$p-cpu-ratio") (median of the rounds' ratios)"
done
