#!/usr/bin/env python3
"""Idempotent producing across a broker kill, and the check that follows it.

Produce mode: `--produce-for SECONDS --ack-log FILE`. An idempotent confluent-kafka producer
(acks=all) sends scheme records (keys, no headers) i = 0, 1, 2, ... at --rate per second for
SECONDS, then waits for every delivery report. Each acknowledged record is appended to the ack log
as "<i> <partition> <offset>" (the first line is "# base <base_ts> topic <topic>"; offset -1 when
the broker's answer gave none). It rides out a
broker that is killed and restarted meanwhile: librdkafka reconnects and retries with the same
producer id and sequence numbers, and --message-timeout (120 s) is how long a record may wait.
Prints {"ok", "mode": "produce", "topic", "produced", "acked", "failed", "acked_without_offset", "fatal",
"errors": {"<librdkafka error name>": count}, "partitions": {"<p>": [first, last offset]}, "seconds"}
and exits 1 if a record failed, was acknowledged without an offset (a broker must answer a retried
batch with its first offset), or the producer hit a fatal error (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER).
Transport errors while the broker is down are only counted.

Verify mode: `--verify --ack-log FILE`. Reads every partition of the topic from the beginning until
it has reached each acknowledged offset and nothing new came for --idle seconds, then checks that
every acknowledged record is there exactly once, at the offset it was acknowledged with, and that
the records of the run are in order (i increasing) in every partition; a record of the run that was
never acknowledged may be there, once. Prints {"ok", "mode": "verify", "topic", "acked",
"acked_without_offset" (their offsets are not compared), "records",
"missing", "duplicates", "offset_mismatch", "out_of_order", "unacked_present", "other_records",
"partitions": {"<p>": count}, "examples"} and exits 1 if missing, duplicates, offset_mismatch or
out_of_order is not 0.
"""
import argparse
import collections
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import scheme


def create_topic(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    try:
        admin.create_topics([NewTopic(a.topic, a.partitions, 1)])[a.topic].result(30)
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def produce(a):
    if a.partitions:
        create_topic(a)
    errors, fatal = collections.Counter(), []

    def on_error(err):
        errors[err.name()] += 1
        if err.fatal():
            fatal.append(str(err))

    p = Producer({
        "bootstrap.servers": a.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
        "message.timeout.ms": int(a.message_timeout * 1000), "retry.backoff.ms": 100, "retry.backoff.max.ms": 1000,
        "reconnect.backoff.ms": 100, "reconnect.backoff.max.ms": 1000, "error_cb": on_error,
    })
    base = scheme.base_timestamp(int(a.produce_for * a.rate))
    acked, failed, no_offset, partitions = [0], [0], [0], {}
    log = open(a.ack_log, "w", buffering=1 << 16)
    log.write(f"# base {base} topic {a.topic}\n")

    def on_delivery(err, msg):
        try:
            if err:
                failed[0] += 1
                errors["delivery: " + err.name()] += 1
                return
            acked[0] += 1
            i, offset = scheme.parse(msg.value())[0], msg.offset()
            if offset is None:  # acknowledged, but the broker's answer had no offset for it
                no_offset[0] += 1
                log.write(f"{i} {msg.partition()} -1\n")
                return
            log.write(f"{i} {msg.partition()} {offset}\n")
            first, last = partitions.get(msg.partition(), (offset, offset))
            partitions[msg.partition()] = (min(first, offset), max(last, offset))
        except Exception as e:  # noqa: BLE001 - raised here it would surface as a bare SystemError
            errors[f"delivery callback: {type(e).__name__}: {e} (offset {msg.offset()!r})"] += 1
            fatal.append(f"delivery callback failed: {e}")

    start = time.monotonic()
    i = 0
    try:
        while time.monotonic() - start < a.produce_for and not fatal:
            while i < (time.monotonic() - start) * a.rate:
                try:
                    p.produce(a.topic, scheme.value(i, base, True, False, 100), scheme.key(i),
                              timestamp=scheme.timestamp(i, base), on_delivery=on_delivery)
                except BufferError:
                    break  # the queue is full while the broker is away: wait, poll, go on
                i += 1
            p.poll(0.01)
        left = p.flush(a.message_timeout + 30)
    except KafkaException as e:  # produce, poll and flush raise once the producer is in a fatal state
        fatal.append(str(e.args[0]))
        left = len(p)
    log.close()
    result = {
        "mode": "produce", "topic": a.topic, "produced": i, "acked": acked[0], "failed": failed[0],
        "acked_without_offset": no_offset[0],
        "undelivered": left, "fatal": fatal, "errors": dict(errors), "ack_log": a.ack_log,
        "partitions": {str(k): list(v) for k, v in sorted(partitions.items())},
        "seconds": round(time.monotonic() - start, 3),
    }
    problems = []
    if fatal:
        problems.append(f"fatal producer error: {fatal[0]}")
    if failed[0] or left:
        problems.append(f"{failed[0]} records failed, {left} undelivered")
    if no_offset[0]:
        problems.append(f"{no_offset[0]} records acknowledged without an offset (a retried batch answered as a duplicate"
                        " without its first offset, presumably)")
    scheme.finish(result, problems)


def read_ack_log(path):
    acked = {}
    with open(path) as f:
        _, _, base, _, topic = f.readline().split()
        for line in f:
            i, p, o = map(int, line.split())
            acked[i] = (p, o)
    return int(base), topic, acked


def verify(a):
    base, topic, acked = read_ack_log(a.ack_log)
    if topic != a.topic:
        raise SystemExit(f"the ack log is of topic {topic}, not {a.topic}")
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "skt-verify", "enable.auto.commit": False})
    md = c.list_topics(a.topic, timeout=10).topics[a.topic]
    if md.error:
        raise KafkaException(md.error)
    c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in md.partitions])
    need = collections.defaultdict(lambda: -1)  # the highest acknowledged offset per partition
    for p, o in acked.values():
        need[p] = max(need[p], o)  # -1, acknowledged without an offset, needs nothing
    found = collections.defaultdict(list)  # i -> [(partition, offset)]
    rows = collections.defaultdict(list)  # partition -> [(offset, i)]
    seen = collections.defaultdict(lambda: -1)
    other = 0
    deadline, last_new = time.monotonic() + a.timeout, time.monotonic()
    while time.monotonic() < deadline:
        msgs = c.consume(1000, 0.2)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            meta = scheme.parse(m.value())
            seen[m.partition()] = max(seen[m.partition()], m.offset())
            if meta is None or meta[1] != base:
                other += 1
                continue
            found[meta[0]].append((m.partition(), m.offset()))
            rows[m.partition()].append((m.offset(), meta[0]))
        if msgs:
            last_new = time.monotonic()
        elif all(seen[p] >= o for p, o in need.items()) and time.monotonic() - last_new >= a.idle:
            break
    c.close()
    examples = []

    def note(what):
        if len(examples) < 10:
            examples.append(what)

    missing = [i for i in acked if i not in found]
    for i in missing[:3]:
        note(f"acked record {i} at p{acked[i][0]}@{acked[i][1]} is missing")
    duplicates = {i: places for i, places in found.items() if len(places) > 1}
    for i, places in list(duplicates.items())[:3]:
        note(f"record {i} is there {len(places)} times: {places}")
    mismatch = [i for i in acked if i in found and acked[i][1] >= 0 and acked[i] not in found[i]]
    for i in mismatch[:3]:
        note(f"record {i} was acked at {acked[i]} but is at {found[i]}")
    out_of_order = 0
    for p, r in rows.items():
        r.sort()
        for (o1, i1), (o2, i2) in zip(r, r[1:]):
            if i2 <= i1:
                out_of_order += 1
                note(f"p{p}: record {i2}@{o2} after {i1}@{o1}")
    result = {
        "mode": "verify", "topic": a.topic, "acked": len(acked), "records": sum(len(v) for v in found.values()),
        "acked_without_offset": sum(1 for _, o in acked.values() if o < 0),
        "missing": len(missing), "duplicates": len(duplicates), "offset_mismatch": len(mismatch),
        "out_of_order": out_of_order, "unacked_present": len([i for i in found if i not in acked]),
        "other_records": other, "partitions": {str(p): len(r) for p, r in sorted(rows.items())}, "examples": examples,
    }
    problems = [f"{k} = {result[k]}" for k in ("missing", "duplicates", "offset_mismatch", "out_of_order") if result[k]]
    if not all(seen[p] >= o for p, o in need.items()):
        problems.append(f"did not reach every acknowledged offset within {a.timeout} s")
    scheme.finish(result, problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="host:port")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--ack-log", required=True)
    ap.add_argument("--produce-for", type=float, help="produce mode: seconds of producing")
    ap.add_argument("--verify", action="store_true", help="verify mode")
    ap.add_argument("--rate", type=float, default=2000, help="records per second")
    ap.add_argument("--partitions", type=int, help="create the topic with this many partitions first")
    ap.add_argument("--message-timeout", type=float, default=120, help="seconds a record may wait for its ack")
    ap.add_argument("--timeout", type=float, default=60, help="verify: seconds to read the topic")
    ap.add_argument("--idle", type=float, default=2, help="verify: seconds without a new record that end the read")
    a = ap.parse_args()
    if a.verify == (a.produce_for is not None):
        ap.error("give either --produce-for SECONDS or --verify")
    if a.verify:
        scheme.watchdog(a.timeout + 30, "verify")
        verify(a)
    else:
        scheme.watchdog(a.produce_for + 2 * a.message_timeout + 60, "produce")
        produce(a)


if __name__ == "__main__":
    scheme.guarded(main)
