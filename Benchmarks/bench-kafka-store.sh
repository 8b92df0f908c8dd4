#!/usr/bin/env bash
# The CDC backlog drain of bench-cdc.sh on the Kafka store, with the floor and the embedded store in
# the same run, each round on the same workload:
#   workload: ROWS rows (id, 100-byte text, timestamp) inserted in 1,000-row transactions while
#             three logical slots retain the WAL (bench-lib.sh's cdc_drain_workload)
#   floor:    pg_recvlogical streaming one slot with pgoutput into a file up to the workload's end
#   embedded: a `source: postgres-cdc` connector on the embedded log (`fsync: batch`), from the
#             worker's start until the last row is durable (as bench-cdc.sh)
#   kafka:    the same connector with `store: { kind: kafka }` on a fresh Tansu (memory storage),
#             whose sends are KIP-618 transactions (the records and the connector's position in
#             one transaction each), from the worker's start until a read_committed consumer sees
#             the last row (Benchmarks/kafka-tail-wait.py, which reads only the partition's tail);
#             the worker's peak RSS, and Tansu's
# Then the latency part on the Kafka store (bench-cdc-latency.sh with LAT_STORE=kafka): PostgreSQL
# commit -> visible to a read_committed confluent-kafka consumer, p50/p99 at 10,000 changes/s.
# ROUNDS (3) and ROWS (1,000,000) override the defaults; LAT_ROUNDS=0 skips the latency part;
# KAFKA_STORE_EXTRA adds keys to the worker's `store:` (e.g. "linger_ms: 0"), here and in the latency part.
# Targets: kafka >= 0.5 x the floor and >= 0.5 x the embedded store; worker peak RSS < 96 MiB;
# p99 commit -> visible < 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
rows=${ROWS:-1000000}
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
[ -x "$kafka_py" ] || bash Tests/Kafka/install.sh
bench_setup

kafka_port=""
# The end of the drain on the Kafka store: the last row's event (Debezium key {"id":ROWS}) visible
# to a read_committed consumer.
cdc_wait_kafka() {
  "$kafka_py" Benchmarks/kafka-tail-wait.py "127.0.0.1:$kafka_port" bench.bench_rows "{\"id\":$rows}" 300
}

for f in floor embedded kafka ratio_floor ratio_embedded rss_embedded rss_kafka rss_tansu; do : >"$work/$f"; done
echo "CDC on the Kafka store: $rows rows in 1,000-row transactions, $rounds rounds (backlog drain)"
for round in $(seq 1 "$rounds"); do
  cdc_drain_workload bench_floor bench_embedded bench_kafka
  f=$(cdc_drain_floor bench_floor)
  cdc_drain_worker "$work/e$round" bench_embedded "log: { partitions: 1, fsync: batch }" cdc_wait_embedded
  e=$drain_rate e_rss=$peak_mib e_cpu=$drain_cpu
  kafka_port=$(free_port)
  tansu_start "$kafka_port" "$work/tansu$round.log"
  cdc_drain_worker "$work/k$round" bench_kafka "store: { kind: kafka, bootstrap: [127.0.0.1:$kafka_port]${KAFKA_STORE_EXTRA:+, $KAFKA_STORE_EXTRA} }" cdc_wait_kafka
  k=$drain_rate k_rss=$peak_mib k_cpu=$drain_cpu
  tansu_stop
  t_rss=$tansu_peak_mib
  psql_q -c "SELECT pg_drop_replication_slot(s) FROM unnest(ARRAY['bench_floor','bench_embedded','bench_kafka']) s" >/dev/null
  rf=$(awk -v a="$k" -v b="$f" 'BEGIN {printf "%.2f", a / b}')
  re=$(awk -v a="$k" -v b="$e" 'BEGIN {printf "%.2f", b ? a / b : 0}')
  echo "round $round: floor pg_recvlogical $f changes/s | embedded store $e changes/s (durable), peak RSS $e_rss MiB, CPU $e_cpu s" \
    "| Kafka store (Tansu, transactions) $k changes/s (visible, read_committed), peak RSS $k_rss MiB, CPU $k_cpu s; Tansu $t_rss MiB, CPU $tansu_cpu s" \
    "| Kafka / floor $rf, Kafka / embedded $re"
  echo "$f" >>"$work/floor"; echo "$e" >>"$work/embedded"; echo "$k" >>"$work/kafka"
  echo "$rf" >>"$work/ratio_floor"; echo "$re" >>"$work/ratio_embedded"
  echo "$e_rss" >>"$work/rss_embedded"; echo "$k_rss" >>"$work/rss_kafka"; echo "$t_rss" >>"$work/rss_tansu"
done
f=$(median <"$work/floor"); e=$(median <"$work/embedded"); k=$(median <"$work/kafka")
meets() { awk -v a="$1" -v t="$2" 'BEGIN {print (a >= t ? "meets" : "misses")}'; }
echo "median: floor $f | embedded $e | Kafka store $k changes/s;" \
  "Kafka / floor $(median <"$work/ratio_floor") ($(meets "$(median <"$work/ratio_floor")" 0.5) >= 0.50)," \
  "Kafka / embedded $(median <"$work/ratio_embedded") ($(meets "$(median <"$work/ratio_embedded")" 0.5) >= 0.50)" \
  "(medians of the rounds' ratios; ratios of the medians $(awk -v a="$k" -v b="$f" 'BEGIN {printf "%.2f", a / b}')" \
  "and $(awk -v a="$k" -v b="$e" 'BEGIN {printf "%.2f", b ? a / b : 0}'))"
rss=$(sort -n "$work/rss_kafka" | tail -1)
echo "peak RSS: worker on Kafka $rss MiB ($(awk -v r="$rss" 'BEGIN {print (r < 96 ? "meets" : "misses")}') < 96), on the embedded store $(sort -n "$work/rss_embedded" | tail -1) MiB, Tansu $(sort -n "$work/rss_tansu" | tail -1) MiB"
if [ "${LAT_ROUNDS:-3}" -gt 0 ]; then
  echo
  LAT_STORE=kafka bash Benchmarks/bench-cdc-latency.sh "$bin" "$url" "$work"
fi
