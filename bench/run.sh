#!/usr/bin/env bash
# cairn vs BuildKit, side by side in one run (see bench/README.md). Entry point of `npm run bench`.
#
#   BENCH_RUNS=3                       timed runs per scenario and builder (median is reported)
#   BENCH_EXPORT_RUNS=15               pairs of w1-cold-export (default: BENCH_RUNS, at least 15: single pairs move
#                                      by ±10 points, so a verdict on the export overhead needs many)
#   BENCH_SCENARIOS=w1-cold,w1-noop,w1-onefile,w2-cold,w3-cold,w3-noop   (default: all)
#   BENCH_BUILDERS=cairn,buildkit      drop buildkit for cairn-only figures
#   BENCH_SKIP_BUILD=1                 do not run `npm run build` first
#   BENCH_CAIRN_NODE_OPTS="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra node flags for timed cairn runs
#   BENCH_GENERATE=../shared/bench-workloads/generate.sh          workload generator (relative to the repo)
#   BENCH_FS=loop                      state of both builders on a fresh journaled ext4 loop filesystem
#                                      (bench/work/fs.img, BENCH_FS_SIZE=16G sparse); BENCH_FS=host: in bench/work
#
# Needs: node 20, python3 + busybox-static (generator), docker-registry (the base image), /usr/bin/time (package `time`, installed if missing),
# and for the BuildKit side Debian's docker.io (dockerd 20.10 + containerd; `apt-get install -y docker.io`).
# A private dockerd is started with its own data/exec root and socket under bench/work/docker, no bridge,
# no iptables, no ip forwarding, and stopped on exit.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH")
cd "$REPO"
WORK=$BENCH/work
RESULTS=$BENCH/results
RUNS=${BENCH_RUNS:-3}
EXPORT_RUNS=${BENCH_EXPORT_RUNS:-$((RUNS > 15 ? RUNS : 15))}
ALL_SCENARIOS=w1-cold,w1-noop,w1-onefile,w2-cold,w3-cold,w3-noop,w1-cold-export,w1-fresh-cache
SCENARIOS=${BENCH_SCENARIOS:-$ALL_SCENARIOS}
BUILDERS=${BENCH_BUILDERS:-cairn,buildkit}
GENERATE=${BENCH_GENERATE:-../shared/bench-workloads/generate.sh}
read -r -a CAIRN_NODE_OPTS <<<"${BENCH_CAIRN_NODE_OPTS:-}"

BUILD_NOTE=
WL=$WORK/workloads
FS_MODE=${BENCH_FS:-loop}
FS_IMG=$WORK/fs.img
FS_MNT=$WORK/fs
STATE=$WORK # where both builders keep their state (FS_MNT when FS_MODE=loop)
DOCKER_DIR=$WORK/docker # socket, exec root, pidfile, log (the data root goes under STATE)
DOCKER=/usr/bin/docker # Debian's client (docker.io), not a newer client that may be first on PATH
LOGS=$WORK/logs
SAMPLES=$WORK/samples.jsonl
ONEFILE=w1/src/app/d05/f0700.txt
BASE_REF=bench/base

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
has() { [[ ",$1," == *",$2,"* ]]; }

for s in ${SCENARIOS//,/ }; do has "$ALL_SCENARIOS" "$s" || die "unknown scenario '$s' (known: $ALL_SCENARIOS)"; done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
[[ $EXPORT_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_EXPORT_RUNS must be a positive integer, got '$EXPORT_RUNS'"
[[ $FS_MODE == loop || $FS_MODE == host ]] || die "BENCH_FS must be loop or host, got '$FS_MODE'"

# ---------------------------------------------------------------- prerequisites
command -v python3 >/dev/null || die "python3 is needed by the workload generator"
command -v busybox >/dev/null || die "busybox is needed by the workload generator: apt-get install -y busybox-static"
command -v docker-registry >/dev/null || die "the base image is served by Debian's docker-registry: apt-get install -y docker-registry"
if [[ ! -x /usr/bin/time ]]; then
  say "installing GNU time (/usr/bin/time) for peak RSS"
  DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null || die "apt-get install -y time failed"
fi
[[ -f $GENERATE ]] || die "workload generator not found at $GENERATE (set BENCH_GENERATE)"
if [[ ${BENCH_SKIP_BUILD:-} != 1 ]]; then
  say "npm run build"
  mkdir -p "$WORK"
  if ! npm run build --silent >"$WORK/build.log" 2>&1; then
    # tsc still emits on type errors (other work in progress in the tree); only a missing dist is fatal
    [[ -f $REPO/dist/bundle/cairn.cjs ]] || { cat "$WORK/build.log" >&2; die "npm run build failed"; }
    BUILD_NOTE="npm run build reported $(grep -c 'error TS' "$WORK/build.log") type errors; dist was emitted anyway (bench/work/build.log)"
    say "WARNING: $BUILD_NOTE"
  fi
fi

mkdir -p "$WORK" "$RESULTS"
rm -rf "$LOGS"
mkdir -p "$LOGS"
: >"$SAMPLES"

say "generating workloads into ${WL#"$REPO"/} (FROM $BASE_REF)"
BASE_IMAGE=$BASE_REF bash "$GENERATE" "$WL" >/dev/null
ONEFILE_ORIG=$WORK/onefile.orig
cp "$WL/$ONEFILE" "$ONEFILE_ORIG"

# ---------------------------------------------------------------- dockerd (BuildKit side)
DOCKERD_PID=
IPFWD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo)
BK_NOTE=
REGISTRY_PID=
cleanup() {
  set +e
  [[ -n $REGISTRY_PID ]] && kill "$REGISTRY_PID" 2>/dev/null
  [[ -f $ONEFILE_ORIG && -d $WL/w1 ]] && cp "$ONEFILE_ORIG" "$WL/$ONEFILE"
  if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "stopping dockerd (pid $DOCKERD_PID)"
    kill -TERM "$DOCKERD_PID"
    for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
  fi
  if mountpoint -q "$FS_MNT"; then
    umount "$FS_MNT" 2>/dev/null || { sleep 2; umount "$FS_MNT" 2>/dev/null; } || umount -l "$FS_MNT"
  fi
  [[ ${BENCH_KEEP_FS:-} == 1 ]] || rm -f "$FS_IMG"
  local now
  now=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo)
  if [[ -n $IPFWD_BEFORE && $now != "$IPFWD_BEFORE" ]]; then
    say "restoring net.ipv4.ip_forward=$IPFWD_BEFORE"
    echo "$IPFWD_BEFORE" >/proc/sys/net/ipv4/ip_forward
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an interrupted run of this script: its dockerd (by pidfile), then its loop filesystem.
if [[ -f $DOCKER_DIR/dockerd.pid ]]; then
  old=$(cat "$DOCKER_DIR/dockerd.pid")
  if [[ -n $old ]] && kill -0 "$old" 2>/dev/null && grep -q dockerd "/proc/$old/comm" 2>/dev/null; then
    say "stopping a dockerd left by an earlier bench run (pid $old)"
    kill -TERM "$old"
    for _ in $(seq 60); do kill -0 "$old" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$DOCKER_DIR/dockerd.pid"
fi
mountpoint -q "$FS_MNT" && umount "$FS_MNT"
rm -rf "$WORK/cairn-root" "$WORK/docker-data" "$DOCKER_DIR/data"

# This VM's root ext4 has no journal, and there ext4 scans "recently deleted" inodes on every create
# (__ext4_new_inode → recently_deleted): creating a file costs 30-500 us depending on the directory's
# block group history, which made the same RUN 1.2 s in one directory and 2.7 s in another. A fresh,
# journaled ext4 per run puts both builders on the same footing (see bench/README.md).
if [[ $FS_MODE == loop ]]; then
  command -v mkfs.ext4 >/dev/null || die "BENCH_FS=loop needs mkfs.ext4 (e2fsprogs); or set BENCH_FS=host"
  rm -f "$FS_IMG"
  truncate -s "${BENCH_FS_SIZE:-16G}" "$FS_IMG"
  mkfs.ext4 -q -F "$FS_IMG"
  mkdir -p "$FS_MNT"
  mount -o loop "$FS_IMG" "$FS_MNT" || die "cannot loop-mount $FS_IMG; set BENCH_FS=host"
  STATE=$FS_MNT
  say "state on a fresh ext4 loop filesystem at ${FS_MNT#"$REPO"/}"
fi
CAIRN_ROOT=$STATE/cairn-root

dk() { DOCKER_BUILDKIT=1 DOCKER_HOST="unix://$DOCKER_DIR/docker.sock" DOCKER_CONFIG="$DOCKER_DIR/config" "$DOCKER" "$@"; }

start_dockerd() {
  if [[ ! -x $DOCKER ]] || ! command -v dockerd >/dev/null; then
    BK_NOTE="BuildKit skipped: Debian's docker.io is not installed (apt-get install -y docker.io)"
    return 1
  fi
  mkdir -p "$STATE/docker-data" "$DOCKER_DIR/exec" "$DOCKER_DIR/config"
  say "starting dockerd ($(dockerd --version | sed 's/,.*//')) on $DOCKER_DIR/docker.sock"
  setsid dockerd --data-root "$STATE/docker-data" --exec-root "$DOCKER_DIR/exec" \
    --pidfile "$DOCKER_DIR/dockerd.pid" -H "unix://$DOCKER_DIR/docker.sock" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    >"$DOCKER_DIR/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    dk version >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 15 "$DOCKER_DIR/dockerd.log" >&2
  BK_NOTE="BuildKit skipped: dockerd did not come up (see bench/work/docker/dockerd.log)"
  return 1
}

if has "$BUILDERS" buildkit; then
  if ! start_dockerd; then
    say "$BK_NOTE; continuing with cairn only"
    BUILDERS=cairn
  fi
fi

# ---------------------------------------------------------------- timed builds
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# record SCENARIO BUILDER RUN SECONDS RSS_KB|null CACHED TOTAL OK
record() {
  printf '{"scenario":"%s","builder":"%s","run":%d,"seconds":%s,"maxRssKb":%s,"cachedSteps":%d,"totalSteps":%d,"ok":%s}\n' \
    "$@" >>"$SAMPLES"
}

# Extra arguments of the scenario being run (cache export/import), for each builder.
CAIRN_ARGS=()
BK_ARGS=()
cairn_cmd() { # cairn_cmd WORKLOAD [extra args]; CAIRN_TIME=file wraps it in /usr/bin/time -v
  local w=$1 pre=()
  shift
  [[ -n ${CAIRN_TIME:-} ]] && pre=(/usr/bin/time -v -o "$CAIRN_TIME")
  # bin/cairn, the installed command (it keeps NODE_EXTRA_CA_CERTS out of node's startup); node flags go through CAIRN_NODE_OPTIONS
  [[ ${#CAIRN_NODE_OPTS[@]} -gt 0 ]] && pre+=(env "CAIRN_NODE_OPTIONS=${CAIRN_NODE_OPTS[*]}")
  "${pre[@]}" "$REPO/bin/cairn" build --root "$CAIRN_ROOT" --progress plain \
    -t "bench/$w" "${CAIRN_ARGS[@]}" "$@" "$WL/$w"
}
bk_cmd() { dk build --progress plain --network host -t "bench/$1" "${BK_ARGS[@]}" "$WL/$1"; }

# cairn's steps from --metadata-file, FROM steps left out: prints "cached total"
cairn_steps() {
  node -e 'try { const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))["cairn.steps"] ?? [];
    const t = s.filter((x) => !/\] FROM /.test(x.name)); console.log(t.filter((x) => x.cached).length, t.length)
  } catch { console.log(-1, -1) }' "$1"
}
# BuildKit's steps from plain progress: vertices named "[stage n/m] ..." but FROM, and how many say CACHED
bk_steps() {
  awk '/^#[0-9]+ \[/ && !/\[internal\]/ && !/\] FROM / { v[$1] = 1 } /^#[0-9]+ CACHED/ { c[$1] = 1 }
    END { n = 0; k = 0; for (x in v) { n++; if (x in c) k++ }; print k, n }' "$1"
}

# timed SCENARIO BUILDER RUN WORKLOAD
timed() {
  local scenario=$1 builder=$2 run=$3 w=$4 log=$LOGS/$1-$2-$3.log t0 t1 rc=0 rss=null steps
  sync
  if [[ $builder == cairn ]]; then
    local tv=$LOGS/$1-$2-$3.time meta=$LOGS/$1-$2-$3.metadata.json
    t0=$(now_ns)
    CAIRN_TIME=$tv cairn_cmd "$w" --metadata-file "$meta" >"$log" 2>&1 || rc=$?
    t1=$(now_ns)
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    steps=$(cairn_steps "$meta")
  else
    t0=$(now_ns)
    bk_cmd "$w" >"$log" 2>&1 || rc=$?
    t1=$(now_ns)
    steps=$(bk_steps "$log")
  fi
  local s
  s=$(secs "$t0" "$t1")
  # shellcheck disable=SC2086
  record "$scenario" "$builder" "$run" "$s" "${rss:-null}" $steps "$([[ $rc == 0 ]] && echo true || echo false)"
  if [[ $rc != 0 ]]; then
    say "  $builder run $run FAILED (exit $rc), last lines of ${log#"$REPO"/}:"
    tail -n 8 "$log" >&2
  else
    say "  $builder run $run: ${s}s$([[ $rss != null ]] && echo ", peak RSS $((rss / 1024)) MB"), cached steps ${steps/ //}"
  fi
}

# The base image, as a CI runner has it: pulled from a registry. It is built once (FROM scratch + the
# static busybox, in a root of its own) and pushed to the loopback registry; each builder then pulls it and
# tags it bench/base. So both hold it as any pulled image: dockerd extracted into its store, cairn
# extracted with its compressed blobs kept (a cache export reuses those, as BuildKit reuses pulled blobs).
publish_base() {
  start_registry
  BASE_REMOTE=$REGISTRY/bench/busybox:1
  local log=$LOGS/untimed-publish-base.log
  "$REPO/bin/cairn" build --root "$STATE/base-publish-root" --progress plain -t "$BASE_REMOTE" --push "$WL/base" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "building and pushing the base image failed"; }
  mkdir -p "$WL/base-pull"
  printf 'FROM %s\n' "$BASE_REMOTE" >"$WL/base-pull/Dockerfile"
}

# bench/base for BUILDER, pulled from the loopback registry (never timed)
pull_base() {
  local log=$LOGS/untimed-$1-base.log
  if [[ $1 == cairn ]]; then
    # -o type=local extracts the snapshot too, as a pull into dockerd's store does
    "$REPO/bin/cairn" build --root "$CAIRN_ROOT" --progress plain -t "$BASE_REF" -o type=image -o "type=local,dest=$STATE/base-rootfs" \
      "$WL/base-pull" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "cairn could not pull the base image"; }
    rm -rf "$STATE/base-rootfs"
  else
    { dk pull "$BASE_REMOTE" && dk tag "$BASE_REMOTE" "$BASE_REF"; } >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "dockerd could not pull the base image"; }
  fi
}

# untimed BUILDER WORKLOAD: a build that must succeed (a warm-up, or the build a scenario starts from)
untimed() {
  local log=$LOGS/untimed-$1-$2.log
  if [[ $1 == cairn ]]; then
    cairn_cmd "$2" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "cairn build of $2 failed"; }
  else
    bk_cmd "$2" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "BuildKit build of $2 failed"; }
  fi
}

# Cold state. cairn: a fresh --root holding only the base image. BuildKit: build cache pruned and the
# workload's image removed, the base image kept in dockerd's image store.
fresh() {
  local w=$2
  if [[ $1 == cairn ]]; then
    rm -rf "$CAIRN_ROOT"
    # cairn at 9e069a5 did not create <root>/memo before writing the context-hash memo there
    mkdir -p "$CAIRN_ROOT/memo"
    pull_base cairn
  else
    dk image rm -f "bench/$w" >/dev/null 2>&1 || true
    dk builder prune -af >/dev/null
    dk image prune -f >/dev/null
    dk image inspect "$BASE_REF" >/dev/null 2>&1 || pull_base buildkit
  fi
}

builders() { tr ',' ' ' <<<"$BUILDERS"; }

scenario_cold() { # scenario_cold SCENARIO WORKLOAD
  local i b
  for i in $(seq "$RUNS"); do
    for b in $(builders); do
      fresh "$b" "$2"
      timed "$1" "$b" "$i" "$2"
    done
  done
}

scenario_noop() {
  local i b
  for b in $(builders); do untimed "$b" "$2"; done
  for i in $(seq "$RUNS"); do
    for b in $(builders); do timed "$1" "$b" "$i" "$2"; done
  done
}

scenario_onefile() {
  local i b
  cp "$ONEFILE_ORIG" "$WL/$ONEFILE"
  for b in $(builders); do untimed "$b" w1; done
  for i in $(seq "$RUNS"); do
    # a content neither builder has seen, so each run is "previous build cached, one file changed"
    { cat "$ONEFILE_ORIG"; printf 'bench edit %s %s\n' "$i" "$(now_ns)"; } >"$WL/$ONEFILE"
    for b in $(builders); do timed "$1" "$b" "$i" w1; done
  done
  cp "$ONEFILE_ORIG" "$WL/$ONEFILE"
}

# The loopback registry: it serves the base image (publish_base), and BuildKit's inline cache in w1-fresh-cache
# (the fastest remote import dockerd's BuildKit offers).
start_registry() {
  [[ -n $REGISTRY_PID ]] && return
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$STATE/registry"
  printf 'version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: %s }, delete: { enabled: true } }\nhttp: { addr: 127.0.0.1:%s }\n' \
    "$STATE/registry/data" "$port" >"$STATE/registry/config.yml"
  docker-registry serve "$STATE/registry/config.yml" >"$LOGS/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY=127.0.0.1:$port
  for _ in $(seq 50); do curl -fs "http://$REGISTRY/v2/" >/dev/null 2>&1 && return; sleep 0.1; done
  die "docker-registry did not start (see $LOGS/registry.log)"
}

# Cold build with a mode=max cache export (cairn: type=local; BuildKit in dockerd can only export inline).
# The report also compares it with cairn's plain cold build: the export overhead.
scenario_cold_export() {
  local i b
  for i in $(seq "$EXPORT_RUNS"); do
    for b in $(builders); do
      if [[ $b == cairn ]]; then
        # its pair: a plain cold build under the same conditions, so the overhead is measured run by run
        fresh cairn w1
        timed w1-cold-export-plain cairn "$i" w1
      fi
      fresh "$b" w1
      rm -rf "$STATE/cache-export"
      CAIRN_ARGS=(--cache-to "type=local,dest=$STATE/cache-export,mode=max")
      BK_ARGS=(--build-arg BUILDKIT_INLINE_CACHE=1)
      timed "$1" "$b" "$i" w1
      CAIRN_ARGS=()
      BK_ARGS=()
    done
  done
}

# Fresh CI machine, everything cached remotely: cairn imports its local cache dir into an empty
# --root; BuildKit starts from a pruned daemon and imports the inline cache of an image in a registry.
scenario_fresh_cache() {
  local i b
  for b in $(builders); do
    fresh "$b" w1
    if [[ $b == cairn ]]; then
      rm -rf "$STATE/cache-w1"
      CAIRN_ARGS=(--cache-to "type=local,dest=$STATE/cache-w1,mode=max")
      untimed cairn w1
    else
      start_registry
      BK_ARGS=(--build-arg BUILDKIT_INLINE_CACHE=1 -t "$REGISTRY/bench/w1:cache")
      untimed buildkit w1
      dk push "$REGISTRY/bench/w1:cache" >"$LOGS/push.log" 2>&1 || { tail "$LOGS/push.log" >&2; die "docker push failed"; }
    fi
    CAIRN_ARGS=()
    BK_ARGS=()
  done
  for i in $(seq "$RUNS"); do
    for b in $(builders); do
      fresh "$b" w1
      [[ $b == buildkit ]] && dk image rm -f "$REGISTRY/bench/w1:cache" >/dev/null 2>&1
      CAIRN_ARGS=(--cache-from "type=local,src=$STATE/cache-w1")
      BK_ARGS=(--cache-from "$REGISTRY/bench/w1:cache")
      timed "$1" "$b" "$i" w1
      CAIRN_ARGS=()
      BK_ARGS=()
    done
  done
}

# base images for both builders (never timed)
publish_base
if has "$BUILDERS" cairn; then
  rm -rf "$CAIRN_ROOT"
  mkdir -p "$CAIRN_ROOT/memo"
  pull_base cairn
fi
if has "$BUILDERS" buildkit; then
  dk image rm -f "$BASE_REF" "$BASE_REMOTE" >/dev/null 2>&1 || true
  pull_base buildkit
fi

T_START=$(now_ns)
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
for s in ${SCENARIOS//,/ }; do
  say "scenario $s (runs: $([[ $s == w1-cold-export ]] && echo "$EXPORT_RUNS" || echo "$RUNS"), builders: $BUILDERS)"
  case $s in
  w1-cold) scenario_cold "$s" w1 ;;
  w1-noop) scenario_noop "$s" w1 ;;
  w1-onefile) scenario_onefile "$s" ;;
  w2-cold) scenario_cold "$s" w2 ;;
  w3-cold) scenario_cold "$s" w3 ;;
  w3-noop) scenario_noop "$s" w3 ;;
  w1-cold-export) scenario_cold_export "$s" ;;
  w1-fresh-cache) scenario_fresh_cache "$s" ;;
  esac
done
say "all scenarios done in $(secs "$T_START" "$(now_ns)")s"

# ---------------------------------------------------------------- report
BK_DESC="BuildKit (not run)"
if has "$BUILDERS" buildkit; then
  BK_DESC="BuildKit in dockerd $(dk version --format '{{.Server.Version}}' 2>/dev/null), DOCKER_BUILDKIT=1, --network host"
fi
DIRTY=$(git status --porcelain -- src bin | wc -l)
export BENCH_META_DATE
BENCH_META_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export BENCH_META_COMMIT
BENCH_META_COMMIT="$(git rev-parse --short HEAD)$(if [[ $DIRTY != 0 ]]; then echo "+${DIRTY} uncommitted src files"; fi)"
export BENCH_META_BUILDKIT=$BK_DESC
export BENCH_META_RUNS=$RUNS
export BENCH_META_HOST
BENCH_META_HOST="$(nproc) cores, $(uname -r), node $(node --version), state on $([[ $FS_MODE == loop ]] && echo "a fresh ext4 loop fs" || echo "the host fs")"
export BENCH_META_LOAD="load average $LOAD_START at start, $(cut -d" " -f1-3 /proc/loadavg) at end (other work on the machine skews absolute seconds)"
export BENCH_META_NOTE="${BK_NOTE}${BK_NOTE:+; }${BUILD_NOTE}"
node --import tsx "$BENCH/report.ts" "$SAMPLES" "$RESULTS"
