#!/usr/bin/env python3
"""The broker's floor under bench-kafka-store.sh's latency figure: the same stream as the CDC
connector writes, from librdkafka instead of Sluice, to the same kind of fresh Tansu.

RATE records/s (10,000) are "committed upstream" on a schedule (one every 1/RATE s); a
confluent-kafka transactional producer (confluent-kafka 2.16.1, linger.ms 0, acks all) writes,
in one transaction each, every record due so far plus a position record to a 25-partition
offsets topic (what a Sluice source transaction holds), commits, and starts again at once — as
a source task with one send in flight does. Each value is shaped like a Debezium envelope
(`{"source":{"ts_ms":DUE},...}`, about the CDC event's size), so cdc-latency-consumer.py
--kafka reads the topic unchanged and reports due -> visible to a read_committed consumer.

Usage: kafka-txn-floor.py BOOTSTRAP TOPIC RATE SECONDS   (run with .build/kafka-venv/bin/python)
Prints one line: transactions, records, the mean records per transaction.
"""
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
offsets_topic = f"{topic}-offsets"
admin = AdminClient({"bootstrap.servers": bootstrap})
for name, partitions in [(topic, 1), (offsets_topic, 25)]:
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result()
producer = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": f"floor-{time.time_ns()}",
    "linger.ms": 0,
})
producer.init_transactions()
pad = "x" * 300
start = time.time()
sent = 0
transactions = 0
while True:
    now = time.time()
    if now - start >= seconds:
        break
    due = min(int((now - start) * rate), int(seconds * rate))
    if due == sent:
        time.sleep(0.0005)
        continue
    producer.begin_transaction()
    for index in range(sent, due):
        due_ms = int((start + index / rate) * 1000)
        value = f'{{"before":null,"after":{{"id":{index},"pad":"{pad}"}},"source":{{"ts_ms":{due_ms},"db":"floor"}},"op":"c"}}'
        producer.produce(topic, key=f'{{"id":{index}}}'.encode(), value=value.encode())
    producer.produce(offsets_topic, partition=7, key=b'["floor",{}]', value=f'{{"n":{due}}}'.encode())
    producer.commit_transaction()
    transactions += 1
    sent = due
print(f"transactions {transactions} records {sent} per_transaction {sent / max(transactions, 1):.1f}")
