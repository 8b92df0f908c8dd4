#!/usr/bin/env bash
# `make rest-tools`: a virtualenv (.build/rest-venv) with the pinned REST tools of
# Tests/ConnectREST/requirements.txt — schemathesis, which checks the admin API against its
# OpenAPI description, kafka-connect-py, a Kafka Connect client, selenium, which drives
# Debian's chromium for the dashboard's browser test (Tests/Dashboard), and prometheus-client,
# whose parser reads `GET /metrics` (Tests/Metrics). Quick when done already: the
# venv is (re)made only when the requirements differ from the copy kept in it as a stamp, or when
# it cannot import the tools.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/install-packages.sh python3-venv
venv=.build/rest-venv
req=Tests/ConnectREST/requirements.txt
stamp=$venv/requirements.stamp
check() { "$venv/bin/python" -c 'import schemathesis, kafka_connect, selenium, prometheus_client' && "$venv/bin/st" --version; }
if cmp -s "$req" "$stamp" && check >/dev/null 2>&1; then
  exit 0
fi
echo "creating $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: -r "$req"
check
cp "$req" "$stamp"
