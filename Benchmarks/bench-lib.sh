# Helpers the CDC benchmarks share; sourced by them, not run. `bench_setup` builds the release
# binary ($bin), starts throwaway PostgreSQL and mosquitto servers ($url) and makes a scratch
# folder ($work); `bench_cleanup` (the EXIT trap) stops a running $worker and $sampler and
# removes only what `bench_setup` made.
export PATH="$PATH:/opt/swift/usr/bin"
worker=""
sampler=""
bench_servers=""
bench_work=""

psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$url" -XAtq -v ON_ERROR_STOP=1 "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bench_cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$worker" ] && kill "$worker" 2>/dev/null || true
  [ -n "$bench_servers" ] && bash Tests/Servers/stop.sh "$bench_servers" >/dev/null 2>&1 || true
  [ -n "$bench_work" ] && rm -rf "$bench_work"
  return 0
}
trap bench_cleanup EXIT

bench_setup() {
  swift build -c release --static-swift-stdlib --product sluice >/dev/null
  bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
  bench_work=$(mktemp -d "$PWD/.bench.XXXXXX")
  work=$bench_work
  bench_servers=$(mktemp -d /tmp/sluice-bench-servers.XXXXXX)
  bash Tests/Servers/start.sh "$bench_servers" >/dev/null
  # shellcheck disable=SC1091
  source "$bench_servers/env"
  url=$SLUICE_TEST_PG_URL
}
