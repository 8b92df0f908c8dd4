#!/usr/bin/env python3
"""List the brokers, topics, partitions and partition leaders with one of three Kafka clients
(Metadata; with --create also CreateTopics first). Prints one JSON line:
  {"ok", "client", "brokers": [{"id", "host", "port"}],
   "topics": {"<topic>": {"<partition>": {"leader": node id}}}, "created": [...]}
--create TOPIC (repeatable) with --partitions N creates topics first (an existing one is fine);
--topic TOPIC (repeatable) requires those topics to be listed.
Exits 1 if a required topic is missing or a created one has another partition count, 2 if the
watchdog fired.
The same listing from kcat (librdkafka 2.0.2): `kcat -L -b HOST:PORT -J` (one JSON document:
"brokers": [{"id", "name": "host:port"}], "topics": [{"topic", "partitions": [{"partition", "leader"}]}]).
"""
import argparse
import asyncio

import scheme


def confluent(a):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    if a.create:
        futures = admin.create_topics([NewTopic(t, a.partitions or 1, 1) for t in a.create], request_timeout=a.timeout)
        for t, f in futures.items():
            try:
                f.result(a.timeout)
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
    md = admin.list_topics(timeout=a.timeout)
    brokers = [{"id": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()]
    topics = {
        t.topic: {str(p.id): {"leader": p.leader} for p in t.partitions.values()}
        for t in md.topics.values() if t.error is None
    }
    return brokers, topics


def kafka_python(a):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=a.bootstrap, request_timeout_ms=int(a.timeout * 1000))
    for t in a.create:
        try:
            admin.create_topics([NewTopic(t, a.partitions or 1, 1)])
        except TopicAlreadyExistsError:
            pass
    md = admin.describe_topics()
    cluster = admin.describe_cluster()
    admin.close()
    brokers = [{"id": b["broker_id"], "host": b["host"], "port": b["port"]} for b in cluster["brokers"]]
    topics = {
        t["name"]: {str(p["partition_index"]): {"leader": p["leader_id"]} for p in t["partitions"]}
        for t in md if t["error_code"] == 0
    }
    return brokers, topics


def aiokafka(a):
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=a.bootstrap, request_timeout_ms=int(a.timeout * 1000))
        await admin.start()
        try:
            if a.create:
                existing = set(await admin.list_topics())
                new = [NewTopic(t, a.partitions or 1, 1) for t in a.create if t not in existing]
                if new:
                    await admin.create_topics(new)
            cluster = await admin.describe_cluster()
            md = await admin.describe_topics()
        finally:
            await admin.close()
        brokers = [{"id": b["node_id"], "host": b["host"], "port": b["port"]} for b in cluster["brokers"]]
        topics = {
            t["topic"]: {str(p["partition"]): {"leader": p["leader"]} for p in t["partitions"]}
            for t in md if t["error_code"] == 0
        }
        return brokers, topics

    return asyncio.run(asyncio.wait_for(run(), a.timeout))


CLIENTS = {"confluent": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="host:port")
    ap.add_argument("--client", choices=CLIENTS, default="confluent")
    ap.add_argument("--create", action="append", default=[], metavar="TOPIC")
    ap.add_argument("--topic", action="append", default=[], metavar="TOPIC", help="a topic that must be listed")
    ap.add_argument("--partitions", type=int, help="partitions of the --create topics (default 1)")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    scheme.watchdog(a.timeout * 2 + 30, "metadata")
    brokers, topics = CLIENTS[a.client](a)
    problems = []
    for t in a.topic + a.create:
        if t not in topics:
            problems.append(f"topic {t} not listed")
        elif t in a.create and len(topics[t]) != (a.partitions or 1):
            problems.append(f"topic {t} has {len(topics[t])} partitions, {a.partitions} expected")
    if not brokers:
        problems.append("no broker listed")
    result = {"client": a.client, "brokers": sorted(brokers, key=lambda b: b["id"]), "created": a.create,
              "topics": {t: dict(sorted(ps.items(), key=lambda kv: int(kv[0]))) for t, ps in sorted(topics.items())}}
    scheme.finish(result, problems)


if __name__ == "__main__":
    scheme.guarded(main)
