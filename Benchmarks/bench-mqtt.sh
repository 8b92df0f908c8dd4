#!/usr/bin/env bash
# The MQTT source benchmark of issue 5, floor and subject in the same run, on a broker of its own:
#   subject: sluice-mqtt-publish sends N JSON readings of ~100 bytes at QoS 1 to 100 devices'
#            topics; an MQTT source (subscription bench/+/reading, QoS 1, fsync: batch) writes
#            them to a topic; the clock stops when the last one is durable (the topic's end
#            offset, polled through the admin API)
#   floor:   the same publisher, and `mosquitto_sub` with the same kind of subscription and QoS
#            writing every message to a file; the clock stops when it has N lines
# Both clocks start with the publishers (PUBLISHERS of them side by side, 4 by default). A second
# pair of figures ("backlog") queues the N messages in a persistent session while the subscriber
# is away and times only the drain, from the subscriber's start, so the publishers do not share
# the CPU with it. Prints every round, the medians, the ratios and the worker's peak RSS.
# ROUNDS, MESSAGES and PUBLISHERS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-3}
messages=${MESSAGES:-500000}
publishers=${PUBLISHERS:-4}

bench_build sluice sluice-mqtt-publish
bench_workdir
api=$(free_port); mqtt=$(free_port)
mkdir -p "$work/connectors"
cat >"$work/mosquitto.conf" <<CONF
listener $mqtt 127.0.0.1
allow_anonymous true
max_queued_messages 10000000
log_dest none
user root
CONF
mosquitto -c "$work/mosquitto.conf" & bench_track $!
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
start_worker() {
  "$bin/sluice" run --config "$work/worker.yaml" >>"$work/worker.log" 2>&1 & worker=$!
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$api/connectors/bench/status" | grep -q '"connected":"true"' && return
    sleep 0.05
  done
}
start_worker

# Records in bench.readings (0 before the topic exists).
stored() {
  local n
  n=$(curl -s "http://127.0.0.1:$api/topics/bench.readings" | grep -o '"end_offset":[0-9]*' | cut -d: -f2 | paste -sd+ | bc || true)
  echo "${n:-0}"
}
# PUBLISHERS publishers side by side, MESSAGES in all, to 100 devices' topics under $1.
publish() {
  local each=$((messages / publishers)) p ps=()
  for p in $(seq 0 $((publishers - 1))); do
    "$bin/sluice-mqtt-publish" --port "$mqtt" --count "$each" --first $((p * each)) --qos 1 --bytes 100 \
      --topic "$1/d{device}/reading" >/dev/null & ps+=($!)
  done
  wait "${ps[@]}"
}
wait_stored() { while [ "$(stored)" -lt "$1" ]; do sleep 0.05; done; }
rate() { echo "$messages / ($2 - $1)" | bc -l; }

echo "MQTT source benchmark: $messages readings of ~100 bytes at QoS 1 per run, $publishers publishers, $rounds rounds"
: >"$work/live_floor"; : >"$work/live"; : >"$work/drain_floor"; : >"$work/drain"; : >"$work/rss"
for round in $(seq 1 "$rounds"); do
  # Live — floor: mosquitto_sub to a file while the publishers run.
  mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -t "floor$round/+/reading" -C "$messages" >"$work/floor.out" & sub=$!
  sleep 0.5
  start=$(now); publish "floor$round"; wait "$sub"; end=$(now)
  lf=$(rate "$start" "$end")
  # Live — subject: the MQTT source, until the last reading is durable in the topic.
  before=$(stored)
  start=$(now); publish bench; wait_stored $((before + messages)); end=$(now)
  ls=$(rate "$start" "$end")

  # Backlog — the same messages queued in a persistent session while the subscriber is away,
  # then drained: the subscriber side alone, without the publishers sharing the CPU.
  mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -c -i "floor-drain$round" -t "drain$round/+/reading" -E
  publish "drain$round"
  start=$(now)
  mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -c -i "floor-drain$round" -t "drain$round/+/reading" -C "$messages" >"$work/floor.out"
  end=$(now)
  df=$(rate "$start" "$end")
  live_rss=$(peak_rss_mib "$worker")
  before=$(stored)
  kill -TERM "$worker"; wait "$worker" || true
  publish bench
  start=$(now); start_worker; wait_stored $((before + messages)); end=$(now)
  ds=$(rate "$start" "$end")
  rss=$(peak_rss_mib "$worker")
  [ "$live_rss" -gt "$rss" ] && rss=$live_rss
  printf 'round %d: live: floor %.0f msg/s | mqtt source %.0f msg/s | ratio %.2f || backlog: floor %.0f | source %.0f | ratio %.2f || worker peak RSS %d MiB\n' \
    "$round" "$lf" "$ls" "$(echo "$ls / $lf" | bc -l)" "$df" "$ds" "$(echo "$ds / $df" | bc -l)" "$rss"
  echo "$lf" >>"$work/live_floor"; echo "$ls" >>"$work/live"; echo "$df" >>"$work/drain_floor"; echo "$ds" >>"$work/drain"; echo "$rss" >>"$work/rss"
done
lf=$(median <"$work/live_floor"); ls=$(median <"$work/live"); df=$(median <"$work/drain_floor"); ds=$(median <"$work/drain")
r=$(sort -n "$work/rss" | tail -1)
printf 'median live: floor %.0f msg/s | mqtt source %.0f msg/s | ratio %.2f (target >= 0.80)\n' "$lf" "$ls" "$(echo "$ls / $lf" | bc -l)"
printf 'median backlog: floor %.0f msg/s | mqtt source %.0f msg/s | ratio %.2f\n' "$df" "$ds" "$(echo "$ds / $df" | bc -l)"
printf 'worker peak RSS %d MiB (target < 64)\n' "$r"
echo "records stored: $(stored)"
