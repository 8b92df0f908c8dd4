#!/usr/bin/env bash
# A/B of sluice binaries' Fetch (Benchmarks/README.md, Kafka listener): ab-fetch.sh BIN_A BIN_B ...
# Per round (ROUNDS, 3) and binary, alternating: a fresh worker, 1,000,000 x 100 B produced to 4
# partitions by kafka_bench.py --produce-only, then PASSES (5) raw_fetch passes; prints each pass's
# rate (M records/s) and the worker's CPU seconds per pass. Needs `make bench-kafka` run once
# (the venv and .build/kafka-bench/raw_fetch).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=.build/kafka-venv/bin/python
R=.build/kafka-bench/raw_fetch
passes=${PASSES:-5}
tck=$(getconf CLK_TCK)
cpu_of() { awk -v t=$tck '{printf "%.2f", ($14+$15)/t}' /proc/$1/stat; }
for round in $(seq 1 ${ROUNDS:-3}); do
  for bin in "$@"; do
    dir=$(mktemp -d /tmp/ab.XXXX); port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1] if s.getsockname()[1] < 65000 else 40000)')
    mkdir -p $dir/connectors
    cat >$dir/worker.yaml <<YAML
data_dir: $dir/data
connectors_dir: $dir/connectors
api: { listen: 127.0.0.1:$((port+1)) }
log: { partitions: 1, segment_bytes: 256MiB, retention_hours: 168, fsync: batch }
kafka: { listen: 127.0.0.1:$port, advertised: 127.0.0.1:$port }
YAML
    "$bin" run --config $dir/worker.yaml >$dir/log 2>&1 & pid=$!
    for _ in $(seq 1 50); do $py Tests/Kafka/metadata.py --bootstrap 127.0.0.1:$port --timeout 2 >/dev/null 2>&1 && break; sleep 0.2; done
    $py Benchmarks/KafkaBench/kafka_bench.py --bootstrap 127.0.0.1:$port --topic ab --produce-only >/dev/null
    c0=$(cpu_of $pid); rates=""
    for _ in $(seq 1 $passes); do
      out=$($R 127.0.0.1:$port ab 4 1000000); rates+=" $(echo "$out" | $py -c 'import json,sys; d=json.load(sys.stdin); print(round(d["consumed"]/d["consume_s"]/1e6,2))')"
    done
    c1=$(cpu_of $pid)
    echo "round $round $(basename "$bin"): M rec/s:$rates; broker CPU s/pass $(python3 -c "print(round(($c1-$c0)/$passes,3))"); rss $(awk '/VmHWM/{print int($2/1024)}' /proc/$pid/status) MiB"
    kill $pid; wait $pid 2>/dev/null || true; rm -rf $dir
  done
done
