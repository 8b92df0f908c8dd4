#!/usr/bin/env python3
"""Commit-to-durable latency of CDC events, for Benchmarks/bench-cdc-latency.sh.

Long-polls the worker's admin API (GET /topics/{topic}/records?wait_ms=) from offset 0 and notes
when each record arrives. The embedded log lets readers see a record only once its batch is
fsynced (PartitionLog.markDurable runs after the sync), so arrival is after durability: the
figure is an upper bound of commit -> durable, including the HTTP round trip. The commit time is
the event's `source.ts_ms` (PostgreSQL's commit timestamp, truncated to the millisecond, so up to
1 ms more). Both clocks are this machine's.

Usage: cdc-latency-consumer.py API TOPIC COUNT TIMEOUT_S
Stops after COUNT records, TIMEOUT_S seconds, or 3 s without a new record once some came.
Prints one line: count, rate over the commit timestamps, p50, p99, max (ms) of commit -> arrival,
and p50, p99 of commit -> the record's timestamp (set when the connector built the record,
before its append: the part of the latency before the log).
"""
import re
import sys
import time
import urllib.request

api, topic, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
commit_ms = re.compile(rb'"source":\{.*?"ts_ms":(\d+),')
# The record's own timestamp: when the connector built it from the change (before the append).
record_ms = re.compile(rb'"timestamp":(\d+)')
latencies = []
built = []
commits = []
offset = 0
deadline = time.time() + timeout
last = None
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
        if not line:
            continue
        match = commit_ms.search(line)
        if match is None:
            continue
        committed = int(match.group(1))
        commits.append(committed)
        latencies.append(arrived - committed)
        stamp = record_ms.search(line)
        if stamp is not None:
            built.append(int(stamp.group(1)) - committed)
        offset += 1

if not latencies:
    print("count 0")
    sys.exit(1)
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
