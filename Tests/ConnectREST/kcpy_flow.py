"""Drives Sluice's admin API with kafka-connect-py (a Kafka Connect REST client from PyPI):
create, get, update, pause, resume, stop, offsets, restart, delete — the lifecycle a Kafka
Connect user scripts. Exits non-zero with the failed step on any mismatch.

usage: kcpy_flow.py URL WORKDIR
"""
import os
import sys
import time

import requests
from kafka_connect import KafkaConnect

url, workdir = sys.argv[1], sys.argv[2]
connect = KafkaConnect(url=url)
source_file = os.path.join(workdir, "kcpy-in.txt")
sink_file = os.path.join(workdir, "kcpy-out.txt")
open(source_file, "w").close()


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def eventually(what, condition, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.1)
    check(False, f"timed out: {what}")


def state(name):
    return connect.get_connector_status(name)["connector"]["state"]


def sink_lines():
    try:
        with open(sink_file) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


info = connect.get_cluster_info()
major, minor = (int(x) for x in info["version"].split(".")[:2])
check((major, minor) >= (3, 9), f"version {info['version']} parses as >= 3.9")

created = connect.create_connector({
    "name": "kcpy-source",
    "config": {"connector.class": "FileStreamSource", "file": source_file, "topic": "kcpy"},
})
check(created["name"] == "kcpy-source" and created["type"] == "source", f"create: {created}")
connect.create_connector({
    "name": "kcpy-sink",
    "config": {"connector.class": "FileStreamSink", "file": sink_file, "topics": "kcpy"},
})
check(set(connect.list_connectors()) >= {"kcpy-source", "kcpy-sink"}, "list")
check(connect.get_connector("kcpy-sink")["config"]["topics"] == "kcpy", "get")

with open(source_file, "a") as f:
    f.write("a\nb\n")
eventually("first lines delivered", lambda: sink_lines() == ["a", "b"])

updated = connect.update_connector(
    "kcpy-source",
    {"connector.class": "FileStreamSource", "file": source_file, "topic": "kcpy", "tasks.max": "1"})
check(updated["config"]["tasks.max"] == "1", f"update: {updated}")
check(connect.get_connector_config("kcpy-source")["tasks.max"] == "1", "config after update")

connect.pause_connector("kcpy-source")
eventually("paused", lambda: state("kcpy-source") == "PAUSED")
with open(source_file, "a") as f:
    f.write("c\n")
time.sleep(1.0)
check(sink_lines() == ["a", "b"], "nothing moves while paused")
connect.resume_connector("kcpy-source")
eventually("resumed", lambda: sink_lines() == ["a", "b", "c"])

connect.stop_connector("kcpy-sink")
eventually("stopped", lambda: state("kcpy-sink") == "STOPPED")
offsets = requests.get(f"{url}/connectors/kcpy-sink/offsets").json()["offsets"]
check(
    any(o["partition"].get("kafka_topic") == "kcpy" and o["offset"]["kafka_offset"] == 3
        for o in offsets),
    f"sink offsets after three records: {offsets}")
reset = requests.delete(f"{url}/connectors/kcpy-sink/offsets")
check(reset.status_code == 200 and "message" in reset.json(), f"reset offsets: {reset.text}")
connect.resume_connector("kcpy-sink")
eventually("redelivered from the start after the reset",
           lambda: sink_lines() == ["a", "b", "c", "a", "b", "c"])

connect.restart_connector("kcpy-source", include_tasks=True)
eventually("running after restart", lambda: state("kcpy-source") == "RUNNING")
connect.restart_connector_task("kcpy-source", 0)
tasks = connect.list_connector_tasks("kcpy-source")
check(tasks and tasks[0]["id"] == {"connector": "kcpy-source", "task": 0}, f"tasks: {tasks}")
check(connect.get_connector_task_status("kcpy-source", 0)["id"] == 0, "task status")
check(connect.list_connector_topics("kcpy-source")["kcpy-source"]["topics"] == ["kcpy"], "topics")

connect.delete_connector("kcpy-source")
connect.delete_connector("kcpy-sink")
eventually("deleted", lambda: not ({"kcpy-source", "kcpy-sink"} & set(connect.list_connectors())))
print("kafka-connect-py flow: ok")
