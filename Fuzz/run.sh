#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Targets/*.swift, each compiled with the product sources it
# fuzzes as one module, `swiftc -sanitize=fuzzer,address`) and runs each for FUZZ_SECONDS on its
# committed corpus (Fuzz/corpus/<target>/). Exits non-zero when any target finds a crash, and
# prints the reproducer's path.
#
#   Fuzz/run.sh                 build and run every target (FUZZ_SECONDS, default 60)
#   Fuzz/run.sh json pgoutput   only these targets
#   Fuzz/run.sh --build         only build
#   Fuzz/run.sh --merge         add what earlier runs found that adds coverage (FUZZ_BUILD/found)
#                               to the committed corpus, minimised (libFuzzer -merge=1)
#
# FUZZ_BUILD (default .build-fuzz, ignored by git) holds the dependency checkouts (Yams, through
# `swift package resolve`), the binaries, and the corpus entries each run finds
# (FUZZ_BUILD/found/<target>; the committed corpus is only read). A reproducer lands in
# FUZZ_BUILD/crashes/<target>/; replay it with `FUZZ_BUILD/fuzz/<target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
seconds=${FUZZ_SECONDS:-60}
# The Kafka request decoder takes bytes from any client that can reach the listener: it runs
# at least a minute however short the others' runs are (issue 13).
kafka_request_seconds=$(( seconds > 60 ? seconds : 60 ))
scratch=${FUZZ_BUILD:-.build-fuzz}
out="$scratch/fuzz"
opt=${FUZZ_OPT:--Onone}
# The Swift runtime's backtracer would catch a trap before libFuzzer and ASan see it.
export SWIFT_BACKTRACE=enable=no

all_targets=(record-batch segment-recovery pgoutput json produce-request webhook config mqtt-payload kafka-request decompress)

# MARK: - Sources of each target

core=(
  Sources/SluiceCore/Config/*.swift Sources/SluiceCore/Config/KafkaConnect/*.swift
  Sources/SluiceCore/Transforms/*.swift Sources/SluiceCore/Transforms/*/*.swift
  Sources/SluiceCore/Records/*.swift
  Sources/SluiceCore/Connectors/*.swift
  Sources/SluiceCore/Store/*.swift Sources/SluiceCore/Offsets/*.swift Sources/SluiceCore/IO/*.swift
  Sources/SluiceCore/Worker/{SinkErrorPolicy,SourceHistory,SluiceVersion}.swift
)
log=(
  Sources/SluiceLog/RecordBatch.swift Sources/SluiceLog/Bytes.swift Sources/SluiceLog/CRC32C.swift
  Sources/SluiceCore/IO/BigEndianReader.swift
  Sources/SluiceLog/LogTypes.swift Sources/SluiceCore/Records/Record.swift
  Sources/SluiceCore/Records/EncodedRecords.swift Sources/SluiceCore/Records/RecordsCompressor.swift
  Sources/SluiceCore/Records/Clock.swift Sources/SluiceCore/IO/WriteAll.swift
)

# The CDC source's files that need no database, task runtime or metrics: every file under
# Connectors/PostgresCDC (subfolders too) but those naming SluicePostgres, PostgresConnection,
# a SourceTask or swift-metrics, and the alias of SluiceCore's JSONWriter (the fuzz module is
# SluiceCore itself). Found by grep rather than listed, so a new file of pure
# decoding or config code is fuzzed without editing this script (a hand-kept list broke three
# times).
cdc_pure() {
  grep -rL -E 'SluicePostgres|PostgresConnection|SourceTask|import (Core)?Metrics|MetricsScope' \
    --include='*.swift' Connectors/PostgresCDC | sort
}

# Prints the files of a target, and sets `needs` to what it links: yams, crypto, crc32c,
# compression (the SluiceCompression module over the system's zlib, snappy, lz4 and zstd).
sources() {
  case $1 in
  record-batch) needs="crc32c compression"; echo Fuzz/Targets/RecordBatchFuzz.swift "${log[@]}" ;;
  segment-recovery)
    needs="crc32c compression"
    echo Fuzz/Targets/SegmentRecoveryFuzz.swift "${log[@]}" \
      Sources/SluiceLog/RecordBatch+Compression.swift Sources/SluiceLog/Segment.swift Sources/SluiceLog/SegmentRecovery.swift Sources/SluiceLog/FileIO.swift Sources/SluiceLog/OffsetIndex.swift Sources/SluiceLog/TimeIndex.swift Sources/SluiceLog/PartitionTransactions.swift Sources/SluiceLog/StoredBatchInfo.swift Sources/SluiceLog/TransactionMarker.swift Sources/SluiceLog/ProducedBatch.swift Sources/SluiceLog/DescriptorPool.swift ;;
  pgoutput)
    needs="yams"
    echo Fuzz/Targets/PgOutputFuzz.swift Fuzz/Shims/PostgresCDCShim.swift "${core[@]}" \
      $(cdc_pure) ;;
  json)
    needs=""
    echo Fuzz/Targets/JSONFuzz.swift Sources/SluiceCore/Records/{JSONValidator,JSONScanner,JSONObjectReader,JSONPointer,JSONValue,JSONValue+Parse,JSONWriter,RecordJSON,Record,Clock}.swift ;;
  produce-request)
    needs="yams"
    echo Fuzz/Targets/ProduceRequestFuzz.swift Fuzz/Shims/SluiceAPIShim.swift "${core[@]}" \
      Sources/SluiceAPI/ProduceRequest.swift ;;
  webhook)
    needs="yams crypto"
    echo Fuzz/Targets/WebhookFuzz.swift "${core[@]}" Connectors/Webhook/{WebhookConfig,SignatureCheck}.swift ;;
  config)
    needs="yams crypto"
    echo Fuzz/Targets/ConfigFuzz.swift "${core[@]}" Connectors/Webhook/{WebhookConfig,SignatureCheck}.swift \
      Connectors/MQTT/MQTTConfig.swift Fuzz/Shims/PostgresCDCShim.swift $(cdc_pure) ;;
  mqtt-payload)
    needs="yams"
    echo Fuzz/Targets/MQTTPayloadFuzz.swift "${core[@]}" \
      Connectors/MQTT/{PayloadPointer,MQTTRecordMapper,MQTTMessage,MQTTConfig}.swift ;;
  kafka-request)
    needs=""
    echo Fuzz/Targets/KafkaRequestFuzz.swift Sources/SluiceKafka/Protocol/*.swift Sources/SluiceKafka/Messages/*.swift ;;
  decompress) needs="compression"; echo Fuzz/Targets/DecompressFuzz.swift ;;
  *) echo "unknown target '$1' (known: ${all_targets[*]})" >&2; return 1 ;;
  esac
}

# Largest input each target is given, and extra libFuzzer flags.
max_len() {
  case $1 in
  pgoutput) echo 20000 ;;
  segment-recovery | record-batch) echo 8192 ;;
  config) echo 4096 ;;
  decompress) echo 16384 ;;
  *) echo 8192 ;;
  esac
}

# MARK: - Building

swiftc_fuzz=(swiftc -sanitize=fuzzer,address -parse-as-library "$opt" -g -use-ld=lld)
cc_fuzz=(clang -O1 -g -fsanitize=address,fuzzer-no-link)
compression_includes=(-I "$PWD/Sources/CZlib" -I "$PWD/Sources/CSnappy" -I "$PWD/Sources/CLZ4" -I "$PWD/Sources/CZstd")

build_deps() {
  mkdir -p "$out/include/CRC32C" "$out/modules" "$out/obj"
  printf 'module CRC32C {\n  header "%s/Sources/CRC32C/include/crc32c.h"\n  export *\n}\n' "$PWD" \
    >"$out/include/CRC32C/module.modulemap"
  if [ ! -f "$out/obj/crc32c.o" ] || [ Sources/CRC32C/crc32c.c -nt "$out/obj/crc32c.o" ]; then
    "${cc_fuzz[@]}" -I Sources/CRC32C/include -c Sources/CRC32C/crc32c.c -o "$out/obj/crc32c.o"
  fi
  if [ ! -f "$out/modules/Crypto.swiftmodule" ] || [ Fuzz/Shims/Crypto/Crypto.swift -nt "$out/modules/Crypto.swiftmodule" ]; then
    (cd "$out/obj" && swiftc -parse-as-library -O -module-name Crypto -emit-library -static \
      -emit-module -emit-module-path ../modules/Crypto.swiftmodule \
      "$OLDPWD/Fuzz/Shims/Crypto/Crypto.swift" -o libCrypto.a)
  fi
  # SluiceCompression as a module of its own (its files import the C modules; the product
  # files importing it then build unchanged), instrumented like the targets.
  local compression_lib="$out/obj/libSluiceCompression.a" stale=0 file
  [ -f "$compression_lib" ] || stale=1
  for file in Sources/SluiceCompression/*.swift; do [ "$file" -nt "$compression_lib" ] && stale=1; done
  if [ $stale = 1 ]; then
    echo "building SluiceCompression"
    (cd "$out/obj" && "${swiftc_fuzz[@]}" -module-name SluiceCompression -emit-library -static \
      -emit-module -emit-module-path ../modules/SluiceCompression.swiftmodule \
      "${compression_includes[@]}" "$OLDPWD"/Sources/SluiceCompression/*.swift \
      -o libSluiceCompression.a >../compression.build.log 2>&1) \
      || { grep -E 'error' "$out/compression.build.log" >&2; return 1; }
  fi
  if [ ! -f "$out/modules/Yams.swiftmodule" ]; then
    local yams="$scratch/checkouts/Yams/Sources"
    if [ ! -d "$yams" ]; then
      # The product build's checkout when there is one (same Package.swift, same version).
      if [ -d .build/checkouts/Yams/Sources ]; then
        mkdir -p "$scratch/checkouts"
        cp -R .build/checkouts/Yams "$scratch/checkouts/Yams"
      else
        swift package resolve --scratch-path "$scratch" >"$out/resolve.log" 2>&1 \
          || { cat "$out/resolve.log" >&2; return 1; }
      fi
    fi
    echo "building Yams (once)"
    for file in "$yams"/CYaml/src/*.c; do
      "${cc_fuzz[@]}" -DYAML_DECLARE_STATIC -I "$yams/CYaml/include" -c "$file" \
        -o "$out/obj/cyaml-$(basename "$file" .c).o"
    done
    local abs_yams
    abs_yams=$(cd "$yams" && pwd)
    (cd "$out/obj" && "${swiftc_fuzz[@]}" -module-name Yams -D SWIFT_PACKAGE \
      -Xcc -DYAML_DECLARE_STATIC -I "$abs_yams/CYaml/include" -emit-library -static \
      -emit-module -emit-module-path ../modules/Yams.swiftmodule "$abs_yams"/Yams/*.swift \
      -o libYams.a 2>&1 | grep -E 'error' || true)
    [ -f "$out/modules/Yams.swiftmodule" ] || { echo "building Yams failed" >&2; return 1; }
  fi
  # swift-log: the connector protocols the config files reach name its Logger.
  if [ ! -f "$out/modules/Logging.swiftmodule" ]; then
    local logging="$scratch/checkouts/swift-log/Sources/Logging"
    if [ ! -d "$logging" ]; then
      if [ -d .build/checkouts/swift-log/Sources/Logging ]; then
        mkdir -p "$scratch/checkouts"
        cp -R .build/checkouts/swift-log "$scratch/checkouts/swift-log"
      else
        swift package resolve --scratch-path "$scratch" >"$out/resolve.log" 2>&1 \
          || { cat "$out/resolve.log" >&2; return 1; }
      fi
    fi
    echo "building Logging (once)"
    local abs_logging
    abs_logging=$(cd "$logging" && pwd)
    (cd "$out/obj" && "${swiftc_fuzz[@]}" -module-name Logging -package-name swift_log \
      -emit-library -static -emit-module -emit-module-path ../modules/Logging.swiftmodule \
      $(find "$abs_logging" -name '*.swift') -o libLogging.a 2>&1 | grep -E 'error' || true)
    [ -f "$out/modules/Logging.swiftmodule" ] || { echo "building Logging failed" >&2; return 1; }
  fi
}

build_target() {
  local target=$1 files needs=""
  files=$(sources "$target")
  sources "$target" >/dev/null  # sets `needs` in this shell (the line above ran in a subshell)
  local binary="$out/$target"
  local stale=0
  [ -f "$binary" ] || stale=1
  for file in $files; do [ "$file" -nt "$binary" ] && stale=1; done
  case " $needs " in *" compression "*) [ "$out/obj/libSluiceCompression.a" -nt "$binary" ] && stale=1 ;; esac
  [ $stale = 0 ] && return 0
  local extra=()
  for need in $needs; do
    case $need in
    crc32c) extra+=(-I "$out/include/CRC32C" "$out/obj/crc32c.o") ;;
    yams)
      # Every target with the config files needs Yams, and swift-log with it.
      extra+=(-I "$out/modules" -I "$scratch/checkouts/Yams/Sources/CYaml/include"
        -Xcc -DYAML_DECLARE_STATIC "$out/obj/libYams.a" "$out"/obj/cyaml-*.o
        "$out/obj/libLogging.a") ;;
    crypto) extra+=(-I "$out/modules" "$out/obj/libCrypto.a") ;;
    compression)
      extra+=(-I "$out/modules" "${compression_includes[@]}" "$out/obj/libSluiceCompression.a"
        -lz -lsnappy -llz4 -lzstd) ;;
    esac
  done
  echo "building $target"
  # One module named SluiceCore: the product files' `import SluiceCore` is then a no-op.
  # shellcheck disable=SC2086
  if ! "${swiftc_fuzz[@]}" -module-name SluiceCore $files "${extra[@]}" -o "$binary" \
    >"$out/$target.build.log" 2>&1; then
    grep -E 'error' "$out/$target.build.log" >&2 || cat "$out/$target.build.log" >&2
    return 1
  fi
}

# MARK: - Running

run_target() {
  local target=$1
  local corpus="Fuzz/corpus/$target" found="$scratch/found/$target" crashes="$scratch/crashes/$target"
  mkdir -p "$corpus" "$found" "$crashes"
  local run_seconds=$seconds
  [ "$target" = kafka-request ] && run_seconds=$kafka_request_seconds
  echo "== $target: ${run_seconds}s"
  local status=0
  # New inputs go to `found` (first corpus directory); the committed corpus is read only.
  "$out/$target" -max_total_time="$run_seconds" -max_len="$(max_len "$target")" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" "$found" "$corpus" \
    >"$scratch/$target.log" 2>&1 || status=$?
  grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$scratch/$target.log" | tail -2 || true
  if [ $status -ne 0 ]; then
    echo "!! $target failed (exit $status); log: $scratch/$target.log" >&2
    grep -E 'ERROR|Fatal error|precondition|artifact_prefix|Test unit written' "$scratch/$target.log" \
      | head -8 >&2 || true
    return 1
  fi
}

merge_target() {
  local target=$1 corpus="Fuzz/corpus/$1" found="$scratch/found/$1"
  [ -d "$found" ] || return 0
  echo "== merging $found into $corpus"
  "$out/$target" -merge=1 -max_len="$(max_len "$target")" -rss_limit_mb=2048 "$corpus" "$found" \
    >"$scratch/$target.merge.log" 2>&1 || { tail -5 "$scratch/$target.merge.log" >&2; return 1; }
  grep -E 'MERGE-OUTER: [0-9]+ new files' "$scratch/$target.merge.log" || true
}

build_only=0
merge=0
targets=()
for arg in "$@"; do
  case $arg in
  --build) build_only=1 ;;
  --merge) merge=1 ;;
  *) targets+=("$arg") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

build_deps
for target in "${targets[@]}"; do build_target "$target"; done
[ $build_only = 1 ] && exit 0
if [ $merge = 1 ]; then
  for target in "${targets[@]}"; do merge_target "$target"; done
  exit 0
fi

failed=()
for target in "${targets[@]}"; do run_target "$target" || failed+=("$target"); done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (reproducers in $scratch/crashes/)" >&2
  exit 1
fi
echo "fuzzing: no crashes in ${targets[*]} (${seconds}s each, kafka-request ${kafka_request_seconds}s)"
