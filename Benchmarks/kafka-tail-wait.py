#!/usr/bin/env python3
"""Waits until a read_committed consumer sees a record with a given key in partition 0 of a topic,
for bench-kafka-store.sh's backlog drain (the end of the drain on the Kafka store: the last row's
change event visible, so its transaction is committed).

It reads only the partition's tail, so that it takes next to no CPU from the worker and the broker
while they drain: every 50 ms it asks for the high watermark; while it moves the consumer is not
assigned, and once it stood still for one check the consumer reads from TAIL (5,000) offsets below
it — more than one transaction of the CDC source holds (chunks of at most 4,096 changes), so the
last transaction's batches are read whole even from a broker that answers a fetch from the middle
of a batch with the batches after it. A record of an open transaction is not returned to a
read_committed consumer until the commit, whose marker moves the high watermark once more.

Usage: kafka-tail-wait.py BOOTSTRAP TOPIC KEY TIMEOUT_S   (run with .build/kafka-venv/bin/python)
Exits 0 once the key is seen, 1 after TIMEOUT_S.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

TAIL = 5000
bootstrap, topic, key, timeout = sys.argv[1], sys.argv[2], sys.argv[3].encode(), float(sys.argv[4])
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"tail-wait-{time.time_ns()}",
    "enable.auto.commit": False,
    "isolation.level": "read_committed",
    "fetch.wait.max.ms": 20,
})
deadline = time.time() + timeout
partition = TopicPartition(topic, 0)
last_high = None
assigned = False
while time.time() < deadline:
    try:
        _, high = consumer.get_watermark_offsets(partition, timeout=1, cached=False)
    except KafkaException:  # the topic does not exist until the first change
        time.sleep(0.05)
        continue
    if high != last_high:
        if assigned:
            consumer.unassign()
            assigned = False
        last_high = high
    elif high > 0 and not assigned:
        consumer.assign([TopicPartition(topic, 0, max(0, high - TAIL))])
        assigned = True
    if not assigned:
        time.sleep(0.05)
        continue
    checked = time.time()
    while time.time() - checked < 0.05:
        message = consumer.poll(0.05)  # returns as soon as a record is there
        if message is not None and message.error() is None and message.key() == key:
            sys.exit(0)
print(f"kafka-tail-wait: no record with key {key!r} in {topic} within {timeout} s (high watermark {last_high})", file=sys.stderr)
sys.exit(1)
