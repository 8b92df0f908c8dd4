#!/usr/bin/env bash
# The MQTT source benchmark of issue 5, floor and subject in the same run, on a broker of its own:
#   subject: sluice-mqtt-publish sends N JSON readings of ~100 bytes at QoS 1 to 100 devices'
#            topics; an MQTT source (subscription bench/+/reading, QoS 1, fsync: batch) writes
#            them to a topic; the clock stops when the last one is durable (the topic's end
#            offset, polled through the admin API)
#   floor:   the same publisher, and `mosquitto_sub` with the same kind of subscription and QoS
#            writing every message to a file; the clock stops when it has N lines
# Both clocks start with the publisher. Prints every round, the medians, the ratio and the
# worker's RSS. ROUNDS and MESSAGES override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
rounds=${ROUNDS:-3}
messages=${MESSAGES:-500000}

swift build -c release --static-swift-stdlib --product sluice >/dev/null
swift build -c release --static-swift-stdlib --product sluice-mqtt-publish >/dev/null
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
work=$(mktemp -d "$PWD/.bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api=$(free_port); mqtt=$(free_port)
mkdir -p "$work/connectors"
cat >"$work/mosquitto.conf" <<CONF
listener $mqtt 127.0.0.1
allow_anonymous true
max_queued_messages 10000000
log_dest none
user root
CONF
mosquitto -c "$work/mosquitto.conf" & pids+=($!)
cat >"$work/worker.yaml" <<YAML
data_dir: $work/data
connectors_dir: $work/connectors
api: { listen: 127.0.0.1:$api }
log: { partitions: 1, fsync: batch }
YAML
cat >"$work/connectors/bench.yaml" <<YAML
name: bench
source: mqtt
topic: bench.readings
config:
  url: mqtt://127.0.0.1:$mqtt
  client_id: sluice-bench
  subscriptions: [ { filter: "bench/+/reading", qos: 1 } ]
  payload: json
YAML
"$bin/sluice" run --config "$work/worker.yaml" >"$work/worker.log" 2>&1 & worker=$!; pids+=($worker)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$api/connectors/bench/status" | grep -q '"connected":"true"' && break
  sleep 0.1
done

stored() { curl -s "http://127.0.0.1:$api/topics/bench.readings" | grep -o '"end_offset":[0-9]*' | cut -d: -f2 | paste -sd+ | bc; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
publish() { "$bin/sluice-mqtt-publish" --port "$mqtt" --count "$messages" --qos 1 --bytes 100 --topic "$1/d{device}/reading" >/dev/null; }

echo "MQTT source benchmark: $messages readings of ~100 bytes at QoS 1 per run, $rounds rounds"
: >"$work/floor"; : >"$work/subject"; : >"$work/rss"
for round in $(seq 1 "$rounds"); do
  # Floor: mosquitto_sub to a file.
  mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -t "floor$round/+/reading" -C "$messages" >"$work/floor.out" & sub=$!
  sleep 0.5
  start=$(now); publish "floor$round"; wait "$sub"; end=$(now)
  floor=$(echo "$messages / ($end - $start)" | bc -l)
  lines=$(wc -l <"$work/floor.out")

  # Subject: the MQTT source, until the last reading is durable in the topic.
  before=$(stored); before=${before:-0}
  start=$(now); publish bench
  while [ "$(stored)" -lt $((before + messages)) ]; do sleep 0.05; done
  end=$(now)
  subject=$(echo "$messages / ($end - $start)" | bc -l)
  rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$worker/status")
  hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$worker/status")
  printf 'round %d: floor %.0f msg/s (%d lines) | mqtt source %.0f msg/s | ratio %.2f | worker RSS %d MiB (peak %d MiB)\n' \
    "$round" "$floor" "$lines" "$subject" "$(echo "$subject / $floor" | bc -l)" "$rss" "$hwm"
  echo "$floor" >>"$work/floor"; echo "$subject" >>"$work/subject"; echo "$hwm" >>"$work/rss"
done
f=$(median <"$work/floor"); s=$(median <"$work/subject"); r=$(sort -n "$work/rss" | tail -1)
printf 'median: floor %.0f msg/s | mqtt source %.0f msg/s | ratio %.2f (target >= 0.80) | worker peak RSS %d MiB (target < 64)\n' \
  "$f" "$s" "$(echo "$s / $f" | bc -l)" "$r"
echo "records stored: $(stored)"
