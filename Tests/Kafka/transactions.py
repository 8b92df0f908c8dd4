#!/usr/bin/env python3
"""Kafka transactions through a broker with confluent-kafka (librdkafka 2.16), one scenario per
run (--scenario). Prints one JSON line with "ok" (and "problems" when not ok); exits 0 when every
check held, 1 when one did not, 2 when the watchdog fired.

  commit-abort  a transactional producer commits 10 records, aborts 10, commits 5 more (over 2
                partitions); a read_committed consumer must see exactly the 15 committed, a
                read_uncommitted one all 25.
  fence         a second producer with the same transactional.id fences the first: the first's
                open transaction is aborted and its commit fails as fenced; the second commits.
  offsets       send_offsets_to_transaction: the group's offset is committed with the
                transaction and only then; an aborted transaction's offsets are dropped.
  open          leaves a transaction open: produces --count records in it, flushes, and exits
                without ending it (as a crashed producer would). --timeout-ms sets its timeout.
  read          reads --topic (all partitions, --partitions) with --isolation from the start
                until nothing new comes for --settle seconds: {"values": [...]} in
                partition/offset order.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

p = argparse.ArgumentParser()
p.add_argument("--bootstrap", required=True)
p.add_argument("--scenario", required=True)
p.add_argument("--topic", default="txn")
p.add_argument("--partitions", type=int, default=2)
p.add_argument("--txid", default="tx-1")
p.add_argument("--count", type=int, default=10)
p.add_argument("--timeout-ms", type=int, default=60000)
p.add_argument("--isolation", default="read_committed")
p.add_argument("--settle", type=float, default=2.0)
p.add_argument("--watchdog", type=float, default=90.0)
a = p.parse_args()

problems = []
result = {"scenario": a.scenario}


def watchdog():
    time.sleep(a.watchdog)
    print(json.dumps({"ok": False, "problems": ["watchdog fired"], **result}), flush=True)
    os._exit(2)


threading.Thread(target=watchdog, daemon=True).start()


def create(topic, partitions):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)])
    for f in futures.values():
        try:
            f.result(15)
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def producer(txid, timeout_ms=None):
    prod = Producer({
        "bootstrap.servers": a.bootstrap,
        "transactional.id": txid,
        "transaction.timeout.ms": timeout_ms or a.timeout_ms,
        "linger.ms": 5,
    })
    prod.init_transactions(30)
    return prod


def send(prod, topic, prefix, count, partitions):
    for i in range(count):
        prod.produce(topic, f"{prefix}-{i}".encode(), partition=i % partitions)
    prod.flush(30)


def read(topic, partitions, isolation, settle, group="txn-reader"):
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": group,
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.assign([TopicPartition(topic, i, 0) for i in range(partitions)])
    records = []
    last = time.monotonic()
    while time.monotonic() - last < settle:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        records.append((m.partition(), m.offset(), m.value().decode()))
        last = time.monotonic()
    c.close()
    return [v for _, _, v in sorted(records)]


def expect(name, got, want):
    result[name] = got
    if got != want:
        problems.append(f"{name}: got {got!r}, want {want!r}")


def committed_offset(group, topic, partition, isolation="read_committed", timeout=15):
    """The group's committed offset; with read_committed, librdkafka asks for stable offsets
    (require_stable) and keeps asking while one is pending in a transaction: None if it gave up."""
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": group,
                  "isolation.level": isolation, "enable.auto.commit": False})
    try:
        tp = c.committed([TopicPartition(topic, partition)], timeout=timeout)[0]
        return tp.offset if not tp.error else None
    except KafkaException:
        return None
    finally:
        c.close()


if a.scenario == "commit-abort":
    create(a.topic, a.partitions)
    prod = producer(a.txid)
    prod.begin_transaction()
    send(prod, a.topic, "committed", 10, a.partitions)
    prod.commit_transaction(30)
    prod.begin_transaction()
    send(prod, a.topic, "aborted", 10, a.partitions)
    prod.abort_transaction(30)
    prod.begin_transaction()
    send(prod, a.topic, "again", 5, a.partitions)
    prod.commit_transaction(30)
    committed = read(a.topic, a.partitions, "read_committed", a.settle)
    uncommitted = read(a.topic, a.partitions, "read_uncommitted", a.settle)
    expect("committed", sorted(committed),
           sorted([f"committed-{i}" for i in range(10)] + [f"again-{i}" for i in range(5)]))
    expect("uncommitted_count", len(uncommitted), 25)
elif a.scenario == "fence":
    create(a.topic, a.partitions)
    first = producer(a.txid)
    first.begin_transaction()
    send(first, a.topic, "zombie", 4, a.partitions)
    second = producer(a.txid)  # bumps the epoch: the first is fenced, its transaction aborted
    fenced = None
    try:
        first.produce(a.topic, b"zombie-late", partition=0)
        first.flush(10)
        first.commit_transaction(15)
    except KafkaException as e:
        fenced = e.args[0]
    result["first_error"] = str(fenced)
    if fenced is None:
        problems.append("the fenced producer committed")
    elif not (fenced.fatal() or "fenced" in str(fenced).lower() or "epoch" in str(fenced).lower()):
        problems.append(f"the first producer failed, but not as fenced: {fenced}")
    second.begin_transaction()
    send(second, a.topic, "winner", 4, a.partitions)
    second.commit_transaction(30)
    expect("committed", sorted(read(a.topic, a.partitions, "read_committed", a.settle)),
           sorted(f"winner-{i}" for i in range(4)))
elif a.scenario == "offsets":
    source, sink, group = a.topic + "-in", a.topic + "-out", a.topic + "-group"
    create(source, 1)
    create(sink, 1)
    plain = Producer({"bootstrap.servers": a.bootstrap})
    for i in range(30):
        plain.produce(source, f"in-{i}".encode(), partition=0)
    plain.flush(30)
    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(source, 0, 0)])
    prod = producer(a.txid)
    # Transaction 1: records 0-9 processed, offset 10 committed with the output.
    prod.begin_transaction()
    send(prod, sink, "out-a", 10, 1)
    prod.send_offsets_to_transaction([TopicPartition(source, 0, 10)],
                                     consumer.consumer_group_metadata(), 30)
    result["before_commit"] = committed_offset(group, source, 0, "read_uncommitted")
    if result["before_commit"] is None or result["before_commit"] >= 0:
        problems.append(f"offset committed before the transaction: {result['before_commit']}")
    # A read_committed consumer is not given an offset while one is pending (KIP-447).
    result["stable_before_commit"] = committed_offset(group, source, 0, timeout=2)
    if result["stable_before_commit"] is not None:
        problems.append(f"a pending offset was not unstable: {result['stable_before_commit']}")
    prod.commit_transaction(30)
    expect("after_commit", committed_offset(group, source, 0), 10)
    # Transaction 2: aborted, its offset 20 dropped.
    prod.begin_transaction()
    send(prod, sink, "out-b", 10, 1)
    prod.send_offsets_to_transaction([TopicPartition(source, 0, 20)],
                                     consumer.consumer_group_metadata(), 30)
    prod.abort_transaction(30)
    expect("after_abort", committed_offset(group, source, 0), 10)
    consumer.close()
    expect("output", sorted(read(sink, 1, "read_committed", a.settle)),
           sorted(f"out-a-{i}" for i in range(10)))
elif a.scenario == "open":
    create(a.topic, a.partitions)
    prod = producer(a.txid)
    prod.begin_transaction()
    send(prod, a.topic, "open", a.count, a.partitions)
    result["ok"] = True
    print(json.dumps(result), flush=True)
    # Gone without a word, as a crashed producer: no EndTxn, no close.
    os.kill(os.getpid(), signal.SIGKILL)
elif a.scenario == "read":
    result["values"] = read(a.topic, a.partitions, a.isolation, a.settle)
else:
    problems.append(f"unknown scenario {a.scenario}")

result["ok"] = not problems
if problems:
    result["problems"] = problems
print(json.dumps(result), flush=True)
sys.exit(0 if not problems else 1)
