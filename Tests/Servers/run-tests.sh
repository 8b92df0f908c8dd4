#!/usr/bin/env bash
# `make test`: real PostgreSQL and mosquitto in a temporary folder, then `swift test`; the servers
# are stopped whatever happens. TEST_FILTER narrows the run (swift test --filter).
set -euo pipefail
cd "$(dirname "$0")/../.."
servers=$(mktemp -d /tmp/sluice-servers.XXXXXX)
trap 'bash Tests/Servers/stop.sh "$servers"' EXIT INT TERM
bash Tests/Servers/start.sh "$servers"
# shellcheck disable=SC1091
source "$servers/env"
swift build --build-tests
SLUICE_BIN="$(swift build --show-bin-path)/sluice"
export SLUICE_BIN
if [ -n "${TEST_FILTER:-}" ]; then
  swift test --skip-build --filter "$TEST_FILTER"
else
  swift test --skip-build
fi
