#!/usr/bin/env python3
"""`make soak`: mixed load on a real worker for SOAK_MINUTES (default 20) with a SIGKILL every
SOAK_KILL_SECONDS (default 120) and one malformed input per second of each kind, then checks
that nothing acknowledged was lost, nothing on an exactly-once path was duplicated, and that the
worker's RSS at the end is within 20 % of its RSS after the first minute.

Real parts only: PostgreSQL 15 and mosquitto from Tests/Servers/start.sh, the sluice binary
($SLUICE_BIN), psql and mosquitto_pub. Prints one JSON line of figures and exits non-zero when
a check fails."""
import base64, http.client, json, os, random, signal, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINUTES = float(os.environ.get("SOAK_MINUTES", "20"))
KILL_EVERY = float(os.environ.get("SOAK_KILL_SECONDS", "120"))
BIN = os.environ.get("SLUICE_BIN") or os.path.join(ROOT, ".build/release/sluice")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, body bytes, headers) or (0, b"", {}) when the worker is not there."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, dict(r.getheaders())
    except (OSError, http.client.HTTPException):
        return 0, b"", {}


class Worker:
    """The sluice process: started, SIGKILLed and restarted; exits on its own are failures."""

    def __init__(self, directory, api_port):
        self.directory, self.api_port = directory, api_port
        self.process, self.kills, self.unexpected_exits = None, 0, 0
        self.log = open(os.path.join(directory, "worker.log"), "ab")
        self.lock = threading.Lock()

    def start(self):
        self.process = subprocess.Popen(
            [BIN, "run", "--config", os.path.join(self.directory, "worker.yaml")],
            cwd=self.directory, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"worker exited with {self.process.returncode} during start-up")
            if request(self.api_port, "GET", "/connectors", timeout=1)[0] == 200:
                return
            time.sleep(0.1)
        raise SystemExit("worker did not answer within 60 s")

    def kill9_and_restart(self):
        with self.lock:
            if self.process.poll() is not None:
                self.unexpected_exits += 1
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1
            self.start()

    def check_alive(self):
        with self.lock:
            if self.process.poll() is not None:
                self.unexpected_exits += 1
                self.start()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return 0
        return 0

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def read_topic(port, topic):
    """Every record of `topic`, partition by partition."""
    status, body, _ = request(port, "GET", f"/topics/{topic}")
    if status != 200:
        return []
    records = []
    for p in json.loads(body)["partitions"]:
        offset = p["start_offset"]
        while offset < p["end_offset"]:
            status, body, _ = request(
                port, "GET", f"/topics/{topic}/records?partition={p['partition']}&offset={offset}&limit=5000")
            batch = json.loads(body) if status == 200 else []
            if not batch:
                break
            records += batch
            offset = batch[-1]["offset"] + 1
    return records


def main():
    servers = tempfile.mkdtemp(prefix="sluice-soak-servers.")
    subprocess.run(["bash", os.path.join(ROOT, "Tests/Servers/start.sh"), servers], check=True)
    try:
        run(servers)
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "Tests/Servers/stop.sh"), servers])


def run(servers):
    env = {}
    for line in open(os.path.join(servers, "env")):
        key, _, value = line.replace("export ", "").strip().partition("=")
        env[key] = value
    pg_url, mqtt_url = env["SLUICE_TEST_PG_URL"], env["SLUICE_TEST_MQTT_URL"]
    mqtt_port = mqtt_url.rsplit(":", 1)[1]
    psql = ["psql", pg_url, "-v", "ON_ERROR_STOP=1", "-qAt"]
    subprocess.run(psql + ["-c", "CREATE TABLE soak_events (id bigint PRIMARY KEY, note text)"], check=True)

    directory = tempfile.mkdtemp(prefix="sluice-soak.")
    os.makedirs(os.path.join(directory, "connectors"))
    api_port, hook_port = free_port(), free_port()
    with open(os.path.join(directory, "worker.yaml"), "w") as f:
        f.write(f"data_dir: {directory}/data\nconnectors_dir: {directory}/connectors\n"
                f"api: {{ listen: 127.0.0.1:{api_port} }}\nlog: {{ partitions: 2, fsync: batch }}\n"
                "listeners: { max_connections: 256, header_timeout: 2s, read_timeout: 10s, idle_timeout: 10s }\n")
    connectors = {
        "cdc": f"name: cdc\nsource: postgres-cdc\ntopic: soak.cdc\nconfig:\n  url: {pg_url}\n"
               "  tables: [public.soak_events]\n  slot: soak\n  publication: soak\n  snapshot: never\n",
        "copy": f"name: copy\nsink: postgres\ntopics: [soak.cdc]\nconfig:\n  url: {pg_url}\n"
                "  table: soak_copy\n  mode: insert\n  auto_create: true\n",
        "hook": "name: hook\nsource: webhook\ntopic: soak.hooks\nconfig:\n"
                f"  listen: 127.0.0.1:{hook_port}\n  path: /h\n  dedupe: {{ header: Idempotency-Key, window: 2m }}\n",
        "stripe": "name: stripe\nsource: webhook\ntopic: soak.stripe\nconfig:\n"
                  f"  listen: 127.0.0.1:{hook_port}\n  path: /s\n  signature: {{ type: stripe, secret: k }}\n",
        "mqtt": f"name: mqtt\nsource: mqtt\ntopic: soak.mqtt\nconfig:\n  url: {mqtt_url}\n  client_id: soak\n"
                "  subscriptions: [ { filter: \"soak/#\", qos: 1 } ]\n  clean_session: false\n  payload: json\n"
                "errors: { tolerance: all, dlq_topic: soak.mqtt.dlq }\n",
        "hookfile": f"name: hookfile\nsink: file\ntopics: [soak.hooks]\nconfig: {{ path: {directory}/hooks.jsonl }}\n",
    }
    for name, text in connectors.items():
        with open(os.path.join(directory, "connectors", name + ".yaml"), "w") as f:
            f.write(text)
    worker = Worker(directory, api_port)
    worker.start()
    time.sleep(3)

    stop = threading.Event()
    # `sluice run` refuses to start with an invalid connector file (DESIGN.md §6), so the
    # malformed file is written only while the worker runs, never across a restart.
    config_lock = threading.Lock()
    bad_config = os.path.join(directory, "connectors", "bad.yaml")
    acked = {"hooks": set(), "api": set(), "cdc": 0, "mqtt": 0, "malformed": 0, "malformed_bad_answer": []}
    lock = threading.Lock()

    def webhooks():
        i = 0
        while not stop.is_set():
            key = f"k{i}"
            while not stop.is_set():  # retry the same key until it is answered: dedupe makes it once
                status, _, _ = request(hook_port, "POST", "/h", body=json.dumps({"i": i}),
                                       headers={"Content-Type": "application/json", "Idempotency-Key": key})
                if status == 200:
                    with lock:
                        acked["hooks"].add(key)
                    break
                time.sleep(0.05)
            i += 1
            time.sleep(0.01)

    def produce():
        i = 0
        while not stop.is_set():
            body = json.dumps({"records": [{"key": f"a{i}", "value": i}]})
            if request(api_port, "POST", "/topics/soak.api/records", body=body,
                       headers={"Content-Type": "application/json"})[0] == 200:
                with lock:
                    acked["api"].add(i)
                i += 1
            time.sleep(0.01)

    def database():
        # PostgreSQL is never killed: every INSERT psql runs commits (autocommit).
        p = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        i = 0
        while not stop.is_set():
            p.stdin.write("".join(f"INSERT INTO soak_events VALUES ({i + j}, 'n');\n" for j in range(10)))
            p.stdin.flush()
            i += 10
            time.sleep(0.05)
        p.stdin.close()
        p.wait()
        acked["cdc"] = i

    def mqtt():
        p = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", mqtt_port, "-q", "1",
                              "-t", "soak/readings", "-l"], stdin=subprocess.PIPE, text=True)
        i = 0
        while not stop.is_set():
            p.stdin.write(json.dumps({"i": i}) + "\n")
            p.stdin.flush()
            i += 1
            time.sleep(0.01)
        p.stdin.close()
        p.wait()
        acked["mqtt"] = i

    def malformed():
        """One of each kind per second; each must get its 4xx (or be absorbed) and harm nothing."""
        tick = 0
        while not stop.is_set():
            expectations = [
                (hook_port, "POST", "/h", b"{not json", {"Content-Type": "application/json"}, 400),
                (hook_port, "POST", "/s", b"{}", {"Content-Type": "application/json",
                                                  "Stripe-Signature": "t=-9223372036854775808,v1=00"}, 401),
                (hook_port, "POST", "/h", b"{}", {"Content-Type": "application/json",
                                                  "Idempotency-Key": "x" * 300}, 400),
                (api_port, "POST", "/topics/soak.api/records", b'{"records":[{"value":1,"partition":true}]}',
                 {"Content-Type": "application/json"}, 400),
                (api_port, "POST", "/topics/soak.api/records",
                 b'{"records":[{"value":1,"timestamp":-9223372036854775808}]}', {"Content-Type": "application/json"}, 400),
                (api_port, "POST", "/topics/soak.api/records",
                 ("[" + ",".join(['{"value":1}'] * 10001) + "]").encode(), {"Content-Type": "application/json"}, 413),
            ]
            for port, method, path, body, headers, want in expectations:
                status, _, _ = request(port, method, path, body=body, headers=headers)
                with lock:
                    acked["malformed"] += 1
                    # 0 or 503: the worker or the webhook is (re)starting.
                    if status not in (want, 0, 503):
                        acked["malformed_bad_answer"].append((path, want, status))
            # Below HTTP: an invalid chunk size, and a slow header left to the header timeout.
            for port in (api_port, hook_port):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=2)
                    s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                    s.recv(100)
                    s.close()
                    slow = socket.create_connection(("127.0.0.1", port), timeout=2)
                    slow.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
                    threading.Timer(5, slow.close).start()
                except OSError:
                    pass
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", mqtt_port, "-q", "1",
                            "-t", "soak/readings", "-m", "{not json"], stdout=subprocess.DEVNULL)
            # A connector file that becomes invalid and valid again, and an out-of-range value.
            with config_lock, open(bad_config, "w") as f:
                f.write("name: bad\nsource: file\ntopic: soak.bad\nconfig: { path: /nonexistent, poll_ms: %s }\n"
                        % ("1e300d" if tick % 2 == 0 else "nan"))
            tick += 1
            time.sleep(1)

    threads = [threading.Thread(target=t, daemon=True) for t in (webhooks, produce, database, mqtt, malformed)]
    for t in threads:
        t.start()
    started = time.time()
    rss_first_minute = None
    next_kill = started + KILL_EVERY
    while time.time() - started < MINUTES * 60:
        time.sleep(1)
        with config_lock:
            if worker.process.poll() is not None and os.path.exists(bad_config):
                os.remove(bad_config)
            worker.check_alive()
        if rss_first_minute is None and time.time() - started >= 60:
            rss_first_minute = worker.rss_kib()
        if time.time() >= next_kill:
            with config_lock:
                if os.path.exists(bad_config):
                    os.remove(bad_config)
                worker.kill9_and_restart()
            next_kill = time.time() + KILL_EVERY
    rss_end = worker.rss_kib()
    stop.set()
    with config_lock:
        if os.path.exists(bad_config):
            os.remove(bad_config)
    for t in threads:
        t.join(timeout=30)

    # Let the pipelines drain, then compare.
    def cdc_ids():
        return [json.loads(r["value"])["after"]["id"] if isinstance(r["value"], str) else r["value"]["after"]["id"]
                for r in read_topic(api_port, "soak.cdc")]
    deadline = time.time() + 120
    while time.time() < deadline:
        copied = int(subprocess.run(psql + ["-c", "SELECT count(*) FROM soak_copy"], capture_output=True,
                                    text=True).stdout.strip() or 0)
        if len(cdc_ids()) >= acked["cdc"] and copied >= acked["cdc"]:
            break
        time.sleep(2)
    hook_records = read_topic(api_port, "soak.hooks")
    hook_keys = [r["headers"].get("webhook.idempotency_key") for r in hook_records]
    api_values = {r["value"] for r in read_topic(api_port, "soak.api")}
    ids = cdc_ids()
    mqtt_values = [r["value"]["i"] for r in read_topic(api_port, "soak.mqtt")]
    copied = int(subprocess.run(psql + ["-c", "SELECT count(*) FROM soak_copy"], capture_output=True,
                                text=True).stdout.strip() or 0)
    file_lines = [json.loads(line) for line in open(os.path.join(directory, "hooks.jsonl"))] \
        if os.path.exists(os.path.join(directory, "hooks.jsonl")) else []
    file_positions = [(r["partition"], r["offset"]) for r in file_lines]
    worker.stop()

    figures = {
        "minutes": MINUTES, "kills": worker.kills, "unexpected_exits": worker.unexpected_exits,
        "webhooks_acked": len(acked["hooks"]), "webhook_records": len(hook_keys),
        "webhooks_lost": len(acked["hooks"] - set(hook_keys)),
        "webhooks_duplicated": len(hook_keys) - len(set(hook_keys)),
        "api_acked": len(acked["api"]), "api_lost": len(acked["api"] - api_values),
        "cdc_committed": acked["cdc"], "cdc_records": len(ids), "cdc_lost": len(set(range(acked["cdc"])) - set(ids)),
        "cdc_duplicated": len(ids) - len(set(ids)), "pg_sink_rows": copied,
        "file_sink_lines": len(file_positions), "file_sink_duplicated": len(file_positions) - len(set(file_positions)),
        "file_sink_lost": len(hook_records) - len(set(file_positions)),
        "mqtt_published": acked["mqtt"], "mqtt_lost": len(set(range(acked["mqtt"])) - set(mqtt_values)),
        "mqtt_redelivered": len(mqtt_values) - len(set(mqtt_values)),
        "malformed_sent": acked["malformed"], "malformed_wrong_answers": len(acked["malformed_bad_answer"]),
        "rss_first_minute_mib": round((rss_first_minute or 0) / 1024, 1), "rss_end_mib": round(rss_end / 1024, 1),
    }
    print(json.dumps(figures))
    problems = [k for k in ("unexpected_exits", "webhooks_lost", "webhooks_duplicated", "api_lost", "cdc_lost",
                            "cdc_duplicated", "file_sink_duplicated", "file_sink_lost", "mqtt_lost",
                            "malformed_wrong_answers") if figures[k]]
    if copied != acked["cdc"]:
        problems.append("pg_sink_rows")
    if rss_first_minute and abs(rss_end - rss_first_minute) > 0.2 * rss_first_minute:
        problems.append("rss_end")
    if acked["malformed_bad_answer"]:
        print("wrong answers to malformed input (path, wanted, got):", acked["malformed_bad_answer"][:10])
    if problems:
        print("soak FAILED:", ", ".join(problems), f"(worker files in {directory})")
        sys.exit(1)
    print("soak passed")


if __name__ == "__main__":
    main()
