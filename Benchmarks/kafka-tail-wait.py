#!/usr/bin/env python3
"""Waits until a read_committed consumer sees a record with a given key in partition 0 of a topic,
for bench-kafka-store.sh's backlog drain (the end of the drain on the Kafka store: the last row's
change event visible, so its transaction is committed).

It reads only the partition's tail, so that it takes next to no CPU from the worker and the broker
while they drain: every 50 ms it asks for the high watermark and, when it moved, reassigns itself
to the last TAIL (8) offsets (the last data record of a transaction sits just below its commit
marker); between those it keeps fetching (fetch.wait.max.ms 20). A record of an open transaction
is not returned to a read_committed consumer until the commit, so the key is seen at most about
one fetch after the commit.

Usage: kafka-tail-wait.py BOOTSTRAP TOPIC KEY TIMEOUT_S   (run with .build/kafka-venv/bin/python)
Exits 0 once the key is seen, 1 after TIMEOUT_S.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

TAIL = 8
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
assigned_at = None
checked = 0.0
while time.time() < deadline:
    if time.time() - checked >= 0.05:
        checked = time.time()
        try:
            _, high = consumer.get_watermark_offsets(partition, timeout=1, cached=False)
        except KafkaException:  # the topic does not exist until the first change
            time.sleep(0.05)
            continue
        if high > 0 and high != assigned_at:
            consumer.assign([TopicPartition(topic, 0, max(0, high - TAIL))])
            assigned_at = high
    if assigned_at is None:
        time.sleep(0.05)
        continue
    message = consumer.poll(0.05)  # returns as soon as a record is there
    while message is not None:
        if message.error() is None and message.key() == key:
            sys.exit(0)
        message = consumer.poll(0)
sys.exit(1)
