#!/usr/bin/env python3
"""Writes the seeds of the `decompress` fuzz target (Fuzz/corpus/decompress/) from the
records sections of the kafka-python and librdkafka batches in
Tests/SluiceCompressionTests/Fixtures: each
codec's real producer output, its damaged copy and the zstd bomb, under a few output limits,
plus a raw (unframed) snappy block. Input layout: Fuzz/Targets/DecompressFuzz.swift.

Also two segment-recovery seeds (Fuzz/corpus/segment-recovery/): a segment holding the gzip
and the zstd batch, so that target reaches the log's decompressing read path."""
import hashlib
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "Tests", "SluiceCompressionTests", "Fixtures")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus", "decompress")
CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
HEADER_SIZE = 61
MAX_LEN = 16384  # Fuzz/run.sh's max_len for the target


def seed(codec, limit_index, data):
    data = bytes([codec | limit_index << 3]) + data
    assert len(data) <= MAX_LEN, len(data)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(data)


def section(name):
    with open(os.path.join(FIXTURES, name + ".batch"), "rb") as f:
        return f.read()[HEADER_SIZE:]


os.makedirs(CORPUS, exist_ok=True)
for codec, code in CODECS.items():
    # Limit 1 MiB (index 6) decodes them whole; 4 KiB (index 2) stops them part way.
    for limit_index in (6, 2):
        seed(code, limit_index, section(codec))
    seed(code, 6, section("corrupt-" + codec))
    seed(code, 6, section("librdkafka-" + codec))
seed(4, 7, section("bomb-zstd"))
seed(4, 7, section("bomb-zstd-unsized"))
seed(2, 1, bytes([5, 4 << 2]) + b"hello")  # raw snappy: length 5, one literal
seed(0, 1, b"uncompressed records")
seed(5, 0, b"codec 5")

# segment-recovery input: flags (0: recover, fix CRCs), index length 0, then the log file.
for codec in ("gzip", "zstd"):
    with open(os.path.join(FIXTURES, codec + ".batch"), "rb") as f:
        data = bytes([0, 0, 0]) + f.read()
    path = os.path.join(ROOT, "Fuzz", "corpus", "segment-recovery", hashlib.sha1(data).hexdigest())
    with open(path, "wb") as f:
        f.write(data)
