#!/usr/bin/env bash
# Builds (once) and starts the pstest Pub/Sub fake in the background; prints host:port.
#   export PUBSUB_EMULATOR_HOST=$(test/pubsub-fake/start.sh)
# Needs Debian's golang-go and golang-google-cloud-dev (installed when missing; run as root).
# The build is GOPATH mode against /usr/share/gocode: no module download, nothing fetched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${PUBSUB_FAKE_DIR:-/tmp/stayos-pubsub-fake}
bin=$dir/pubsub-fake
if [[ ! -x $bin ]]; then
  if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/cloud.google.com/go/pubsub/pstest ]]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-google-cloud-dev) >&2
  fi
  mkdir -p "$dir/src/pubsubfake"
  cp "$here/main.go" "$dir/src/pubsubfake/main.go"
  (cd "$dir" && GO111MODULE=off GOPATH="$dir:/usr/share/gocode" GOCACHE="$dir/cache" go build -o "$bin" pubsubfake) >&2
fi
log=$(mktemp)
setsid "$bin" >"$log" 2>&1 </dev/null &
for _ in $(seq 100); do [[ -s $log ]] && break; sleep 0.1; done
addr=$(head -n 1 "$log")
[[ $addr =~ ^[^:]+:[0-9]+$ ]] || { echo "pubsub fake did not start: $(cat "$log")" >&2; exit 1; }
echo "$addr"
