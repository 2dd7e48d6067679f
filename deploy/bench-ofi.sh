#!/usr/bin/env bash
# bench-ofi.sh - shmext's figures beside libfabric's own fi_pingpong, on
# one machine over loopback.  Starts shmnode on a free 127.0.0.1 port, runs
# `shmext bench --json`, runs fi_pingpong (package libfabric-bin) with the
# same provider at 8 B, 4 KiB and 1 MiB, and prints a table:
# figure, shmext, fi_pingpong, ratio.  A benchmark, not a test: it never
# judges the numbers; it fails only when something cannot run.
#
# What is compared with what:
#  - fi_pingpong -e rdm sends a message and waits for the echo; its
#    "usec/xfer" is elapsed / (2 x iterations): HALF a round trip, averaged
#    over all iterations.  A shmext read, a write (complete at the node) and
#    an atomic are each one full round trip to the memory node, so their
#    latency is set beside fi_pingpong's ROUND TRIP = 2 x usec/xfer for the
#    same payload (8 B for reads, writes and atomics, 4 KiB).
#  - fi_pingpong reports only a mean.  The main rows use shmext's median
#    (robust to the odd scheduling hiccup); the "mean" rows compare mean
#    with mean, like for like.
#  - fi_pingpong's MB/sec at 1 MiB is one message in flight, size / one-way
#    time; the like figures are shmext's blocking 1 MiB shmx_read and
#    shmx_write bandwidth (one transfer at a time).
#  - Signals and messages go from one compute process to another (shmext
#    bench's echo process), like fi_pingpong's: a signal or a message of
#    8 B is set beside fi_pingpong's 8 B round trip, one of 4048 B (the
#    most that travels inside one send) beside its 4 KiB round trip, and a
#    stream of 1 MiB messages (written to shared memory and read from it)
#    beside its 1 MiB MB/sec.
#  - ratio = shmext / fi_pingpong: below 1 is better for times, above 1 is
#    better for MB/s.
#  - shmnode is stopped before fi_pingpong starts, so the two never share
#    the CPUs.
#
# Addresses: shmnode listens on 127.0.0.1 and the fi_pingpong client
# connects to 127.0.0.1; fi_pingpong's server is pinned to the loopback
# domain (-d lo, FI_TCP_IFACE=lo).  fi_pingpong 1.17's server binds its
# control socket to the wildcard address with no option to change it, so
# the pair runs in a private network namespace holding only lo (unshare)
# when the system allows one; otherwise it runs in the host's namespace
# and the script says so.
#
# Usage: deploy/bench-ofi.sh [PROVIDER] [ITERS]
#   PROVIDER  libfabric provider (or $PROVIDER), default tcp;ofi_rxm
#   ITERS     calls per latency figure (or $ITERS), default 10000
# Binaries: $SHMNODE (default build/node/shmnode), $SHMEXT (default
# build/compute/shmext).
set -euo pipefail

# Internal: one fi_pingpong server + client pair inside the namespace.
if [ "${1:-}" = "--pingpong-pair" ]; then
	shift
	ip link set lo up 2>/dev/null || true
fi

provider=${PROVIDER:-tcp;ofi_rxm}
export FI_TCP_IFACE=lo FI_SOCKETS_IFACE=lo

# pingpong_pair SIZE ITERS PORT OUT: run a server in the background and a
# client against 127.0.0.1:PORT; the client's table goes to OUT.
pingpong_pair() {
	local size=$1 iters=$2 port=$3 out=$4 spid dom=()

	if fi_info -p "$provider" -d lo >/dev/null 2>&1; then
		dom=(-d lo)
	fi
	timeout 300 fi_pingpong -p "$provider" -e rdm "${dom[@]}" -I "$iters" \
		-S "$size" -B "$port" >"$out.server" 2>&1 &
	spid=$!
	pair_pids+=("$spid")
	# The server needs a moment to listen; the client fails fast until then.
	for _ in $(seq 100); do
		if timeout 300 fi_pingpong -p "$provider" -e rdm "${dom[@]}" \
			-I "$iters" -S "$size" -P "$port" 127.0.0.1 \
			>"$out" 2>"$out.err"; then
			wait "$spid" 2>/dev/null || true
			return 0
		fi
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	return 1
}

pair_pids=()
if [ -n "${PINGPONG_PAIR:-}" ]; then
	trap 'for p in "${pair_pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
	trap 'exit 130' INT TERM
	pingpong_pair "$@"
	exit
fi

# Paths given in the environment are relative to where we were started.
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
# A lone number is ITERS.
if [ $# = 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	set -- "$provider" "$1"
fi
provider=${1:-$provider}
iters=${2:-${ITERS:-10000}}
if [ $# -gt 2 ] || ! [[ $iters =~ ^[0-9]+$ ]] || [ "$iters" -lt 10 ]; then
	echo "usage: $0 [PROVIDER] [ITERS]   (ITERS >= 10; $0 --help)" >&2
	exit 2
fi
shmnode=${SHMNODE:-build/node/shmnode}
shmext=${SHMEXT:-build/compute/shmext}
for bin in "$shmnode" "$shmext"; do
	if [ ! -x "$bin" ]; then
		echo "bench-ofi: $bin not found; build first (cmake -S . -B build && cmake --build build)" >&2
		echo "           or point SHMNODE / SHMEXT at the binaries" >&2
		exit 1
	fi
done
have_pingpong=1
if ! command -v fi_pingpong >/dev/null; then
	echo "bench-ofi: fi_pingpong not found (Debian: apt-get install libfabric-bin); shmext figures only" >&2
	have_pingpong=0
fi

tmp=$(mktemp -d /tmp/bench-ofi.XXXXXX)
shmnode_pid=
cleanup() {
	for p in $shmnode_pid "${pair_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in $shmnode_pid "${pair_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
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

port=$(free_port 17470)
node="127.0.0.1:$port"
"$shmnode" --listen "$node" --size 64M --provider "$provider" \
	--log-level warn 2>"$tmp/shmnode.log" &
shmnode_pid=$!
ready=0
for _ in $(seq 100); do
	if "$shmext" --node "$node" --provider "$provider" --timeout 1000 \
		info >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$shmnode_pid" 2>/dev/null || break
	sleep 0.1
done
if [ $ready = 0 ]; then
	echo "bench-ofi: shmnode did not come up on $node:" >&2
	cat "$tmp/shmnode.log" >&2
	exit 1
fi

echo "bench-ofi: shmext bench on $node ($provider, $iters iterations)..." >&2
"$shmext" --node "$node" --provider "$provider" bench --json \
	--iters "$iters" >"$tmp/bench.json"
kill "$shmnode_pid" 2>/dev/null || true
wait "$shmnode_pid" 2>/dev/null || true
shmnode_pid=

# A figure of shmext's JSON, whose member names are unique: "jget read_8
# median" is latency_us.read_8.median, "jget read_blocking" a plain number.
jget() {
	if [ $# = 2 ]; then
		grep -o "\"$1\":{[^}]*}" "$tmp/bench.json" |
			grep -o "\"$2\":[-0-9.e+]*" | cut -d: -f2
	else
		grep -o "\"$1\":[-0-9.e+]*" "$tmp/bench.json" | cut -d: -f2
	fi
}

netns=0
if [ $have_pingpong = 1 ] && command -v unshare >/dev/null &&
	unshare --net --map-root-user true 2>/dev/null; then
	netns=1
fi

# pingpong SIZE N: fi_pingpong at SIZE bytes, N iterations; prints
# "MB/sec usec/xfer", or nothing when it could not run.
pingpong() {
	local size=$1 n=$2 out="$tmp/pp.$1" ok=0
	if [ $netns = 1 ]; then
		PINGPONG_PAIR=1 PROVIDER="$provider" unshare --net \
			--map-root-user bash "$self" --pingpong-pair "$size" \
			"$n" 47592 "$out" &
		pair_pids+=("$!")
		wait "$!" && ok=1
	else
		pingpong_pair "$size" "$n" "$(free_port 47592)" "$out" && ok=1
	fi
	if [ $ok = 0 ]; then
		echo "bench-ofi: fi_pingpong -S $size failed:" >&2
		cat "$out.err" "$out.server" >&2 2>/dev/null || true
		return 0
	fi
	# bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec
	awk '$1 ~ /^[0-9]/ && NF >= 8 { r = $6 " " $7 } END { if (r) print r }' "$out"
}

pp8="" pp4k="" pp1m=""
if [ $have_pingpong = 1 ]; then
	[ $netns = 1 ] || echo "bench-ofi: no private network namespace here; fi_pingpong's server control socket listens on all addresses while it runs" >&2
	echo "bench-ofi: fi_pingpong -p '$provider' -e rdm at 8 B, 4 KiB, 1 MiB..." >&2
	# Not in $(...): the background processes must stay this shell's.
	pingpong 8 "$iters" >"$tmp/pp8"
	pingpong 4096 "$iters" >"$tmp/pp4k"
	n1m=$((iters / 20))
	[ $n1m -ge 100 ] || n1m=100
	pingpong 1048576 "$n1m" >"$tmp/pp1m"
	pp8=$(cat "$tmp/pp8")
	pp4k=$(cat "$tmp/pp4k")
	pp1m=$(cat "$tmp/pp1m")
fi

# row FIGURE SHMEXT FI: one line of the table; FI or SHMEXT may be empty.
row() {
	awk -v f="$1" -v s="$2" -v p="$3" 'BEGIN {
		ratio = (s != "" && p != "" && p + 0 > 0) ? sprintf("%.2f", s / p) : "-"
		printf "%-36s %12s %12s %8s\n", f, (s == "" ? "-" : s), (p == "" ? "-" : p), ratio
	}'
}
half_to_rtt() {
	if [ -n "$1" ]; then
		awk -v u="${1#* }" 'BEGIN { printf "%.2f", 2 * u }'
	fi
}
mbs() {
	if [ -n "$1" ]; then
		echo "${1% *}"
	fi
}

echo
echo "shmext bench vs fi_pingpong: provider $provider, loopback 127.0.0.1, $iters iterations, $(date -u +%F)"
echo "libfabric $(fi_info --version 2>/dev/null | awk '/libfabric:/ { print $2 }'), kernel $(uname -r), $(nproc) CPUs"
echo "times in us; fi_pingpong times are round trips (2 x usec/xfer); ratio = shmext / fi_pingpong"
echo
printf "%-36s %12s %12s %8s\n" figure shmext fi_pingpong ratio
rtt8=$(half_to_rtt "$pp8")
rtt4k=$(half_to_rtt "$pp4k")
row "read 8 B, median" "$(jget read_8 median)" "$rtt8"
row "write 8 B, median" "$(jget write_8 median)" "$rtt8"
row "cas64, median" "$(jget cas64 median)" "$rtt8"
row "fadd64, median" "$(jget fadd64 median)" "$rtt8"
row "read 4 KiB, median" "$(jget read_4k median)" "$rtt4k"
row "write 4 KiB, median" "$(jget write_4k median)" "$rtt4k"
row "read 8 B, mean" "$(jget read_8 mean)" "$rtt8"
row "read 4 KiB, mean" "$(jget read_4k mean)" "$rtt4k"
row "read 1 MiB, one at a time, MB/s" "$(jget read_blocking)" "$(mbs "$pp1m")"
row "write 1 MiB, one at a time, MB/s" "$(jget write_blocking)" "$(mbs "$pp1m")"
row "signal round trip, median" "$(jget signal_rtt median)" "$rtt8"
row "message 8 B round trip, median" "$(jget msg_rtt_8 median)" "$rtt8"
row "message 4048 B round trip, median" "$(jget msg_rtt_4048 median)" "$rtt4k"
row "signal round trip, mean" "$(jget signal_rtt mean)" "$rtt8"
row "message 8 B round trip, mean" "$(jget msg_rtt_8 mean)" "$rtt8"
row "messages of 1 MiB, streamed, MB/s" "$(jget msg_stream)" "$(mbs "$pp1m")"
echo
echo "shmext only: p99 read 8 B $(jget read_8 p99), write 8 B $(jget write_8 p99), cas64 $(jget cas64 p99), fadd64 $(jget fadd64 p99), read 4 KiB $(jget read_4k p99) us"
echo "shmext only: 1 MiB with $(jget bw_in_flight) in flight: read $(jget read_nb), write $(jget write_nb) MB/s"
echo "shmext only: message 64 KiB round trip (through shared memory) $(jget msg_rtt_64k median) us"
if [ $have_pingpong = 1 ]; then
	echo "fi_pingpong one-way (usec/xfer, mean): 8 B ${pp8#* }, 4 KiB ${pp4k#* }"
fi
