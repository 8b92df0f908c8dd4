#!/usr/bin/env bash
# The HTTP sink benchmark of issue 7, floor and subject in the same run:
#   subject: 200,000 records of ~200 bytes already in a topic, delivered by `sink: http` to
#            `sluice-bench-floor` (answers 200 at once): one record per request with
#            max_in_flight 64, then batched (500 records per request, json_array); the rate is
#            taken at the receiver, from its first to its last request
#   floor:   wrk -t2 -c64 POSTing the same ~200-byte body to the same receiver
# Prints every round and the medians. ROUNDS, RECORDS and SECONDS_PER_RUN override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-3}
records=${RECORDS:-200000}
seconds=${SECONDS_PER_RUN:-8}

bench_build sluice sluice-bench-floor
bench_workdir
api=$(free_port); receiver=$(free_port)
mkdir -p "$work/connectors"
cat >"$work/worker.yaml" <<YAML
data_dir: $work/data
connectors_dir: $work/connectors
api: { listen: 127.0.0.1:$api }
log: { fsync: batch }
YAML
# ~200-byte JSON records, loaded once into topic bench.out by a file source.
python3 - "$work/records.jsonl" "$records" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        f.write('{"id":%d,"device":"sensor-%04d","reading":21.5,"unit":"C","pad":"%s"}\n' % (i, i % 1000, "x" * 120))
PY
body=$(head -1 "$work/records.jsonl")
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA
cat >"$work/connectors/load.yaml" <<YAML
name: load
source: file
topic: bench.out
config: { path: $work/records.jsonl, batch_lines: 5000 }
YAML

"$bin/sluice" run --config "$work/worker.yaml" >"$work/worker.log" 2>&1 & worker=$!
"$bin/sluice-bench-floor" --listen "127.0.0.1:$receiver" >"$work/floor.log" 2>&1 & bench_track $!
end_offset() { curl -s "http://127.0.0.1:$api/topics/bench.out" 2>/dev/null | python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin)["partitions"]))' 2>/dev/null || echo 0; }
for _ in $(seq 1 600); do [ "$(end_offset)" -ge "$records" ] && break; sleep 0.1; done
[ "$(end_offset)" -ge "$records" ] || { echo "the topic did not fill; worker log:"; tail "$work/worker.log"; exit 1; }
rm "$work/connectors/load.yaml"
# A fresh worker for the sinks, so that the peak RSS is the sink's and not the loader's.
kill "$worker"; wait "$worker" 2>/dev/null || true
"$bin/sluice" run --config "$work/worker.yaml" >>"$work/worker.log" 2>&1 & worker=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$api/health" && break; sleep 0.1; done

stats() { curl -s "http://127.0.0.1:$receiver/stats"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# Delivers the whole topic with the given sink config; prints "records/s requests/s peak-RSS-MiB".
run_sink() {
  local name=$1 config=$2 per_request=$3
  curl -s -X DELETE "http://127.0.0.1:$receiver/stats" >/dev/null
  local want=$(( (records + per_request - 1) / per_request ))
  printf 'name: %s\nsink: http\ntopics: [bench.out]\nconfig: %s\n' "$name" "$config" >"$work/connectors/$name.yaml"
  local peak=0 n=0
  for _ in $(seq 1 2400); do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker/status")
    [ "$rss" -gt "$peak" ] && peak=$rss
    n=$(stats | field requests)
    [ "$n" -ge "$want" ] && break
    sleep 0.25
  done
  local s; s=$(stats)
  rm "$work/connectors/$name.yaml"
  sleep 1.5  # the worker stops the connector
  echo "$s" | python3 -c "
import json,sys
s=json.load(sys.stdin); secs=max(s['last_ms']-s['first_ms'],1)/1000
print('%.0f %.0f %.1f' % (s['requests']*$per_request/secs, s['requests']/secs, $peak/1024))"
}

echo "HTTP sink benchmark: $records records of ~${#body} bytes, $rounds rounds"
: >"$work/floor"; : >"$work/single"; : >"$work/batched"; : >"$work/rss"
for round in $(seq 1 "$rounds"); do
  f=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$receiver/floor" | awk '/Requests\/sec/ {print $2}')
  read -r s_rate _ s_rss < <(run_sink "single$round" "{ url: \"http://127.0.0.1:$receiver/one\", max_in_flight: 64 }" 1)
  read -r b_rate b_req b_rss < <(run_sink "batched$round" "{ url: \"http://127.0.0.1:$receiver/many\", max_in_flight: 8, batch: { max_records: 500, format: json_array } }" 500)
  echo "round $round: floor (wrk) ${f} req/s | single ${s_rate} records/s (RSS ${s_rss} MiB) | batched ${b_rate} records/s in ${b_req} req/s (RSS ${b_rss} MiB)"
  echo "$f" >>"$work/floor"; echo "$s_rate" >>"$work/single"; echo "$b_rate" >>"$work/batched"
  echo "$s_rss" >>"$work/rss"; echo "$b_rss" >>"$work/rss"
done
f=$(median <"$work/floor"); s=$(median <"$work/single"); b=$(median <"$work/batched")
rss=$(sort -n "$work/rss" | tail -1)
echo "median: floor $f req/s | single-record $s records/s, ratio $(awk -v a="$s" -v b="$f" 'BEGIN {printf "%.2f", a / b}') (target >= 0.50) | batched $b records/s ($(awk -v a="$b" -v b="$f" 'BEGIN {printf "%.1f", a / b}') x the floor's request rate) | peak RSS $rss MiB (target < 64)"
