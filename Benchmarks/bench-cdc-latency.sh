#!/usr/bin/env bash
# Latency part of issue 3's CDC benchmark: end-to-end commit -> durable at a steady load.
#   load:     pgbench at a fixed rate (--rate) of 10-row transactions, RATE changes/s in all,
#             for SECONDS_PER_ROUND s, each row (id, 100-byte text, clock_timestamp()); the
#             sessions use synchronous_commit=on (PostgreSQL's default; the test server's is off)
#   subject:  a `source: postgres-cdc` connector, already streaming when the load starts
#   measured: Benchmarks/cdc-latency-consumer.py long-polls the topic through the admin API
#             and takes arrival − the event's source.ts_ms (commit time) per record; a reader
#             sees a record only after its fsync, so this is an upper bound of commit -> durable
#   disk:     in the same seconds, Benchmarks/fsync-probe.py times a 512-byte append + fdatasync
#             every 20 ms in the worker's data dir: the floor under any durable append here
# LAT_STORE=kafka (bench-kafka-store.sh) runs the same on the Kafka store: each round a fresh Tansu
# (memory storage) is the cluster, the connector's sends are transactions, and the consumer reads
# Tansu with confluent-kafka and isolation.level=read_committed (commit -> visible; no disk probe,
# Tansu keeps memory only; target < 100 ms, RSS < 96 MiB). Each round first measures the broker's
# floor on a fresh Tansu of its own: Benchmarks/kafka-txn-floor.py writes the same stream (RATE
# records/s, in transactions as fast as they commit, each with a position record) with librdkafka,
# read by the same consumer.
# Called by bench-cdc.sh with its servers; standalone: bench-cdc-latency.sh BIN PG_URL WORK
# LAT_ROUNDS, RATE and SECONDS_PER_ROUND override the defaults (3, 10000, 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: bench-cdc-latency.sh BIN PG_URL WORK}
url=${2:?}
work=${3:?}
rounds=${LAT_ROUNDS:-3}
rate=${RATE:-10000}
seconds=${SECONDS_PER_ROUND:-20}
rows_per_tx=10
tps=$((rate / rows_per_tx))
expected=$((rate * seconds))

# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
store=${LAT_STORE:-embedded}
case $store in
  embedded) seen="commit->durable" target=50 rss_target=64 ;;
  kafka) seen="commit->visible (read_committed)" target=100 rss_target=96 ;;
  *) echo "LAT_STORE is embedded or kafka, not $store" >&2; exit 2 ;;
esac

cat >"$work/lat.sql" <<SQL
INSERT INTO lat_rows (pad, at) SELECT repeat('x', 100), clock_timestamp() FROM generate_series(1, $rows_per_tx);
SQL
: >"$work/lat-p50"; : >"$work/lat-p99"; : >"$work/lat-floor99"; : >"$work/lat-rate"; : >"$work/lat-rss"; : >"$work/lat-f99"
echo "CDC latency, $store store: $rate changes/s ($tps transactions/s of $rows_per_tx rows, pgbench --rate) for $seconds s, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  psql_q -c "DROP TABLE IF EXISTS lat_rows; CREATE TABLE lat_rows (id bigserial PRIMARY KEY, pad text, at timestamptz)" \
    -c "DROP PUBLICATION IF EXISTS lat_pub; CREATE PUBLICATION lat_pub FOR TABLE lat_rows"
  psql_q -c "SELECT pg_drop_replication_slot('lat_sluice') FROM pg_replication_slots WHERE slot_name = 'lat_sluice'" >/dev/null
  psql_q -c "SELECT pg_create_logical_replication_slot('lat_sluice', 'pgoutput')" >/dev/null
  dir="$work/lat$round"
  api=$(free_port)
  mkdir -p "$dir/connectors"
  floor=""
  if [ "$store" = kafka ]; then
    port=$(free_port)
    tansu_start "$port" "$dir/tansu-floor.log"
    "$kafka_py" Benchmarks/cdc-latency-consumer.py --kafka "127.0.0.1:$port" floor.lat $((expected * 2)) $((seconds + 30)) \
      >"$dir/floor-latency" & consumer=$!
    "$kafka_py" Benchmarks/kafka-txn-floor.py "127.0.0.1:$port" floor.lat "$rate" "$seconds" >"$dir/floor.out" 2>&1 || true
    wait "$consumer" || true
    tansu_stop
    read -r _ fn _ _ _ fl50 _ fl99 _ flmax _ <"$dir/floor-latency" || true
    floor="broker floor (librdkafka, $(awk '{print $6}' "$dir/floor.out") records per transaction): due->visible p50 ${fl50} ms p99 ${fl99} ms max ${flmax} ms, Tansu CPU $tansu_cpu s | "
    echo "$fl99" >>"$work/lat-floor99"
  fi
  if [ "$store" = kafka ]; then
    port=$(free_port)
    tansu_start "$port" "$dir/tansu.log"
    store_yaml="store: { kind: kafka, bootstrap: [127.0.0.1:$port]${KAFKA_STORE_EXTRA:+, $KAFKA_STORE_EXTRA} }"
    consumer_cmd=("$kafka_py" Benchmarks/cdc-latency-consumer.py --kafka "127.0.0.1:$port")
  else
    store_yaml="log: { partitions: 1, fsync: batch }"
    consumer_cmd=(python3 Benchmarks/cdc-latency-consumer.py "http://127.0.0.1:$api")
  fi
  cat >"$dir/worker.yaml" <<YAML
data_dir: $dir/data
connectors_dir: $dir/connectors
api: { listen: 127.0.0.1:$api }
$store_yaml
YAML
  cat >"$dir/connectors/cdc.yaml" <<YAML
name: cdc
source: postgres-cdc
topic: "lat.{table}"
config: { url: "$url", tables: [lat_rows], slot: lat_sluice, publication: lat_pub }
YAML
  "$bin/sluice" run --config "$dir/worker.yaml" >"$dir/worker.log" 2>&1 & worker=$!
  for _ in $(seq 1 300); do
    curl -s "http://127.0.0.1:$api/connectors/cdc/status" 2>/dev/null | grep -q '"state":"streaming"' && break
    sleep 0.1
  done
  rss_sampler_start "$worker" "$dir/rss"
  "${consumer_cmd[@]}" lat.lat_rows $((expected * 2)) $((seconds + 30)) >"$dir/latency" & consumer=$!
  probe=""
  if [ "$store" = embedded ]; then
    python3 Benchmarks/fsync-probe.py "$dir/data" "$seconds" >"$dir/fsync" & probe=$!
  else
    echo "fsync n/a p50 - p99 - max -" >"$dir/fsync"
  fi
  PGOPTIONS="-c synchronous_commit=on" PGPASSWORD=sluice pgbench -n -f "$work/lat.sql" -c 4 -j 2 \
    -R "$tps" -T "$seconds" "$url" >"$dir/pgbench.out" 2>&1 || true
  wait "$consumer" || true
  [ -n "$probe" ] && { wait "$probe" || true; }
  rss_sampler_stop "$dir/rss"
  cpu=$(cpu_seconds "$worker")
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  broker=""
  if [ "$store" = kafka ]; then
    tansu_stop
    broker=" | Tansu peak RSS $tansu_peak_mib MiB, CPU $tansu_cpu s"
  fi
  psql_q -c "SELECT pg_drop_replication_slot('lat_sluice')" >/dev/null
  committed=$(psql_q -c "SELECT count(*) FROM lat_rows")
  load_tps=$(awk '/^tps = / {print $3}' "$dir/pgbench.out")
  read -r _ n _ r _ p50 _ p99 _ max _ b50 _ b99 <"$dir/latency" || true
  rss=$peak_mib
  read -r _ _ _ f50 _ f99 _ fmax <"$dir/fsync" || true
  echo "round $round: ${floor}load $(awk -v t="$load_tps" -v k=$rows_per_tx 'BEGIN {printf "%.0f", t * k}') changes/s committed ($committed rows), $n events read | $seen p50 ${p50} ms p99 ${p99} ms max ${max} ms (commit->built p50 ${b50} ms p99 ${b99} ms) | disk fdatasync p50 ${f50} ms p99 ${f99} ms max ${fmax} ms | worker peak RSS $rss MiB, CPU $cpu s$broker"
  echo "$p50" >>"$work/lat-p50"; echo "$p99" >>"$work/lat-p99"; echo "$rss" >>"$work/lat-rss"; echo "$f99" >>"$work/lat-f99"
  awk -v t="$load_tps" -v k=$rows_per_tx 'BEGIN {printf "%.0f\n", t * k}' >>"$work/lat-rate"
done
p99=$(median <"$work/lat-p99")
f99=$([ "$store" = embedded ] && median <"$work/lat-f99" || echo "-")
[ "$store" = kafka ] && echo "median broker floor (librdkafka on Tansu, same load): p99 $(median <"$work/lat-floor99") ms"
echo "median ($store store): load $(median <"$work/lat-rate") changes/s | $seen p50 $(median <"$work/lat-p50") ms | p99 $p99 ms ($(awk -v p="$p99" -v t="$target" 'BEGIN {print (p < t ? "meets" : "misses")}') the < $target ms target) | disk fdatasync p99 $f99 ms | worker peak RSS $(sort -n "$work/lat-rss" | tail -1) MiB (target < $rss_target)"
