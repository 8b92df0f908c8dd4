#!/usr/bin/env python3
"""A classic consumer group under change: 3 confluent-kafka consumers (c1-c3) read a new topic of
--partitions partitions (6) while a producer writes --records scheme records (keys and headers,
idempotent, acks=all) over --produce-seconds; once a third of the records is read a 4th consumer
(c4) joins, once two thirds are read c1 leaves (close: LeaveGroup). Every consumer commits
synchronously after each batch it handles, so each record must be read exactly once in the group.
At the end a fresh consumer of the group reads the committed offsets, which must equal the last
offset read + 1 in every partition ("read_end"), and so must the broker's end offsets (ListOffsets
latest). Prints one JSON line:
  {"ok", "topic", "group", "records", "delivered", "consumed", "unique", "duplicates", "missing",
   "first_assignment_s" (from the consumers' start to the first non-empty assignment),
   "stable_s" (until c1-c3 together hold every partition),
   "rebalances": [{"event": "join c4" | "leave c1", "at_s", "seconds"}],
   "members": {"c1": {"records", "assignments"}}, "committed", "read_end", "end_offsets": {"<p>": offset},
   "committed_ok", "end_offsets_ok", "checks": scheme.Digest.summary() without partitions, "seconds"}
Exits 1 on a duplicate, a missing record, a wrong committed offset or a rebalance that did not
finish within --timeout, 2 if the watchdog fired.
--offsets only prints {"ok", "topic", "group", "committed", "end_offsets"} (OffsetFetch and ListOffsets,
without joining the group): run it after a kill -9 and restart of the broker to compare.
"""
import argparse
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import scheme


class Group:
    """What the members report, under one lock: records read, assignments and their times."""

    def __init__(self, n_partitions):
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.partitions = set(range(n_partitions))
        self.digest = scheme.Digest()
        self.indices = set()
        self.by_member = {}
        self.assignment = {}  # member -> (time of its last assign, set of partitions)
        self.live = set()
        self.first_assignment = None

    def now(self):
        return time.monotonic() - self.t0

    def assigned(self, member, partitions):
        with self.lock:
            self.assignment[member] = (self.now(), set(partitions))
            self.by_member.setdefault(member, {"records": 0, "assignments": 0})["assignments"] += 1
            if partitions and self.first_assignment is None:
                self.first_assignment = self.now()

    def revoked(self, member):
        with self.lock:
            t, _ = self.assignment.get(member, (self.now(), set()))
            self.assignment[member] = (t, set())

    def read(self, member, msgs):
        with self.lock:
            for m in msgs:
                self.digest.add(m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1])
                i = scheme.parse(m.value())
                if i is not None:
                    self.indices.add(i[0])
            self.by_member.setdefault(member, {"records": 0, "assignments": 0})["records"] += len(msgs)

    def settled_since(self, t):
        """The time every live member last got its assignment, if each did after t and together
        they hold every partition; else None."""
        with self.lock:
            got = [self.assignment.get(m) for m in self.live]
            if any(g is None or g[0] < t for g in got):
                return None
            if set().union(*(g[1] for g in got)) != self.partitions:
                return None
            return max(g[0] for g in got)


def member(name, a, group, stop, leave):
    c = Consumer({
        "bootstrap.servers": a.bootstrap, "group.id": a.group, "client.id": name,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
    })

    def on_assign(consumer, tps):
        group.assigned(name, [tp.partition for tp in tps])

    def on_revoke(consumer, tps):
        group.revoked(name)

    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop.is_set() and not leave.is_set():
        msgs = [m for m in c.consume(500, 0.2) if not m.error()]
        if msgs:
            group.read(name, msgs)
            c.commit(asynchronous=False)  # committed before the next poll can revoke
    c.close()  # LeaveGroup


def produce(a, stats):
    p = Producer({"bootstrap.servers": a.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})

    def on_delivery(err, msg):
        stats["failed" if err else "delivered"] += 1

    base = scheme.base_timestamp(a.records)
    start = time.monotonic()
    for i in range(a.records):
        while time.monotonic() - start < i * a.produce_seconds / a.records:
            p.poll(0.01)
        p.produce(a.topic, scheme.value(i, base, True, True, 100), scheme.key(i), headers=scheme.headers(i),
                  timestamp=scheme.timestamp(i, base), on_delivery=on_delivery)
        p.poll(0)
    stats["undelivered"] = p.flush(a.timeout)


def create_topic(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    admin.create_topics([NewTopic(a.topic, a.partitions, 1)])[a.topic].result(a.timeout)
    deadline = time.monotonic() + a.timeout
    while len(admin.list_topics(a.topic, timeout=10).topics[a.topic].partitions) != a.partitions:
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {a.topic} has not {a.partitions} partitions")
        time.sleep(0.2)


def offsets(a):
    """(committed, end) offsets per partition, read by a fresh consumer of the group."""
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False})
    tps = [TopicPartition(a.topic, p) for p in range(a.partitions)]
    committed = {str(tp.partition): tp.offset for tp in c.committed(tps, timeout=10)}
    end = {str(tp.partition): c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
    c.close()
    return committed, end


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="host:port")
    ap.add_argument("--topic", required=True, help="a new topic; it is created")
    ap.add_argument("--group", help="group id (default: <topic>-group)")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--records", type=int, default=30000)
    ap.add_argument("--produce-seconds", type=float, default=20)
    ap.add_argument("--timeout", type=float, default=180, help="seconds for the whole run")
    ap.add_argument("--offsets", action="store_true",
                    help="only print the group's committed offsets and the end offsets (OffsetFetch, ListOffsets; no join)")
    a = ap.parse_args()
    a.group = a.group or f"{a.topic}-group"
    scheme.watchdog(a.timeout + 60, "group")
    if a.offsets:
        committed, end = offsets(a)
        scheme.finish({"topic": a.topic, "group": a.group, "committed": committed, "end_offsets": end})
    create_topic(a)
    group, stop, problems, rebalances = Group(a.partitions), threading.Event(), [], []
    leave = {n: threading.Event() for n in ("c1", "c2", "c3", "c4")}
    threads = {}

    def start(name):
        group.live.add(name)
        threads[name] = threading.Thread(target=member, args=(name, a, group, stop, leave[name]), daemon=True)
        threads[name].start()

    def wait_settled(event, since):
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            t = group.settled_since(since)
            if t is not None:
                return t
            time.sleep(0.05)
        problems.append(f"{event}: the group did not settle within {a.timeout} s")
        return None

    stats = {"delivered": 0, "failed": 0, "undelivered": 0}
    producer = threading.Thread(target=produce, args=(a, stats), daemon=True)
    for n in ("c1", "c2", "c3"):
        start(n)
    producer.start()
    stable = wait_settled("first join", 0)
    for event, fraction, act in (("join c4", 1 / 3, lambda: start("c4")), ("leave c1", 2 / 3, None)):
        if stable is None:
            break
        while len(group.indices) < a.records * fraction and group.now() < a.timeout:
            time.sleep(0.02)
        at = group.now()
        if act:
            act()
        else:
            group.live.discard("c1")
            leave["c1"].set()
        t = wait_settled(event, at)
        rebalances.append({"event": event, "at_s": round(at, 3), "seconds": round(t - at, 3) if t else None})
    producer.join(a.timeout)
    while len(group.indices) < stats["delivered"] and group.now() < a.timeout:
        time.sleep(0.05)
    time.sleep(1)  # anything read twice late still counts
    stop.set()
    for th in threads.values():
        th.join(15)
    committed, end = offsets(a)
    with group.lock:
        checks = group.digest.summary()
        consumed, unique = len(group.digest), len(group.indices)
    read_end = {p: d["last"] + 1 for p, d in checks.pop("partitions").items()}
    missing = len(set(range(a.records)) - group.indices)
    result = {
        "topic": a.topic, "group": a.group, "records": a.records, "delivered": stats["delivered"],
        "consumed": consumed, "unique": unique, "duplicates": consumed - unique, "missing": missing,
        "first_assignment_s": round(group.first_assignment, 3) if group.first_assignment else None,
        "stable_s": round(stable, 3) if stable else None, "rebalances": rebalances,
        "members": group.by_member, "committed": committed, "read_end": read_end, "end_offsets": end,
        "committed_ok": committed == read_end, "end_offsets_ok": end == read_end,
        "checks": checks, "seconds": round(group.now(), 3),
    }
    if stats["delivered"] != a.records:
        problems.append(f"{stats['delivered']} of {a.records} records delivered")
    if result["duplicates"] or missing:
        problems.append(f"{result['duplicates']} records read twice, {missing} never read")
    if not result["committed_ok"]:
        problems.append(f"committed offsets {committed} != the last offsets read + 1 {read_end}")
    if not result["end_offsets_ok"]:
        problems.append(f"the broker's end offsets (ListOffsets latest) {end} != the last offsets read + 1 {read_end}")
    if not result["members"].get("c4", {}).get("records"):
        problems.append("c4 read nothing")
    for check in ("keys_ok", "values_ok", "headers_ok", "timestamps_ok"):
        if not checks[check]:
            problems.append(f"{check} is false: {checks['examples']}")
    scheme.finish(result, problems)


if __name__ == "__main__":
    scheme.guarded(main)
