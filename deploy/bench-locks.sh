#!/usr/bin/env bash
# bench-locks.sh - shmext's global locks beside Redis's SET NX lock, on one
# machine over loopback.  Starts shmnode on a free 127.0.0.1 port, runs
# `shmext bench --json` (its lock figures), stops it, starts Debian's
# redis-server on a free 127.0.0.1 port (installed with apt-get when
# missing), runs `shmext bench --redis 127.0.0.1:PORT --json` (the same
# figures against Redis), stops it, and prints a table: figure, shmext,
# redis, ratio.  A benchmark, not a test: it never judges the numbers; it
# fails only when something cannot run.
#
# What is compared with what:
#  - lock pair: one uncontended exclusive acquire and its release.  shmext:
#    shmx_lock_acquire + shmx_lock_release (remote atomics, no message to
#    shmnode).  Redis: SET key token NX PX 1000 + DEL key (two round trips
#    to redis-server; the plain DEL of the common pattern).  Median, p99
#    and mean in µs.
#  - contended: 1, 2, 4 and 8 processes, each with its own connection,
#    take the lock in turn for DURATION ms each: acquisitions per second in
#    all, Jain's fairness index over the processes' counts (1 = equal
#    shares), and the longest single wait for the lock.  A Redis waiter
#    retries SET NX at once until it answers OK.
#  - ratio = shmext / redis: below 1 is better for times, above 1 is
#    better for acquisitions per second.
#  - Each server runs alone: shmnode is stopped before redis-server starts.
#
# Usage: deploy/bench-locks.sh [ITERS] [DURATION]
#   ITERS     lock pairs timed (or $ITERS), default 10000
#   DURATION  ms per contended figure (or $DURATION), default 2000
# Binaries: $SHMNODE (default build/node/shmnode), $SHMEXT (default
# build/compute/shmext), $REDIS_SERVER (default redis-server).
set -euo pipefail

self=$(realpath "$0")
[ -z "${SHMNODE:-}" ] || SHMNODE=$(realpath -m "$SHMNODE")
[ -z "${SHMEXT:-}" ] || SHMEXT=$(realpath -m "$SHMEXT")
cd "$(dirname "$self")/.."
case ${1:-} in
-h | --help)
	sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
esac
iters=${1:-${ITERS:-10000}}
duration=${2:-${DURATION:-2000}}
if [ $# -gt 2 ] || ! [[ $iters =~ ^[0-9]+$ ]] || [ "$iters" -lt 10 ] ||
	! [[ $duration =~ ^[0-9]+$ ]] || [ "$duration" -lt 1 ]; then
	echo "usage: $0 [ITERS] [DURATION]   (ITERS >= 10, DURATION ms >= 1; $0 --help)" >&2
	exit 2
fi
shmnode=${SHMNODE:-build/node/shmnode}
shmext=${SHMEXT:-build/compute/shmext}
for bin in "$shmnode" "$shmext"; do
	if [ ! -x "$bin" ]; then
		echo "bench-locks: $bin not found; build first (cmake -S . -B build && cmake --build build)" >&2
		echo "             or point SHMNODE / SHMEXT at the binaries" >&2
		exit 1
	fi
done
redis=${REDIS_SERVER:-redis-server}
if ! command -v "$redis" >/dev/null; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "bench-locks: installing redis-server" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null
	$sudo apt-get install -y -q --no-install-recommends redis-server >/dev/null
fi

tmp=$(mktemp -d /tmp/bench-locks.XXXXXX)
server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=
}
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port (the shell's /dev/tcp probe touches only 127.0.0.1).
free_port() {
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# wait_up NAME LOG CMD...: until CMD succeeds or the server exits.
wait_up() {
	local name=$1 log=$2
	shift 2
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench-locks: $name did not come up:" >&2
	cat "$log" >&2
	exit 1
}

node="127.0.0.1:$(free_port 17470)"
"$shmnode" --listen "$node" --size 64M --log-level warn 2>"$tmp/shmnode.log" &
server_pid=$!
wait_up shmnode "$tmp/shmnode.log" "$shmext" --node "$node" --timeout 1000 info
echo "bench-locks: shmext bench on $node ($iters pairs, $duration ms per contended figure)..." >&2
"$shmext" --node "$node" bench --json --iters "$iters" \
	--duration "$duration" >"$tmp/shmext.json"
stop_server

rport=$(free_port 16379)
"$redis" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize no >"$tmp/redis.log" 2>&1 &
server_pid=$!
wait_up redis-server "$tmp/redis.log" bash -c "exec 3<>/dev/tcp/127.0.0.1/$rport"
echo "bench-locks: the same figures against redis-server on 127.0.0.1:$rport..." >&2
"$shmext" bench --redis "127.0.0.1:$rport" --json --iters "$iters" \
	--duration "$duration" >"$tmp/redis.json"
redis_version=$("$redis" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
stop_server

# js FILE PATH: a figure of a bench's JSON: latency_us.lock_pair.median, or
# locks.contended.PROCS.acq_per_s (PROCS: the entry with that many).
js() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
p=sys.argv[2].split(".")
if p[:2]==["locks","contended"]:
    d=[c for c in d["locks"]["contended"] if c["procs"]==int(p[2])][0][p[3]]
else:
    for k in p: d=d[k]
print(d)' "$1" "$2" 2>/dev/null || true
}

row() {
	awk -v f="$1" -v s="$2" -v p="$3" 'BEGIN {
		ratio = (s != "" && p != "" && p + 0 > 0) ? sprintf("%.2f", s / p) : "-"
		printf "%-36s %12s %12s %8s\n", f, (s == "" ? "-" : s), (p == "" ? "-" : p), ratio
	}'
}
both() { row "$1" "$(js "$tmp/shmext.json" "$2")" "$(js "$tmp/redis.json" "$2")"; }

echo
echo "shmext locks vs Redis SET NX PX / DEL: loopback 127.0.0.1, $iters pairs, $duration ms per contended figure, $(date -u +%F)"
echo "shmext: $(js "$tmp/shmext.json" transport) ($(js "$tmp/shmext.json" provider)); redis-server $redis_version; kernel $(uname -r), $(nproc) CPUs"
echo "times in us; ratio = shmext / redis"
echo
printf "%-36s %12s %12s %8s\n" figure shmext redis ratio
both "lock pair, median" latency_us.lock_pair.median
both "lock pair, p99" latency_us.lock_pair.p99
both "lock pair, mean" latency_us.lock_pair.mean
for n in 1 2 4 8; do
	both "contended, $n procs, acquisitions/s" locks.contended.$n.acq_per_s
	both "contended, $n procs, fairness" locks.contended.$n.fairness
	both "contended, $n procs, longest wait" locks.contended.$n.max_wait_us
done
