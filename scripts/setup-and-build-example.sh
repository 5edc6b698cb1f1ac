#!/usr/bin/env bash
# One command for a fresh Debian machine: installs what is missing, builds cairn, then builds the
# bundled example (a busybox base image, then a two-stage app on it) with a local cache export.
# Needs root (apt, overlay mounts, runc). State goes to $CAIRN_ROOT (default ./.cairn).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "run this as root (e.g. sudo $0)" >&2; exit 1; fi

need=()
for p in runc busybox-static skopeo umoci gcc libc6-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/bundle/cairn.cjs ] || npm run build

export CAIRN_ROOT=${CAIRN_ROOT:-$PWD/.cairn}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}   # a reproducible base image, identical in every --root
cp "$(readlink -f "$(command -v busybox)")" examples/hello/base/busybox
bin/cairn build -t cairn-example/base examples/hello/base
# The local cache (an OCI layout directory): a second run, even with a fresh --root, gets every step from it.
bin/cairn build -t cairn-example/app -o type=oci,dest=.cairn-example-app.tar \
  --cache-from type=local,src=.cairn-example-cache --cache-to type=local,dest=.cairn-example-cache,mode=max \
  --metadata-file .cairn-example-metadata.json examples/hello/app
echo
echo "built cairn-example/app: $(grep -o '"containerimage.digest": "[^"]*"' .cairn-example-metadata.json)"
echo "OCI archive: .cairn-example-app.tar (try: skopeo inspect oci-archive:.cairn-example-app.tar)"
echo "build cache: .cairn-example-cache (try: CAIRN_ROOT=\$(mktemp -d) $0 — every step comes from the cache)"
