#!/usr/bin/env python3
"""Reads every partition of --topic from the beginning with confluent-kafka (librdkafka) and
isolation.level=read_committed until --timeout seconds pass with nothing new (--partitions: how
many; by default every partition the cluster lists), and prints one
JSON line: {"values": [the values as UTF-8 text, in partition then offset order]}.
Used by the tests to check that a read_committed reader that is not Sluice agrees."""
import argparse
import json
import time

from confluent_kafka import Consumer, TopicPartition

p = argparse.ArgumentParser()
p.add_argument("--bootstrap", required=True)
p.add_argument("--topic", required=True)
p.add_argument("--partitions", type=int, default=0, help="0: every partition the cluster lists")
p.add_argument("--timeout", type=float, default=3.0)
a = p.parse_args()

consumer = Consumer({
    "bootstrap.servers": a.bootstrap,
    "group.id": "read-committed-check",
    "isolation.level": "read_committed",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
partitions = a.partitions or len(consumer.list_topics(a.topic, timeout=10).topics[a.topic].partitions)
consumer.assign([TopicPartition(a.topic, i, 0) for i in range(partitions)])
records = []
last = time.monotonic()
while time.monotonic() - last < a.timeout:
    message = consumer.poll(0.2)
    if message is None or message.error():
        continue
    value = message.value()  # None for a tombstone
    records.append((message.partition(), message.offset(), (value or b"").decode(errors="replace")))
    last = time.monotonic()
consumer.close()
print(json.dumps({"values": [v for _, _, v in sorted(records)]}))
