#!/usr/bin/env bash
# bench-ofi.sh - shmext bench beside libfabric's own fi_pingpong, same
# provider, same machine, same run; prints a ratio table.  A benchmark, not
# a test: it passes no judgement on the numbers.
#
# What is compared: a shmext read, a write (delivery complete) and an atomic
# are each one round trip to the memory node, so their median latency is
# set against fi_pingpong's round trip (2 x its one-way "usec/xfer") for the
# same payload.  1 MiB bandwidth, one transfer at a time, is set against
# fi_pingpong's MB/sec at 1 MiB.  Ratios are shmext / fi_pingpong: below 1
# is better for latency, above 1 is better for bandwidth.
#
# Usage: deploy/bench-ofi.sh [PROVIDER] [ITERS]
#   PROVIDER  libfabric provider, default tcp;ofi_rxm
#   ITERS     iterations per latency figure, default 10000
# Binaries: $SHMNODE (default build/node/shmnode), $SHMEXT (build/compute/shmext).
set -euo pipefail
cd "$(dirname "$0")/.."
prov=${1:-tcp;ofi_rxm}
iters=${2:-10000}
shmnode=${SHMNODE:-build/node/shmnode}
shmext=${SHMEXT:-build/compute/shmext}
for b in "$shmnode" "$shmext"; do
	[ -x "$b" ] || { echo "bench-ofi: $b not built (cmake --build build)" >&2; exit 1; }
done
command -v fi_pingpong >/dev/null || { echo "bench-ofi: fi_pingpong missing (apt-get install libfabric-bin)" >&2; exit 1; }

free_port() {
	local p=$((20000 + RANDOM % 30000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((20000 + RANDOM % 30000))
	done
	echo "$p"
}

pids=()
tmp=$(mktemp -d /tmp/shmx-bench.XXXXXX)
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# shmext: a memory node on loopback, then the benchmark.
node=127.0.0.1:$(free_port)
"$shmnode" --listen "$node" --size 64M --provider "$prov" 2>"$tmp/node.log" &
pids+=($!)
for _ in $(seq 50); do
	SHMEXT_NODE=$node SHMEXT_PROVIDER=$prov "$shmext" info >/dev/null 2>&1 && break
	sleep 0.1
done
SHMEXT_NODE=$node SHMEXT_PROVIDER=$prov "$shmext" bench --json --iters "$iters" >"$tmp/shmext.json"

# Pull one number out of shmext's JSON: key path like read_8.median_us.
js() {
	local obj=${1%%.*} key=${1#*.}
	if [ "$obj" = "$1" ]; then
		grep -o "\"$1\":[0-9.]*" "$tmp/shmext.json" | cut -d: -f2
	else
		grep -o "\"$obj\":{[^}]*}" "$tmp/shmext.json" | grep -o "\"$key\":[0-9.]*" | cut -d: -f2
	fi
}

# fi_pingpong: server in the background, client in the foreground.
pingpong() { # size iterations -> "usec/xfer MB/sec"
	local port
	port=$(free_port)
	fi_pingpong -p "$prov" -e rdm -S "$1" -I "$2" -B "$port" >"$tmp/pp-server.log" 2>&1 &
	pids+=($!)
	sleep 0.3
	fi_pingpong -p "$prov" -e rdm -S "$1" -I "$2" -P "$port" 127.0.0.1 >"$tmp/pp.log" 2>&1
	awk 'NR == 2 { print $(NF - 1), $(NF - 2) }' "$tmp/pp.log"
}

read -r pp8 _ <<<"$(pingpong 8 "$iters")"
read -r pp4k _ <<<"$(pingpong 4096 "$iters")"
read -r _ ppbw <<<"$(pingpong 1048576 200)"
rtt8=$(awk -v x="$pp8" 'BEGIN { printf "%.2f", 2 * x }')
rtt4k=$(awk -v x="$pp4k" 'BEGIN { printf "%.2f", 2 * x }')

row() { # figure shmext fabric unit
	awk -v f="$1" -v s="$2" -v p="$3" -v u="$4" \
		'BEGIN { printf "%-28s %12s %12s %8.2f  %s\n", f, s, p, (p > 0 ? s / p : 0), u }'
}
echo "shmext bench vs fi_pingpong, provider $prov, $iters iterations, $(date -u +%F)"
echo "libfabric $(fi_info --version | awk '/libfabric:/ { print $2 }'), kernel $(uname -r)"
echo
printf "%-28s %12s %12s %8s  %s\n" figure shmext fi_pingpong ratio unit
row "read 8 B (median)" "$(js read_8.median_us)" "$rtt8" "us, vs round trip"
row "write 8 B (median)" "$(js write_8.median_us)" "$rtt8" "us, vs round trip"
row "cas64 (median)" "$(js cas64.median_us)" "$rtt8" "us, vs round trip"
row "fadd64 (median)" "$(js fadd64.median_us)" "$rtt8" "us, vs round trip"
row "read 4 KiB (median)" "$(js read_4k.median_us)" "$rtt4k" "us, vs round trip"
row "write 4 KiB (median)" "$(js write_4k.median_us)" "$rtt4k" "us, vs round trip"
row "read 1 MiB, one at a time" "$(js read_bw_mbs)" "$ppbw" "MB/s"
row "write 1 MiB, one at a time" "$(js write_bw_mbs)" "$ppbw" "MB/s"
echo
echo "p99 (us): read 8 B $(js read_8.p99_us), write 8 B $(js write_8.p99_us), cas64 $(js cas64.p99_us), read 4 KiB $(js read_4k.p99_us)"
echo "1 MiB with $(js bw_window) in flight (MB/s): read $(js read_bw_window_mbs), write $(js write_bw_window_mbs)"
