#!/usr/bin/env python3
"""Consume a topic of scheme records (scheme.py) with one of three Kafka clients until --expect
records have come (then --settle seconds more, to catch extra ones) or --timeout passes.
Without --group every partition is assigned by hand; with --group the consumer subscribes
(classic group), commits what it read and reports the committed offsets. --from is the start:
`beginning`, or `timestamp:MS` (ListOffsets by timestamp: the first record with timestamp >= MS).
Prints one JSON line: the digest of scheme.Digest.summary() (count, per partition first/last
offset, offsets_ordered, contiguous, indices_ordered; keys_ok, values_ok, headers_ok,
timestamps_ok; duplicate_offsets, duplicate_indices, min_index, max_index, base_ts) plus
  {"ok", "client", "topic", "expected", "from", "group", "seconds",
   "first_assignment_s" (group only), "committed": {"<p>": offset} (group only)}
Exits 1 if fewer or more than --expect records came or a check failed, 2 if the watchdog fired.
"""
import argparse
import asyncio
import time

import scheme


def start_offsets_spec(a):
    if a.start == "beginning":
        return None
    kind, _, ms = a.start.partition(":")
    if kind != "timestamp" or not ms.isdigit():
        raise SystemExit(f"--from must be 'beginning' or 'timestamp:MS', not {a.start!r}")
    return int(ms)


class Run:
    """Shared loop state: the digest, the deadline, the assignment clock."""

    def __init__(self, a, ts):
        self.a, self.ts = a, ts
        self.digest = scheme.Digest(min_timestamp=ts, base_ts=a.base_ts)
        self.t0 = time.monotonic()
        self.deadline = self.t0 + a.timeout
        self.assigned_at = None
        self.reached_at = None

    def assigned(self):
        if self.assigned_at is None:
            self.assigned_at = time.monotonic()

    def done(self):
        """True when the loop should stop: enough records plus the settle time, or the timeout."""
        now = time.monotonic()
        if self.reached_at is None and len(self.digest) >= self.a.expect and (self.assigned_at or not self.a.group):
            self.reached_at = now
        return now >= self.deadline or (self.reached_at is not None and now - self.reached_at >= self.a.settle)


def confluent(a, run):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group or "skt-unused",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
    })

    def positions(tps):
        if run.ts is None:
            return [TopicPartition(a.topic, tp.partition, OFFSET_BEGINNING) for tp in tps]
        found = c.offsets_for_times([TopicPartition(a.topic, tp.partition, run.ts) for tp in tps], timeout=10)
        for tp in found:
            if tp.error:
                raise KafkaException(tp.error)
        return found

    if a.group:
        def on_assign(consumer, tps):
            if tps:
                run.assigned()
            if run.ts is not None:
                consumer.assign(positions(tps))

        c.subscribe([a.topic], on_assign=on_assign)
    else:
        while True:
            md = c.list_topics(a.topic, timeout=5).topics[a.topic]
            if md.error is None and md.partitions:
                break
            if time.monotonic() > run.deadline:
                raise TimeoutError(f"topic {a.topic}: {md.error}")
            time.sleep(0.2)
        c.assign(positions([TopicPartition(a.topic, p) for p in md.partitions]))
    while not run.done():
        for m in c.consume(1000, 0.2):
            if m.error():
                raise KafkaException(m.error())
            run.digest.add(m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1])
    committed = None
    if a.group and c.assignment():
        if len(run.digest):
            c.commit(asynchronous=False)
        committed = {str(tp.partition): tp.offset for tp in c.committed(c.assignment(), timeout=10)}
    c.close()
    return committed


def kafka_python(a, run):
    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=a.bootstrap, group_id=a.group, enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=10000, consumer_timeout_ms=1000,
    )

    def seek(tps):
        if run.ts is None:
            c.seek_to_beginning(*tps)
            return
        for tp, found in c.offsets_for_times({tp: run.ts for tp in tps}).items():
            if found is None:
                c.seek_to_end(tp)
            else:
                c.seek(tp, found.offset)

    if a.group:
        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                if assigned:
                    run.assigned()
                if run.ts is not None:
                    seek(list(assigned))

        c.subscribe([a.topic], listener=Listener())
    else:
        while not c.partitions_for_topic(a.topic):
            if time.monotonic() > run.deadline:
                raise TimeoutError(f"topic {a.topic} not found")
            time.sleep(0.2)
        tps = [TopicPartition(a.topic, p) for p in sorted(c.partitions_for_topic(a.topic))]
        c.assign(tps)
        seek(tps)
    while not run.done():
        for tp, ms in c.poll(timeout_ms=200).items():
            for m in ms:
                run.digest.add(tp.partition, m.offset, m.key, m.value, m.headers, m.timestamp)
    committed = None
    if a.group and c.assignment():
        if len(run.digest):
            c.commit()
        committed = {str(tp.partition): c.committed(tp) for tp in sorted(c.assignment())}
    c.close()
    return committed


def aiokafka(a, run):
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

    async def main():
        c = AIOKafkaConsumer(
            bootstrap_servers=a.bootstrap, group_id=a.group, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=10000,
        )
        await c.start()

        async def seek(tps):
            if run.ts is None:
                await c.seek_to_beginning(*tps)
                return
            for tp, found in (await c.offsets_for_times({tp: run.ts for tp in tps})).items():
                if found is None:
                    await c.seek_to_end(tp)
                else:
                    c.seek(tp, found.offset)

        try:
            if a.group:
                class Listener(ConsumerRebalanceListener):
                    async def on_partitions_revoked(self, revoked):
                        pass

                    async def on_partitions_assigned(self, assigned):
                        if assigned:
                            run.assigned()
                        if run.ts is not None:
                            await seek(list(assigned))

                c.subscribe([a.topic], listener=Listener())
            else:
                while not c.partitions_for_topic(a.topic):
                    if time.monotonic() > run.deadline:
                        raise TimeoutError(f"topic {a.topic} not found")
                    await c._client.force_metadata_update()  # no public call asks for one topic's metadata
                    await asyncio.sleep(0.2)
                tps = [TopicPartition(a.topic, p) for p in sorted(c.partitions_for_topic(a.topic))]
                c.assign(tps)
                await seek(tps)
            while not run.done():
                for tp, ms in (await c.getmany(timeout_ms=200)).items():
                    for m in ms:
                        run.digest.add(tp.partition, m.offset, m.key, m.value, m.headers, m.timestamp)
            committed = None
            if a.group and c.assignment():
                if len(run.digest):
                    await c.commit()
                committed = {str(tp.partition): await c.committed(tp) for tp in sorted(c.assignment())}
            return committed
        finally:
            await c.stop()

    return asyncio.run(main())


CLIENTS = {"confluent": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="host:port")
    ap.add_argument("--client", choices=CLIENTS, default="confluent")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--from", dest="start", default="beginning", help="beginning | timestamp:MS")
    ap.add_argument("--expect", type=int, required=True, help="records expected")
    ap.add_argument("--group", help="consume as a member of this group (subscribe), and commit")
    ap.add_argument("--base-ts", type=int, help="also require this base timestamp (produce.py's base_ts)")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to wait for extra records after --expect")
    a = ap.parse_args()
    scheme.watchdog(a.timeout + a.settle + 30, "consume")
    run = Run(a, start_offsets_spec(a))
    committed = CLIENTS[a.client](a, run)
    result = run.digest.summary()
    result.update({
        "client": a.client, "topic": a.topic, "expected": a.expect, "from": a.start, "group": a.group,
        "seconds": round(time.monotonic() - run.t0, 3),
    })
    if a.group:
        result["first_assignment_s"] = round(run.assigned_at - run.t0, 3) if run.assigned_at else None
        result["committed"] = committed
    problems = []
    if result["count"] != a.expect:
        problems.append(f"{result['count']} records read, {a.expect} expected")
    if a.group and run.assigned_at is None:
        problems.append("no partition was ever assigned")
    for check in ("keys_ok", "values_ok", "headers_ok", "timestamps_ok"):
        if not result[check]:
            problems.append(f"{check} is false: {result['examples']}")
    if result["duplicate_offsets"] or result["duplicate_indices"]:
        problems.append(f"duplicates: {result['duplicate_offsets']} offsets, {result['duplicate_indices']} indices")
    for p, d in result["partitions"].items():
        if not (d["offsets_ordered"] and d["indices_ordered"]):
            problems.append(f"partition {p} out of order")
    scheme.finish(result, problems)


if __name__ == "__main__":
    scheme.guarded(main)
