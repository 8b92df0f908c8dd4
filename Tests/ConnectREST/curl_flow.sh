#!/usr/bin/env bash
# The lifecycle of Tests/ConnectREST/kcpy_flow.py with curl and the JSON of Kafka Connect's docs
# ("Kafka Connect REST Interface"): create, get, update, pause, resume, stop, offsets, restart,
# delete. Each step checks the status code and what the answer says; any mismatch exits 1.
#
# usage: curl_flow.sh URL WORKDIR
set -euo pipefail
url=$1
work=$2
in="$work/curl-in.txt"
out="$work/curl-out.txt"
: > "$in"

fail() { echo "FAILED: $*" >&2; exit 1; }

# call METHOD PATH [BODY] → sets $code and $body
call() {
  local method=$1 path=$2 data=${3:-}
  local args=(-s -o "$work/.body" -w '%{http_code}' -X "$method" "$url$path")
  if [[ -n $data ]]; then args+=(-H 'Content-Type: application/json' --data "$data"); fi
  code=$(curl "${args[@]}")
  body=$(cat "$work/.body")
}

expect() { [[ $code == "$1" ]] || fail "$2: HTTP $code, wanted $1: $body"; }
has() { [[ $body == *"$1"* ]] || fail "$2: '$1' not in $body"; }

eventually() {
  local what=$1; shift
  for _ in $(seq 1 200); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "timed out: $what"
}
state_is() { call GET "/connectors/$1/status"; [[ $body == *"\"connector\":{\"state\":\"$2\""* ]]; }
lines_are() { [[ -f $out && "$(cat "$out")" == "$1" ]]; }

call POST /connectors "{\"name\": \"curl-source\", \"config\": {\"connector.class\": \"FileStreamSource\", \"tasks.max\": \"1\", \"file\": \"$in\", \"topic\": \"curl-test\"}}"
expect 201 "create the source"
has '"type":"source"' "create answers the info"
call POST /connectors "{\"name\": \"curl-sink\", \"config\": {\"connector.class\":\"FileStreamSinkConnector\", \"tasks.max\":\"1\", \"file\":\"$out\", \"topics\":\"curl-test\" }}"
expect 201 "create the sink"
call GET /connectors/curl-sink
expect 200 "get"
has "\"topics\":\"curl-test\"" "get shows the config"

printf 'a\nb\n' >> "$in"
eventually "lines through" lines_are $'a\nb'

call PUT /connectors/curl-source/config "{\"connector.class\": \"FileStreamSource\", \"tasks.max\": \"1\", \"file\": \"$in\", \"topic\": \"curl-test\"}"
expect 200 "update"
call GET /connectors/curl-source/config
expect 200 "get config"
has "\"tasks.max\":\"1\"" "config after the update"

call PUT /connectors/curl-source/pause
expect 202 "pause"
eventually "paused" state_is curl-source PAUSED
printf 'c\n' >> "$in"
sleep 1
lines_are $'a\nb' || fail "a line moved while paused"
call PUT /connectors/curl-source/resume
expect 202 "resume"
eventually "resumed" lines_are $'a\nb\nc'

call PUT /connectors/curl-sink/stop
expect 204 "stop"
eventually "stopped" state_is curl-sink STOPPED
call GET /connectors/curl-sink/offsets
expect 200 "get offsets"
has '"kafka_offset":3' "the sink's offset after three records"
call PATCH /connectors/curl-sink/offsets '{"offsets":[{"partition":{"kafka_topic":"curl-test","kafka_partition":0},"offset":{"kafka_offset":2}}]}'
expect 200 "alter offsets"
has '"message"' "alter answers a message"
call PUT /connectors/curl-sink/resume
expect 202 "resume the sink"
eventually "redelivered from offset 2" lines_are $'a\nb\nc\nc'
call PUT /connectors/curl-sink/stop
expect 204 "stop again"
call DELETE /connectors/curl-sink/offsets
expect 200 "reset offsets"
call PUT /connectors/curl-sink/resume
eventually "redelivered from the start" lines_are $'a\nb\nc\nc\na\nb\nc'

call POST "/connectors/curl-source/restart?includeTasks=true&onlyFailed=false"
expect 202 "restart with tasks"
has '"name":"curl-source"' "restart answers the status"
call POST /connectors/curl-source/tasks/0/restart
expect 204 "restart a task"
call DELETE /connectors/curl-source
expect 204 "delete the source"
call DELETE /connectors/curl-sink
expect 204 "delete the sink"
call GET /connectors/curl-source
expect 404 "gone"
has '"error_code":404' "a Kafka Connect error body"
echo "curl flow: ok"
