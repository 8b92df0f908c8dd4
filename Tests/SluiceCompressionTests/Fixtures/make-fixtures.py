#!/usr/bin/env python3
"""Kafka RecordBatch v2 fixtures built by a real Kafka client, for Sluice's compression tests.

kafka-python's DefaultRecordBatchBuilder is what its producer uses to build the batches it
sends, so these are the bytes a kafka-python producer puts on the wire (base offset 0), with
each codec as the client compresses it (gzip level 9, snappy in xerial framing with 32 KiB
blocks, LZ4 frames with independent blocks, zstd frames). The librdkafka-<codec> batches are
what librdkafka (confluent-kafka) produced to its built-in mock broker, fetched back as the
broker stored them (raw snappy, unframed, among them).

    python3 -m venv /tmp/kafka-fixtures
    /tmp/kafka-fixtures/bin/pip install kafka-python==3.0.12 python-snappy lz4 zstandard crc32c \
      confluent-kafka==2.16.1
    /tmp/kafka-fixtures/bin/python Tests/SluiceCompressionTests/Fixtures/make-fixtures.py

writes, next to this script:
    <codec>.batch         none, gzip, snappy, lz4, zstd: the same 300 records (see record())
    librdkafka-<codec>.batch  gzip, snappy, lz4, zstd: the same records, produced by librdkafka
    snappy-raw.batch      the same records as one raw Snappy block, no xerial framing: what
                          librdkafka's producer sends (kafka-python's codec, unframed)
    corrupt-<codec>.batch gzip, snappy, lz4, zstd: one byte of the compressed data flipped
                          (one kafka-python's decoder rejects), CRC recomputed, so only the
                          codec can notice
    unknown-codec.batch   the gzip batch with attributes codec 5, CRC recomputed
    bomb-<codec>.batch    gzip, zstd, zstd-unsized: 65 MiB of zeros compressed (over Sluice's
                          64 MiB limit); zstd-unsized's frame does not state its size

The Swift tests rebuild the expected records with the same rule as record() below.
Re-running rewrites the gzip files even with nothing changed: gzip's header holds the time.

    make-fixtures.py --check DIR

decodes files <codec>.bin (Sluice's compressor output for the records section of none.batch)
and <codec>.raw (that section) in DIR with kafka-python's own decoders, and reads the whole
batches <codec>.batch with kafka-python's batch reader and librdkafka's mock broker. It was run
by hand when the codecs were written; Sluice stores no batch it compressed itself today (only
the Kafka-backed store will produce compressed batches), so no test writes DIR.
"""
import os
import struct
import sys

from kafka.codec import gzip_decode, lz4_decode, snappy_decode, zstd_decode
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

HERE = os.path.dirname(os.path.abspath(__file__))
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
HEADER_SIZE = 61
ATTRIBUTES_OFFSET = 21
CRC_OFFSET = 17
COUNT = 300
BASE_TIMESTAMP = 1_700_000_000_000


def record(i):
    """Record i of every fixture batch: (timestamp, key, value, headers)."""
    key = None if i % 10 == 0 else ("key-%d" % i).encode()
    value = None if i == 3 else (("value-%d-" % i) + "abcdefghij" * 25).encode()
    headers = [("trace", ("t-%d" % i).encode()), ("empty", None)] if i % 2 == 0 else []
    return BASE_TIMESTAMP + i * 7, key, value, headers


def build(codec):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=CODECS[codec], is_transactional=False,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(COUNT):
        timestamp, key, value, headers = record(i)
        builder.append(i, timestamp=timestamp, key=key, value=value, headers=headers)
    batch = bytes(builder.build())
    attributes = struct.unpack_from(">h", batch, ATTRIBUTES_OFFSET)[0]
    # kafka-python sends a batch uncompressed when compression does not pay; these must be.
    assert attributes & 7 == CODECS[codec], (codec, attributes)
    return batch


def mock_broker(codec, **config):
    """A librdkafka producer running its in-process mock broker, and the broker's address."""
    import logging
    import re

    from confluent_kafka import Producer

    lines = []

    class Capture(logging.Handler):
        def emit(self, entry):
            lines.append(entry.getMessage())

    logger = logging.getLogger("librdkafka-" + codec)
    logger.setLevel(logging.INFO)  # the mock broker's address comes at INFO
    logger.addHandler(Capture())
    producer = Producer(dict(config, **{"test.mock.num.brokers": 1}), logger=logger)
    producer.poll(0)
    address = next(re.search(r"replaced with (\S+)", line).group(1) for line in lines
                   if "replaced with" in line)
    host, port = address.rsplit(":", 1)
    return producer, (host, int(port))


def call(address, api_key, version, body):
    """One request to a broker, and its response after the correlation id."""
    import socket

    request = struct.pack(">hhih", api_key, version, 1, 7) + b"fixture" + body
    with socket.create_connection(address) as connection:
        connection.sendall(struct.pack(">i", len(request)) + request)
        reader = connection.makefile("rb")
        return reader.read(struct.unpack(">i", reader.read(4))[0])[4:]


def produce_with_librdkafka(codec):
    """One batch of the 300 records as librdkafka compresses it: produced to the mock broker
    librdkafka runs in-process (test.mock.num.brokers), then read back with a plain Fetch v4,
    which returns the stored batch bytes untouched (a consumer would decompress them)."""
    producer, address = mock_broker(
        codec, **{"compression.type": codec, "linger.ms": 500, "batch.num.messages": 10000,
                  "batch.size": 1 << 20})
    for i in range(COUNT):
        timestamp, key, value, headers = record(i)
        producer.produce("t", key=key, value=value, headers=headers, timestamp=timestamp,
                         partition=0)
    assert producer.flush(30) == 0, codec

    topic = b"t"
    body = struct.pack(">iiiib", -1, 100, 1, 1 << 22, 0)  # replica, wait, min, max, isolation
    body += struct.pack(">ih", 1, len(topic)) + topic + struct.pack(">iiqi", 1, 0, 0, 1 << 22)
    response = call(address, 1, 4, body)  # Fetch v4
    # throttle, 1 topic (name), 1 partition: id, error, high watermark, last stable offset,
    # aborted transactions, then the records.
    position = 4 + 4 + 2 + len(topic) + 4
    partition, error, high_watermark = struct.unpack_from(">ihq", response, position)
    assert error == 0 and high_watermark == COUNT, (codec, error, high_watermark)
    position += 4 + 2 + 8 + 8
    aborted = struct.unpack_from(">i", response, position)[0]
    position += 4 + max(0, aborted) * 16
    length = struct.unpack_from(">i", response, position)[0]
    batch = response[position + 4:position + 4 + length]
    # One batch holding every record, compressed with the codec asked for.
    assert struct.unpack_from(">i", batch, 8)[0] + 12 == len(batch), codec
    assert struct.unpack_from(">h", batch, ATTRIBUTES_OFFSET)[0] & 7 == CODECS[codec], codec
    assert len(list(DefaultRecordBatch(batch))) == COUNT
    return batch


def fix_crc(batch):
    batch = bytearray(batch)
    struct.pack_into(">I", batch, CRC_OFFSET, calc_crc32c(bytes(batch[ATTRIBUTES_OFFSET:])))
    return bytes(batch)


def with_records_section(batch, section, codec):
    """The batch's header (length, codec and CRC fixed) in front of another records section."""
    header = bytearray(batch[:HEADER_SIZE])
    struct.pack_into(">i", header, 8, HEADER_SIZE - 12 + len(section))
    attributes = struct.unpack_from(">h", header, ATTRIBUTES_OFFSET)[0]
    struct.pack_into(">h", header, ATTRIBUTES_OFFSET, (attributes & ~7) | codec)
    return fix_crc(bytes(header) + section)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def make():
    batches = {codec: build(codec) for codec in CODECS}
    for codec, batch in batches.items():
        # The client's own reader must agree before Sluice is held to these bytes.
        decoded = list(DefaultRecordBatch(batch))
        assert len(decoded) == COUNT and decoded[3].value is None
        write(codec + ".batch", batch)
    decoders = {"gzip": gzip_decode, "snappy": snappy_decode, "lz4": lz4_decode,
                "zstd": zstd_decode}
    for codec, decode in decoders.items():
        # One byte flipped inside the compressed data, from the middle on, at the first place
        # the client's own decoder rejects (without a checksum, as kafka-python writes zstd
        # and snappy, some flips decode to different bytes instead).
        for position in range(HEADER_SIZE + (len(batches[codec]) - HEADER_SIZE) // 2,
                              len(batches[codec])):
            batch = bytearray(batches[codec])
            batch[position] ^= 0x55
            try:
                decode(bytes(batch[HEADER_SIZE:]))
            except Exception:
                break
        else:
            raise AssertionError("no flipped byte breaks " + codec)
        write("corrupt-%s.batch" % codec, fix_crc(bytes(batch)))
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        write("librdkafka-%s.batch" % codec, produce_with_librdkafka(codec))
    from kafka.codec import snappy_encode
    none = batches["none"]
    raw = snappy_encode(none[HEADER_SIZE:], xerial_compatible=False)
    assert snappy_decode(raw) == none[HEADER_SIZE:]
    write("snappy-raw.batch", with_records_section(none, raw, 2))
    gzip_batch = batches["gzip"]
    write("unknown-codec.batch", with_records_section(gzip_batch, gzip_batch[HEADER_SIZE:], 5))
    from kafka.codec import gzip_encode, zstd_encode
    zeros = bytes(65 << 20)
    write("bomb-gzip.batch", with_records_section(gzip_batch, gzip_encode(zeros), 1))
    write("bomb-zstd.batch", with_records_section(gzip_batch, zstd_encode(zeros), 4))
    # Without the content size in the frame header, as zstd-jni's stream (the Java producer)
    # writes frames: only decoding can find the size out.
    import zstandard
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(zeros)
    write("bomb-zstd-unsized.batch", with_records_section(gzip_batch, unsized, 4))


def check(directory):
    decoders = {"gzip": gzip_decode, "snappy": snappy_decode, "lz4": lz4_decode,
                "zstd": zstd_decode}
    for codec, decode in decoders.items():
        with open(os.path.join(directory, codec + ".bin"), "rb") as f:
            compressed = f.read()
        with open(os.path.join(directory, codec + ".raw"), "rb") as f:
            raw = f.read()
        assert decode(compressed) == raw, codec
        print("%s: kafka-python decodes Sluice's %d bytes to the %d expected" % (
            codec, len(compressed), len(raw)))
    # And a whole batch compressed by Sluice, read by the client's batch reader.
    for codec in decoders:
        path = os.path.join(directory, codec + ".batch")
        if os.path.exists(path):
            with open(path, "rb") as f:
                batch = DefaultRecordBatch(fix_crc(f.read()))
            assert batch.compression_type == CODECS[codec], codec
            records = list(batch)
            assert [r.value for r in records] == [record(i)[2] for i in range(len(records))]
            print("%s: kafka-python reads Sluice's batch of %d records" % (codec, len(records)))
            check_with_librdkafka(codec, fix_crc(open(path, "rb").read()), len(records))


def check_with_librdkafka(codec, batch, count):
    """Produces Sluice's batch as it is (Produce v3) to librdkafka's mock broker, then
    consumes it with librdkafka, which decompresses it."""
    from confluent_kafka import Consumer, TopicPartition

    producer, address = mock_broker(codec)
    # Create the topic the usual way first, so the raw produce below finds a leader.
    producer.produce("t", value=b"first", partition=0)
    assert producer.flush(10) == 0
    topic = b"t"
    body = struct.pack(">hhi", -1, -1, 10000)  # no transactional id, acks all, timeout
    body += struct.pack(">ih", 1, len(topic)) + topic
    body += struct.pack(">iii", 1, 0, len(batch)) + batch
    response = call(address, 0, 3, body)
    error = struct.unpack_from(">h", response, 4 + 2 + len(topic) + 4 + 4)[0]
    assert error == 0, (codec, "produce error", error)
    consumer = Consumer({"bootstrap.servers": "%s:%d" % address, "group.id": "check",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("t", 0, 1)])
    messages = []
    while len(messages) < count:
        message = consumer.poll(10)
        assert message is not None and message.error() is None, (codec, message and message.error())
        messages.append(message)
    consumer.close()
    for i, message in enumerate(messages):
        timestamp, key, value, headers = record(i)
        assert (message.key(), message.value()) == (key, value), (codec, i)
        assert (message.headers() or []) == headers, (codec, i, message.headers())
        assert message.timestamp()[1] == timestamp, (codec, i)
    print("%s: librdkafka consumes Sluice's batch of %d records" % (codec, count))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        make()
