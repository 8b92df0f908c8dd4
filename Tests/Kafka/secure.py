#!/usr/bin/env python3
"""Produce --count records to --topic and read them back with one Kafka client over a secured
listener: security.protocol SSL, SASL_SSL or SASL_PLAINTEXT, SASL PLAIN / SCRAM-SHA-256 /
SCRAM-SHA-512, TLS trusting --ca. Prints one JSON line:
  {"ok", "client", "protocol", "mechanism", "produced", "consumed", "values_ok", "error"}
With --expect-auth-failure it checks the opposite: the client must fail with an authentication
error (and "auth_error" says which), having written nothing.
Exits 1 when a check failed, 2 if the watchdog fired.
"""
import argparse
import logging
import time

import scheme


def value(topic, i):
    return f"{topic}:{i}".encode()


def confluent_conf(a):
    conf = {"bootstrap.servers": a.bootstrap, "security.protocol": a.protocol}
    if "SSL" in a.protocol:
        conf["ssl.ca.location"] = a.ca
    if a.protocol.startswith("SASL"):
        conf.update({"sasl.mechanisms": a.mechanism, "sasl.username": a.username, "sasl.password": a.password})
    return conf


def confluent(a):
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

    errors = []

    def on_error(err):
        errors.append(err)
        if err.code() == KafkaError._AUTHENTICATION or "uthentication" in err.str():
            raise KafkaException(err)

    p = Producer({**confluent_conf(a), "error_cb": on_error, "message.timeout.ms": int(a.timeout * 500)})
    failed = []
    for i in range(a.count):
        p.produce(a.topic, value(a.topic, i), on_delivery=lambda err, msg: err and failed.append(str(err)))
    try:
        left = p.flush(a.timeout / 2)
    except KafkaException as e:
        return {"produced": 0, "consumed": 0, "auth_error": str(e.args[0].str())}
    auth = [e.str() for e in errors if e.code() == KafkaError._AUTHENTICATION]
    if auth or failed or left:
        return {"produced": a.count - len(failed) - left, "consumed": 0, "auth_error": auth[0] if auth else None,
                "errors": failed[:3] + [str(x) for x in errors][:3]}
    c = Consumer({**confluent_conf(a), "group.id": f"{a.topic}-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(a.topic, 0, 0)])
    got = []
    deadline = time.time() + a.timeout / 2
    while len(got) < a.count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value())
    c.close()
    return {"produced": a.count, "consumed": len(got), "values": got}


class AuthLog(logging.Handler):
    """kafka-python logs a SASL failure and then reports only that it could not bootstrap:
    keep the first logged authentication error."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.first = None

    def emit(self, record):
        text = record.getMessage()
        if self.first is None and ("uthentication" in text or "SaslAuthenticationFailed" in text):
            self.first = text


def kafka_python(a):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError

    auth_log = AuthLog()
    logging.getLogger("kafka").addHandler(auth_log)

    conf = {"bootstrap_servers": a.bootstrap, "security_protocol": a.protocol}
    if "SSL" in a.protocol:
        conf.update({"ssl_cafile": a.ca, "ssl_check_hostname": True})
    if a.protocol.startswith("SASL"):
        conf.update({"sasl_mechanism": a.mechanism, "sasl_plain_username": a.username,
                     "sasl_plain_password": a.password})
    if a.expect_auth_failure:
        # Without this kafka-python retries a refused bootstrap for 30 s before giving up.
        conf["bootstrap_timeout_ms"] = 5000
    try:
        p = KafkaProducer(**conf, acks="all", request_timeout_ms=10000)
    except KafkaError as e:
        return {"produced": 0, "consumed": 0, "auth_error": auth_log.first, "error": f"{type(e).__name__}: {e}"}
    try:
        for i in range(a.count):
            p.send(a.topic, value(a.topic, i))
        p.flush(a.timeout / 2)
    except KafkaError as e:
        return {"produced": 0, "consumed": 0, "auth_error": auth_log.first, "error": f"{type(e).__name__}: {e}"}
    finally:
        p.close(timeout=5)
    c = KafkaConsumer(**conf, enable_auto_commit=False, consumer_timeout_ms=int(a.timeout * 250))
    tp = TopicPartition(a.topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = []
    deadline = time.time() + a.timeout / 2
    while len(got) < a.count and time.time() < deadline:
        for records in c.poll(timeout_ms=500).values():
            got += [r.value for r in records]
    c.close()
    return {"produced": a.count, "consumed": len(got), "values": got}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    ap.add_argument("--protocol", choices=["SSL", "SASL_SSL", "SASL_PLAINTEXT"], required=True)
    ap.add_argument("--mechanism", choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], default="PLAIN")
    ap.add_argument("--username", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--ca", help="PEM file of the CA to trust")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--expect-auth-failure", action="store_true")
    ap.add_argument("--timeout", type=float, default=40)
    a = ap.parse_args()
    scheme.watchdog(a.timeout + 20, "secure.py")
    run = confluent if a.client == "confluent" else kafka_python
    result = run(a)
    values = result.pop("values", [])
    result.update({"client": a.client, "protocol": a.protocol, "mechanism": a.mechanism})
    problems = []
    if a.expect_auth_failure:
        error = result.get("auth_error") or ""
        if "uthentication" not in error and "SASL" not in error:
            problems.append(f"expected an authentication error, got {result}")
        if result.get("consumed"):
            problems.append("read records without authenticating")
    else:
        result["values_ok"] = values == [value(a.topic, i) for i in range(a.count)]
        if result.get("auth_error") or result.get("errors"):
            problems.append(f"errors: {result.get('auth_error')} {result.get('errors')}")
        if result["consumed"] != a.count or not result["values_ok"]:
            problems.append(f"read {result['consumed']} of {a.count} records (values ok: {result['values_ok']})")
    scheme.finish(result, problems)


if __name__ == "__main__":
    scheme.guarded(main)
