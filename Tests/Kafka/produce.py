#!/usr/bin/env python3
"""Produce --count records of the scheme (scheme.py) with one of three Kafka clients and wait for
every delivery report. Prints one JSON line:
  {"ok", "client", "topic", "count", "delivered", "failed", "errors": [first few],
   "partitions": {"<p>": [first offset, last offset]}, "base_ts", "seconds", ...the options}
With --acks 0 the broker does not answer: no offsets are known and "partitions" is empty.
Exits 1 if a record was not delivered, 2 if the watchdog fired (--timeout plus a margin).
"""
import argparse
import asyncio
import time

import scheme


def confluent(a, records, report):
    from confluent_kafka import Producer

    conf = {
        "bootstrap.servers": a.bootstrap,
        "acks": a.acks,
        "enable.idempotence": a.idempotent,
        "compression.type": a.compression,
        "linger.ms": 5,
        "message.timeout.ms": int(a.timeout * 1000),
    }
    p = Producer(conf)

    def on_delivery(err, msg):
        offset = msg.offset()  # None with acks=0: the broker does not answer
        report(str(err) if err else None, msg.partition(), -1 if offset is None else offset)

    for k, v, hs, ts in records:
        while True:
            try:
                p.produce(a.topic, v, k, headers=hs, timestamp=ts, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(a.timeout)
    if left:
        raise TimeoutError(f"{left} records still undelivered after {a.timeout} s")


def kafka_python(a, records, report):
    from kafka import KafkaProducer

    p = KafkaProducer(
        bootstrap_servers=a.bootstrap,
        acks="all" if a.acks == "all" else int(a.acks),
        enable_idempotence=a.idempotent,
        compression_type=None if a.compression == "none" else a.compression,
        linger_ms=5,
        request_timeout_ms=min(30000, int(a.timeout * 500)),
        delivery_timeout_ms=int(a.timeout * 1000),
    )
    for k, v, hs, ts in records:
        f = p.send(a.topic, value=v, key=k, headers=hs, timestamp_ms=ts)
        f.add_callback(lambda md: report(None, md.partition, md.offset))
        f.add_errback(lambda e: report(repr(e), -1, -1))
    p.flush(a.timeout)
    p.close(timeout=5)


def aiokafka(a, records, report):
    from aiokafka import AIOKafkaProducer

    async def run():
        p = AIOKafkaProducer(
            bootstrap_servers=a.bootstrap,
            acks="all" if a.acks == "all" else int(a.acks),
            enable_idempotence=a.idempotent,
            compression_type=None if a.compression == "none" else a.compression,
            linger_ms=5,
            request_timeout_ms=int(a.timeout * 1000),
        )
        await p.start()
        try:
            futures = [await p.send(a.topic, value=v, key=k, headers=hs, timestamp_ms=ts) for k, v, hs, ts in records]
            for f in asyncio.as_completed(futures):
                try:
                    md = await f  # None with acks=0
                    report(None, md.partition if md else -1, md.offset if md else -1)
                except Exception as e:  # noqa: BLE001 - a failed delivery is counted, not raised
                    report(repr(e), -1, -1)
        finally:
            await p.stop()

    asyncio.run(asyncio.wait_for(run(), a.timeout))


CLIENTS = {"confluent": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="host:port")
    ap.add_argument("--client", choices=CLIENTS, default="confluent")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--compression", choices=["none", "gzip", "snappy", "lz4", "zstd"], default="none")
    ap.add_argument("--idempotent", action="store_true", help="enable.idempotence (needs --acks all)")
    ap.add_argument("--acks", choices=["0", "1", "all"], default="all")
    ap.add_argument("--keys", action="store_true", help="key record i with b'key-<i>'")
    ap.add_argument("--headers", action="store_true", help="three headers per record (scheme.py)")
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("--base-ts", type=int, help="base timestamp in ms (default: now - count)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds for every delivery report")
    a = ap.parse_args()
    scheme.watchdog(a.timeout + 30, "produce")
    base = a.base_ts if a.base_ts is not None else scheme.base_timestamp(a.count)
    records = [
        (
            scheme.key(i) if a.keys else None,
            scheme.value(i, base, a.keys, a.headers, a.value_bytes),
            scheme.headers(i) if a.headers else None,
            scheme.timestamp(i, base),
        )
        for i in range(a.count)
    ]
    delivered, errors, partitions = [0], [], {}

    def report(err, partition, offset):
        if err:
            errors.append(err)
            return
        delivered[0] += 1
        if offset < 0:
            return  # acks=0: no offset is known
        first, last = partitions.get(partition, (offset, offset))
        partitions[partition] = (min(first, offset), max(last, offset))

    start = time.monotonic()
    CLIENTS[a.client](a, records, report)
    result = {
        "client": a.client, "topic": a.topic, "count": a.count, "delivered": delivered[0],
        "failed": len(errors), "errors": sorted(set(errors))[:5], "base_ts": base,
        "partitions": {str(p): list(partitions[p]) for p in sorted(partitions)},
        "compression": a.compression, "acks": a.acks, "idempotent": a.idempotent,
        "keys": a.keys, "headers": a.headers, "value_bytes": a.value_bytes,
        "seconds": round(time.monotonic() - start, 3),
    }
    problems = []
    if errors:
        problems.append(f"{len(errors)} records failed: {result['errors']}")
    if delivered[0] != a.count:
        problems.append(f"{delivered[0]} of {a.count} records delivered")
    scheme.finish(result, problems)


if __name__ == "__main__":
    scheme.guarded(main)
