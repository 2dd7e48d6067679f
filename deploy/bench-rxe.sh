#!/usr/bin/env bash
# bench-rxe.sh - shmext over verbs beside perftest, in the soft-RoCE VMs of
# tests/rxe, in one job: boots three VMs (qemu, Debian's kernel with
# rdma_rxe; see tests/rxe/README.md): the memory node and compute VMs c1 and
# c2, which reach each other through the node's bridge.  Between c1 and the
# node it runs perftest's ib_read_lat, ib_write_lat, ib_atomic_lat
# (compare-swap and fetch-add), ib_send_lat, ib_send_bw, ib_write_bw and
# ib_read_bw; between c1 and c2 ib_send_lat and ib_send_bw; then `shmext
# bench` on c1 against a shmnode on the node VM, its signals and messages
# going to `shmext echo` on c2 (compute nodes message each other directly,
# so that is the path of perftest's c1 to c2 figures).  One thing at a time
# (tests/rxe/bench-guest.sh).  It prints a table of shmext/perftest ratios
# (also written to OUT/table.md), each row marked with the VMs it runs
# between.
#
# Comparisons: perftest's *_lat "t_typical" is its median.  ib_read_lat and
# ib_atomic_lat time one round trip per operation, like a shmext read or
# atomic.  ib_write_lat and ib_send_lat are ping-pongs that report HALF a
# round trip; a blocking shmx_write completes when the node's NIC
# acknowledges it, one round trip, so it is set beside 2 x ib_write_lat, and
# the control-plane RPC (shmx_root_get: request and reply messages) beside
# 2 x ib_send_lat (c1 to the node).  An uncontended lock acquire and release
# (a fetch-and-add and a compare-and-swap on the lock word, the release not
# waited for) is set beside one ib_atomic_lat FETCH_AND_ADD plus one
# CMP_AND_SWAP: the ratio is the lock's cost over the two bare atomics; a
# second row sets it beside one CMP_AND_SWAP (the target: within 2.5x).
# Bandwidth: perftest's MB/sec are MiB/s; the table shows both sides in MB/s
# (10^6 bytes).  A signal or an 8-byte message from c1 to c2 and back is set
# beside 2 x ib_send_lat between c1 and c2 (the target: within 1.2x), a
# stream of 1 MiB messages from c1 to c2 (each written to the node's memory
# by the sender and read from it by the receiver) beside ib_send_bw at
# 1 MiB between c1 and c2 (the target: at least 0.8x).  perftest's send
# figures c1 to the node are printed beside them, and the contended lock
# figures (1 to 8 processes on c1; no perftest counterpart) after the table.
#
# Usage: deploy/bench-rxe.sh [-b BUILD_DIR] [-i ITERS] [-o OUT]
#   BUILD_DIR  a build tree with node/shmnode and compute/shmext (default:
#              build/, configured Release and built if absent)
#   ITERS      latency iterations (default 2000)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build iters=2000 out=''
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { sed -n 's/^# Usage: //p' "$0" >&2; exit 2; }
	case $1 in
	-b) build=$2 ;;
	-i) iters=$2 ;;
	-o) out=$2 ;;
	*) sed -n 's/^# Usage: //p' "$0" >&2; exit 2 ;;
	esac
	shift 2
done
if [ ! -x "$build/compute/shmext" ]; then
	cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc)" >/dev/null
fi
build=$(cd "$build" && pwd)
work=$repo/build-rxe
[ -n "$out" ] || out=$work/runs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
head -c 32 /dev/urandom >"$out/key"
chmod 600 "$out/key"
printf 'BUILD=%s\nITERS=%s\nKEY=%s\n' "$build" "$iters" "$out/key" >"$out/env"

rc=0
"$repo/tests/rxe/cluster.sh" -n 3 -w "$work" -o "$out" -t 1800 -q -e "$out/env" \
	-x "$repo" -x "$build" -x "$out" -s node="$repo/tests/rxe/bench-guest.sh" \
	-s c1="$repo/tests/rxe/bench-guest.sh" -s c2="$repo/tests/rxe/bench-guest.sh" || rc=$?
[ $rc != 77 ] || { echo "bench-rxe: skipped: qemu cannot run here"; exit 77; }

lat() { # perftest output file -> t_typical (median), µs
	awk '/#bytes/ { h = 1; next } h && $1 ~ /^[0-9]+$/ && NF >= 9 { v = $5 } END { if (v != "") print v }' "$1" 2>/dev/null
}
bw() { # perftest output -> BW average converted to MB/s (10^6)
	awk '/#bytes/ { h = 1; next } h && $1 ~ /^[0-9]+$/ && NF >= 5 { v = $4 } END { if (v != "") printf "%.1f", v * 1.048576 }' "$1" 2>/dev/null
}
js() { # bench.json path, e.g. latency_us.read_8.median
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$out/c1/bench.json" "$1" 2>/dev/null || true
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
twice() { [ -n "$1" ] && awk -v a="$1" 'BEGIN { printf "%.2f", 2 * a }'; }
plus() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }

c=$out/c1
rl=$(lat "$c/ib_read_lat_s_8.txt"); wl=$(lat "$c/ib_write_lat_s_8.txt")
cl=$(lat "$c/ib_atomic_lat_a_cmp_and_swap.txt"); fl=$(lat "$c/ib_atomic_lat_a_fetch_and_add.txt")
sl=$(lat "$c/ib_send_lat_s_8.txt"); sb=$(bw "$c/ib_send_bw_s_1048576.txt")
wb=$(bw "$c/ib_write_bw_s_1048576.txt"); rb=$(bw "$c/ib_read_bw_s_1048576.txt")
sl2=$(lat "$c/ib_send_lat_s_8-c2.txt"); sb2=$(bw "$c/ib_send_bw_s_1048576-c2.txt")
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "${3:--}" "${4:--}" "$(ratio "$3" "$4")"; }
n=c1-node m=c1-c2
{
	echo "shmext (verbs) beside perftest, soft-RoCE between three qemu VMs (node, c1, c2; c1-c2 through the node's bridge); $(cat "$out/node/uname.txt" 2>/dev/null), $(grep -h 'rdma-core' "$out/node/versions.txt" 2>/dev/null | tr '\t' ' ' | head -1), libfabric $(awk '/^libfabric:/ { print $2 }' "$out/node/versions.txt" 2>/dev/null); $iters iterations; $(date -u +%Y-%m-%d)"
	echo
	echo "| figure | between | shmext | perftest | ratio |"
	echo "| --- | --- | ---: | ---: | ---: |"
	row "read 8 B, median µs (ib_read_lat)" $n "$(js latency_us.read_8.median)" "$rl"
	row "write 8 B, median µs (2 x ib_write_lat)" $n "$(js latency_us.write_8.median)" "$(twice "$wl")"
	row "cas64, median µs (ib_atomic_lat CMP_AND_SWAP)" $n "$(js latency_us.cas64.median)" "$cl"
	row "fadd64, median µs (ib_atomic_lat FETCH_AND_ADD)" $n "$(js latency_us.fadd64.median)" "$fl"
	row "lock+release pair, median µs (ib_atomic_lat FADD + CAS)" $n "$(js latency_us.lock_pair.median)" "$(plus "$fl" "$cl")"
	row "lock+release pair, median µs (one ib_atomic_lat CMP_AND_SWAP)" $n "$(js latency_us.lock_pair.median)" "$cl"
	row "RPC round trip, median µs (2 x ib_send_lat)" $n "$(js latency_us.rpc.median)" "$(twice "$sl")"
	row "write 1 MiB, MB/s, 8 in flight (ib_write_bw)" $n "$(js bandwidth_mbs.write_nb)" "$wb"
	row "read 1 MiB, MB/s, 8 in flight (ib_read_bw)" $n "$(js bandwidth_mbs.read_nb)" "$rb"
	row "signal round trip, median µs (2 x ib_send_lat)" $m "$(js latency_us.signal_rtt.median)" "$(twice "$sl2")"
	row "message 8 B round trip, median µs (2 x ib_send_lat)" $m "$(js latency_us.msg_rtt_8.median)" "$(twice "$sl2")"
	row "messages of 1 MiB, MB/s (ib_send_bw)" $m "$(js bandwidth_mbs.msg_stream)" "$sb2"
	echo
	echo "| perftest alone | c1-node | c1-c2 |"
	echo "| --- | ---: | ---: |"
	echo "| 2 x ib_send_lat -s 8, median µs | $(twice "$sl" || echo -) | $(twice "$sl2" || echo -) |"
	echo "| ib_send_bw -s 1048576, MB/s | ${sb:--} | ${sb2:--} |"
} | tee "$out/table.md"
python3 - "$out/c1/bench.json" <<'PY' 2>/dev/null | tee -a "$out/table.md" || true
import json, sys
d = json.load(open(sys.argv[1]))
rows = d.get("locks", {}).get("contended", [])
if rows:
    print()
    print("| contended lock, processes | acquisitions/s | Jain's index | longest wait, µs |")
    print("| ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| %d | %.0f | %.4f | %.0f |" % (r["procs"], r["acq_per_s"], r["fairness"], r["max_wait_us"]))
PY
echo "raw results: $out"
# A network stall (75: worth running again) says so even without a result.
[ -s "$out/c1/bench.json" ] || { echo "bench-rxe: shmext bench left no result:"; cat "$out/c1/bench.err" "$out/c1/script.log" 2>/dev/null; exit $((rc == 75 ? 75 : 1)); }
exit $rc
