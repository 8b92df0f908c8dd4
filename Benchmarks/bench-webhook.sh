#!/usr/bin/env bash
# The webhook benchmark of issue 4, floor and subject in the same run:
#   subject: wrk, 64 connections, POSTing a 1 KiB JSON body to a webhook source (fsync: batch);
#            every 200 means the record is durable
#   floor:   the same wrk against `sluice-bench-floor` (Benchmarks/BenchFloor), a Hummingbird
#            endpoint built with the same flags that reads the body and answers 200 without writing
# Prints every round and the medians. ROUNDS and SECONDS_PER_RUN override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-10}

bench_build sluice sluice-bench-floor
bench_workdir
api=$(free_port); hook=$(free_port); floor=$(free_port)
mkdir -p "$work/connectors"
cat >"$work/worker.yaml" <<YAML
data_dir: $work/data
connectors_dir: $work/connectors
api: { listen: 127.0.0.1:$api }
log: { fsync: batch }
YAML
cat >"$work/connectors/bench.yaml" <<YAML
name: bench
source: webhook
topic: bench.events
config: { listen: 127.0.0.1:$hook, path: /hook, max_pending: 100000 }
YAML
pad=$(head -c 980 /dev/zero | tr '\0' 'x')
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"device":"d-1","pad":"$pad"}'
LUA

"$bin/sluice" run --config "$work/worker.yaml" >"$work/worker.log" 2>&1 & worker=$!
"$bin/sluice-bench-floor" --listen "127.0.0.1:$floor" >"$work/floor.log" 2>&1 & bench_track $!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$hook/hook" && curl -s -o /dev/null "http://127.0.0.1:$floor/" && break
  sleep 0.1
done

run_wrk() { wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/post.lua" "$1"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
p99_ms() { awk '$1 == "99%" { v=$2; if (v ~ /us$/) { sub(/us/,"",v); v=v/1000 } else if (v ~ /ms$/) { sub(/ms/,"",v) } else if (v ~ /s$/) { sub(/s/,"",v); v=v*1000 }; print v }'; }

echo "webhook benchmark: wrk -t2 -c64 -d${seconds}s, 1 KiB JSON bodies, $rounds rounds"
: >"$work/f_rps"; : >"$work/h_rps"; : >"$work/h_p99"; : >"$work/f_p99"
for round in $(seq 1 "$rounds"); do
  f=$(run_wrk "http://127.0.0.1:$floor/hook")
  h=$(run_wrk "http://127.0.0.1:$hook/hook")
  f_rps=$(echo "$f" | rps); h_rps=$(echo "$h" | rps)
  f_p99=$(echo "$f" | p99_ms); h_p99=$(echo "$h" | p99_ms)
  errors=$(echo "$h" | awk '/Non-2xx/ {print $NF}')
  echo "round $round: floor ${f_rps} req/s (p99 ${f_p99} ms) | webhook ${h_rps} req/s (p99 ${h_p99} ms)${errors:+, non-2xx: $errors}"
  echo "$f_rps" >>"$work/f_rps"; echo "$h_rps" >>"$work/h_rps"; echo "$h_p99" >>"$work/h_p99"; echo "$f_p99" >>"$work/f_p99"
done
f=$(median <"$work/f_rps"); h=$(median <"$work/h_rps"); hp=$(median <"$work/h_p99"); fp=$(median <"$work/f_p99")
echo "median: floor $f req/s (p99 $fp ms) | webhook $h req/s | ratio $(awk -v a="$h" -v b="$f" 'BEGIN {printf "%.2f", a / b}') (target >= 0.50) | webhook p99 $hp ms (target < 20)"
records=$(curl -s "http://127.0.0.1:$api/topics/bench.events" | python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin)["partitions"]))')
echo "records stored: $records"
