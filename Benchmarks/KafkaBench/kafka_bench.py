#!/usr/bin/env python3
"""The load of `make bench-kafka` against one broker, with confluent-kafka (librdkafka 2.16):
  1. produce: --records records of --size bytes (random, incompressible, no key) to a new topic of
     --partitions partitions, acks=all, linger.ms=5, enable.idempotence=true; the clock runs from
     the first produce_batch() to the end of flush(), i.e. until every record is acknowledged;
  2. consume: one consumer assigned every partition from the beginning (no group) reads them all;
     the clock runs from assign() to the last record;
  3. first assignment: a consumer of a fresh group subscribes; the clock runs from its creation
     to its first non-empty assignment.
--bootstrap HOST:PORT is the broker; --mock instead starts librdkafka's in-process mock cluster
(test.mock.num.brokers=1), the floor: the same generator with a broker that costs next to nothing.
The mock keeps only the newest records of a partition (about 40k here), so its consume figure is
over what it kept ("consumed"). Prints one JSON line:
  {"target", "records", "size", "partitions", "produce_s", "produce_rate", "enqueue_s", "produce_cpu_s",
   "consumed", "consume_s", "consume_rate", "consume_cpu_s", "first_assignment_s"}
Rates are records per second. enqueue_s is when the last produce() call returned (the generator's
own pace); *_cpu_s are this process's CPU seconds in the phase, so that a generator near its limit
shows (about 1 CPU-second per second is one saturated Python thread).
"""
import argparse
import json
import os
import resource
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def cpu():
    """CPU seconds of this process so far, every thread (librdkafka's, and the mock's) included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}), flush=True)
    print(f"kafka_bench.py: {msg}", file=sys.stderr)
    os._exit(1)


def create_topic(bootstrap, topic, partitions, mock):
    if mock:
        return  # the mock does not answer CreateTopics; it auto-creates topics with 4 partitions
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def produce(bootstrap, topic, records, size):
    """Seconds until every record is acknowledged, and until the last one was handed over. The
    records go in batches of 10,000 through produce_batch, and only failures get a delivery report:
    a produce() call and a Python callback per record would make the generator the bottleneck."""
    p = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": True,
        "delivery.report.only.error": True, "queue.buffering.max.messages": records + 10000,
    })
    errors = []

    def on_delivery(err, _msg):
        errors.append(err)

    value = os.urandom(size)
    start = time.monotonic()
    sent = 0
    while sent < records:
        batch = [{"value": value} for _ in range(min(10000, records - sent))]
        while batch:
            p.produce_batch(topic, batch, on_delivery=on_delivery)
            batch = [{"value": value} for m in batch if "_error" in m]  # not queued (queue full): again
            if batch:
                p.poll(0.01)
        sent += 10000
        p.poll(0)
    enqueued = time.monotonic() - start
    left = p.flush(300)
    seconds = time.monotonic() - start
    if left or errors:
        fail(f"produce: {left} records undelivered, {len(errors)} failed ({errors[:1]})")
    return seconds, enqueued


def consume(bootstrap, topic, records, mock):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-reader", "enable.auto.commit": False})
    partitions = c.list_topics(topic, timeout=10).topics[topic].partitions
    tps = [TopicPartition(topic, p) for p in partitions]
    if mock:  # what the mock kept (its watermarks are right; Tansu's are not, see Tests/Kafka/README.md)
        records = sum(hi - lo for lo, hi in (c.get_watermark_offsets(tp, timeout=10) for tp in tps))
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    n, start = 0, time.monotonic()
    last = start
    while n < records:
        msgs = c.consume(10000, 1.0)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
        if msgs:
            n += len(msgs)
            last = time.monotonic()
        elif time.monotonic() - last > 30:
            fail(f"consume: {n} of {records} records after 30 s without a record")
    c.close()
    return n, last - start


def first_assignment(bootstrap, topic):
    assigned = []
    start = time.monotonic()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-fresh-{os.getpid()}-{time.time_ns()}",
                  "auto.offset.reset": "latest", "enable.auto.commit": False})
    c.subscribe([topic], on_assign=lambda _c, tps: tps and assigned.append(time.monotonic()))
    while not assigned:
        c.poll(0.01)
        if time.monotonic() - start > 120:
            fail("first assignment: none within 120 s")
    c.close()
    return assigned[0] - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--bootstrap", help="host:port of the broker")
    target.add_argument("--mock", action="store_true", help="librdkafka's in-process mock cluster (the floor)")
    ap.add_argument("--topic", default="bench")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--produce-only", action="store_true",
                    help="stop after producing (to load a broker for another reader)")
    a = ap.parse_args()
    bootstrap = a.bootstrap
    if a.mock:
        holder = Producer({"test.mock.num.brokers": 1})  # owns the mock cluster for the whole run
        broker = next(iter(holder.list_topics(timeout=10).brokers.values()))
        bootstrap = f"{broker.host}:{broker.port}"
    create_topic(bootstrap, a.topic, a.partitions, a.mock)
    c0 = cpu()
    produce_s, enqueue_s = produce(bootstrap, a.topic, a.records, a.size)
    c1 = cpu()
    if a.produce_only:
        print(json.dumps({"ok": True, "target": a.bootstrap, "records": a.records, "produce_s": round(produce_s, 3),
                          "produce_rate": round(a.records / produce_s)}), flush=True)
        os._exit(0)
    consumed, consume_s = consume(bootstrap, a.topic, a.records, a.mock)
    c2 = cpu()
    assign_s = first_assignment(bootstrap, a.topic)
    print(json.dumps({
        "ok": True, "target": "mock" if a.mock else a.bootstrap, "records": a.records, "size": a.size,
        "partitions": a.partitions, "produce_s": round(produce_s, 3), "produce_rate": round(a.records / produce_s),
        "enqueue_s": round(enqueue_s, 3), "produce_cpu_s": round(c1 - c0, 3), "consume_cpu_s": round(c2 - c1, 3),
        "consumed": consumed, "consume_s": round(consume_s, 3), "consume_rate": round(consumed / consume_s),
        "first_assignment_s": round(assign_s, 3),
    }), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
