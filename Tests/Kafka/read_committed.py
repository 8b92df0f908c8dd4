#!/usr/bin/env python3
"""Reads every partition of --topic from the beginning with confluent-kafka (librdkafka) and
isolation.level=read_committed until --timeout seconds pass with nothing new (--partitions: how
many; by default every partition the cluster lists), and prints one
JSON line: {"values": [the values as UTF-8 text, in partition then offset order],
"records": [{"partition", "offset", "key", "value"} in the same order, key and value as text or
null]}.
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


def text(data):
    """Bytes as UTF-8 text; None (a tombstone's value, a record without key) stays None."""
    return None if data is None else data.decode(errors="replace")


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
    records.append((message.partition(), message.offset(), text(message.key()), text(message.value())))
    last = time.monotonic()
consumer.close()
records.sort(key=lambda r: (r[0], r[1]))
print(json.dumps({
    "values": [v or "" for _, _, _, v in records],
    "records": [{"partition": p, "offset": o, "key": k, "value": v} for p, o, k, v in records],
}))
