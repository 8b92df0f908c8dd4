#!/usr/bin/env python3
"""Commit-to-durable (or -visible) latency of CDC events, for Benchmarks/bench-cdc-latency.sh.

Long-polls the worker's admin API (GET /topics/{topic}/records?wait_ms=) from offset 0 and notes
when each record arrives. The embedded log lets readers see a record only once its batch is
fsynced (PartitionLog.markDurable runs after the sync), so arrival is after durability: the
figure is an upper bound of commit -> durable, including the HTTP round trip. The commit time is
the event's `source.ts_ms` (PostgreSQL's commit timestamp, truncated to the millisecond, so up to
1 ms more). Both clocks are this machine's.

With --kafka BOOTSTRAP (the worker on the Kafka store, bench-kafka-store.sh) it reads partition 0
of TOPIC from the beginning with confluent-kafka instead: isolation.level=read_committed, so a
record arrives once its transaction is committed and the broker's last stable offset has passed
it (commit -> visible), and fetch.wait.max.ms 10 (FETCH_WAIT_MS). Tansu answers a Fetch that finds
nothing only when its max wait is over (a produce or a commit does not wake it), so with
librdkafka's default of 500 ms a record committed while a fetch waits is seen up to 500 ms later
(median ~220 ms measured with a confluent-kafka transactional producer, whatever the writer);
10 ms keeps that under 10 ms. Run it with .build/kafka-venv/bin/python.

Usage: cdc-latency-consumer.py API TOPIC COUNT TIMEOUT_S
       cdc-latency-consumer.py --kafka BOOTSTRAP TOPIC COUNT TIMEOUT_S
Stops after COUNT records, TIMEOUT_S seconds, or 3 s without a new record once some came.
Prints one line: count, rate over the commit timestamps, p50, p99, max (ms) of commit -> arrival,
and p50, p99 of commit -> the record's timestamp (set when the connector built the record,
before its append: the part of the latency before the log).
"""
import os
import re
import sys
import time
import urllib.request

kafka = sys.argv[1] == "--kafka"
args = sys.argv[2:] if kafka else sys.argv[1:]
api, topic, count, timeout = args[0], args[1], int(args[2]), float(args[3])
commit_ms = re.compile(rb'"source":\{.*?"ts_ms":(\d+),')
# The record's own timestamp: when the connector built it from the change (before the append).
record_ms = re.compile(rb'"timestamp":(\d+)')
latencies = []
built = []
commits = []
deadline = time.time() + timeout
last = None


def note(arrived, value, timestamp):
    """Notes one change event (its Debezium envelope `value`) that arrived at `arrived` (ms)."""
    match = commit_ms.search(value)
    if match is None:
        return
    committed = int(match.group(1))
    commits.append(committed)
    latencies.append(arrived - committed)
    if timestamp is not None:
        built.append(timestamp - committed)


def read_admin_api():
    global last
    offset = 0
    while len(latencies) < count and time.time() < deadline:
        if last is not None and time.time() - last > 3:
            break
        url = f"{api}/topics/{topic}/records?partition=0&offset={offset}&limit=2000&wait_ms=1000&format=jsonl"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = response.read()
        except Exception:  # the topic does not exist until the first change
            time.sleep(0.01)
            continue
        arrived = time.time() * 1000
        if body.strip():
            last = arrived / 1000
        for line in body.splitlines():
            if not line or commit_ms.search(line) is None:
                continue
            stamp = record_ms.search(line)
            note(arrived, line, int(stamp.group(1)) if stamp is not None else None)
            offset += 1


def read_kafka():
    global last
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": api,
        "group.id": f"cdc-latency-{time.time_ns()}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": int(os.environ.get("FETCH_WAIT_MS", "10")),
    })
    # The topic exists once the connector wrote its first change.
    while time.time() < deadline:
        meta = consumer.list_topics(topic, timeout=5).topics.get(topic)
        if meta is not None and meta.error is None and meta.partitions:
            break
        time.sleep(0.01)
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    while len(latencies) < count and time.time() < deadline:
        if last is not None and time.time() - last > 3:
            break
        # poll() returns as soon as a record is there (consume(n) would wait for n or the
        # timeout); then whatever else is queued already.
        first = consumer.poll(0.5)
        if first is None:
            continue
        arrived = time.time() * 1000
        messages = [first] + consumer.consume(10000, timeout=0)
        for message in messages:
            if message.error() is not None or message.value() is None:
                continue
            last = arrived / 1000
            note(arrived, message.value(), message.timestamp()[1])
    consumer.close()


read_kafka() if kafka else read_admin_api()

if not latencies:
    print("count 0")
    sys.exit(1)
if os.environ.get("LAT_DUMP"):  # every record's commit time (ms) and latency, for a timeline
    with open(os.environ["LAT_DUMP"], "w") as dump:
        dump.writelines(f"{c} {l:.1f}\n" for c, l in zip(commits, latencies))
latencies.sort()
built.sort()


def percentile(p, values=latencies):
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


span = (max(commits) - min(commits)) / 1000 or 1
print(
    f"count {len(latencies)} rate {len(latencies) / span:.0f} "
    f"p50 {percentile(50):.1f} p99 {percentile(99):.1f} max {latencies[-1]:.1f} "
    f"built_p50 {percentile(50, built or [0]):.1f} built_p99 {percentile(99, built or [0]):.1f}"
)
