#!/usr/bin/env bash
# Regenerates the log seeds (Fuzz/corpus/record-batch, Fuzz/corpus/segment-recovery) with the
# log's own encoder.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/opt/swift/usr/bin"
scratch=${FUZZ_BUILD:-.build-fuzz}/seed-tools
mkdir -p "$scratch/include/CRC32C"
printf 'module CRC32C {\n  header "%s/Sources/CRC32C/include/crc32c.h"\n  export *\n}\n' "$PWD" \
  >"$scratch/include/CRC32C/module.modulemap"
clang -O1 -I Sources/CRC32C/include -c Sources/CRC32C/crc32c.c -o "$scratch/crc32c.o"
swiftc -parse-as-library -module-name SluiceCore -I "$scratch/include/CRC32C" \
  Fuzz/SeedTools/LogSeeds.swift Sources/SluiceLog/{RecordBatch,Bytes,CRC32C,LogTypes}.swift \
  Sources/SluiceCore/Records/{Record,Clock}.swift "$scratch/crc32c.o" -o "$scratch/log-seeds" \
  2>&1 | grep error || true
"$scratch/log-seeds" Fuzz/corpus
