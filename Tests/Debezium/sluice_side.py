"""A Sluice worker with one postgres-cdc connector per option set (Tests/Debezium/compare.py).

The worker runs in a temporary folder with the embedded log (one partition) and its admin API
on a free loopback port; each connector has its own slot and publication and writes to the
topic Debezium would (`<name>.public.<table>`). Events are read back through the admin API's
`GET /topics/{topic}/records`, which renders keys and values as JSON.

Debezium's option names map to Sluice's YAML keys (issue 16). A Sluice build that does not know
a key (or a value) yet would refuse the connector, so each mapped option is first checked with
`sluice validate` and left out when refused; the report lists what was left out. Kafka Connect's
`transforms` and `transforms.<alias>.<option>` become the connector's `transforms:` list, under
the same names; checked as a whole, so refused (and reported) as a whole.
"""

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

# Debezium option -> Sluice postgres-cdc YAML key.
OPTION_NAMES = {
    "decimal.handling.mode": "decimal_handling",
    "time.precision.mode": "time_precision",
    "interval.handling.mode": "interval_handling",
    "binary.handling.mode": "binary_handling",
    "hstore.handling.mode": "hstore_handling",
    "schemas.enable": "schemas",
    "tombstones.on.delete": "tombstones_on_delete",
    "provide.transaction.metadata": "provide_transaction_metadata",
}


def sluice_key(option):
    """The Sluice name of a Debezium option (a transform's options keep theirs)."""
    return option if option.startswith("transforms") else OPTION_NAMES.get(option, option)


def transforms_of(options):
    """Kafka Connect's `transforms=a,b` and `transforms.a.type=…` as Sluice's `transforms:`
    list: [(alias, {option: value})], `type` first."""
    aliases = [a.strip() for a in str(options.get("transforms", "")).split(",") if a.strip()]
    out = []
    for alias in aliases:
        prefix = f"transforms.{alias}."
        given = {k[len(prefix):]: v for k, v in options.items() if k.startswith(prefix)}
        out.append((alias, dict(sorted(given.items(), key=lambda kv: kv[0] != "type"))))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yaml_scalar(value):
    text = str(value)
    if text.lower() in ("true", "false"):
        return text.lower()
    return json.dumps(text)


class Worker:
    """`sluice run` in a temporary folder; `connector()` adds a connector file before start."""

    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="sluice-dbz-parity-")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "connectors"))
        with open(os.path.join(self.dir, "worker.yaml"), "w") as f:
            f.write(
                f"data_dir: {self.dir}/data\n"
                f"connectors_dir: {self.dir}/connectors\n"
                f"api: {{ listen: 127.0.0.1:{self.port} }}\n"
                "log: { partitions: 1, fsync: batch }\n"
            )
        self.process = None
        self.log_path = os.path.join(self.dir, "worker.log")

    def accepted(self, name, pg_url, table, options, transforms=()):
        """Whether this Sluice accepts the `options` (Sluice's keys) and `transforms` in a
        postgres-cdc connector."""
        path = os.path.join(self.dir, "probe.yaml")
        with open(path, "w") as f:
            f.write(connector_yaml(name, pg_url, table, name, options, transforms))
        done = subprocess.run([self.binary, "validate", path], capture_output=True, text=True)
        os.remove(path)
        return done.returncode == 0

    def connector(self, name, pg_url, table, slot, options):
        """Writes the connector file; returns {debezium option: value} left out as refused."""
        given, refused = {}, {}
        for key, value in options.items():
            if key.startswith("transforms"):
                continue
            sluice_key = OPTION_NAMES.get(key)
            if sluice_key and self.accepted(name, pg_url, table, {sluice_key: value}):
                given[sluice_key] = value
            else:
                refused[key] = value
        transforms = transforms_of(options)
        if transforms and not self.accepted(name, pg_url, table, given, transforms):
            refused.update({k: v for k, v in options.items() if k.startswith("transforms")})
            transforms = []
        with open(os.path.join(self.dir, "connectors", f"{name}.yaml"), "w") as f:
            f.write(connector_yaml(name, pg_url, table, slot, given, transforms))
        return refused

    def start(self):
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [self.binary, "run", "--config", os.path.join(self.dir, "worker.yaml")],
            cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
        )

    def records(self, topic):
        """The topic's records so far as (key, value) JSON texts (None for a null value)."""
        url = f"http://127.0.0.1:{self.port}/topics/{topic}/records?partition=0&offset=0&limit=1000"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                rows = json.load(r)
        except Exception:
            return []
        out = []
        for row in rows:
            key, value = row.get("key"), row.get("value")
            out.append(
                (topic, None if key is None else json.dumps(key),
                 None if value is None else json.dumps(value))
            )
        return out

    def log_tail(self, lines=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def connector_yaml(name, pg_url, table, slot, sluice_options, transforms=()):
    lines = [
        f"name: {name}",
        "source: postgres-cdc",
        f'topic: "{name}.{{schema}}.{{table}}"',
        "config:",
        f"  url: {json.dumps(pg_url)}",
        f"  tables: [public.{table}]",
        f"  slot: {slot}",
        f"  publication: {slot}",
        # No WAL heartbeat during the run: Debezium's slot would see its transactions.
        "  heartbeat_ms: 3600000",
    ]
    lines += [f"  {k}: {yaml_scalar(v)}" for k, v in sluice_options.items()]
    if transforms:
        lines.append("transforms:")
        for alias, given in transforms:
            lines.append(f"  - name: {alias}")
            lines += [f"    {k}: {yaml_scalar(v)}" for k, v in given.items()]
    return "\n".join(lines) + "\n"
