#!/usr/bin/env bash
# `make kafka-tools`: kcat, and librdkafka-dev with gcc for the mock cluster of
# Tests/Kafka/mock-cluster, from Debian; and a virtualenv (.build/kafka-venv) with the pinned Kafka
# clients of Tests/Kafka/requirements.txt. Quick when done already: the venv is (re)made only when
# the requirements differ from the copy kept in it as a stamp, or when it cannot import the clients.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/install-packages.sh kcat python3-venv librdkafka-dev gcc
venv=.build/kafka-venv
req=Tests/Kafka/requirements.txt
stamp=$venv/requirements.stamp
if cmp -s "$req" "$stamp" && "$venv/bin/python" -c 'import confluent_kafka, kafka, aiokafka, snappy, lz4.frame, zstandard, cramjam' 2>/dev/null; then
  exit 0
fi
echo "creating $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: -r "$req"
"$venv/bin/python" -c 'import confluent_kafka, kafka, aiokafka, snappy, lz4.frame, zstandard, cramjam'
cp "$req" "$stamp"
