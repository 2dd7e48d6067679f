#!/usr/bin/env bash
# soak.sh - a bounded soak of one shmnode: CLIENTS processes
# (tests/soak/soak_client.c) mix every kind of operation for SECONDS:
# blocks written and read back, named segments attached, written and
# removed, global locks around a shared counter, signals and messages to
# random members, and members leaving and joining again.
#
# It reports the operations done, the errors, and shmnode's own memory (its
# resident memory outside the region and the lock table, which the clients
# fill) at WARMUP seconds and at the end.  It fails (exit 1) when
#  - a client saw an error its situation does not explain, or read back
#    what it did not write;
#  - the lock-guarded counters do not add up to the increments the
#    clients made under the locks (mutual exclusion);
#  - shmnode's own memory grew by more than GROWTH_MB (default 16) from
#    WARMUP to the end: a leak per operation shows there, the buffers of
#    the clients' connections do not (they are made during the warm-up).
# Not in CI at full length; ctest runs a short one (soak_short: 16
# clients, 10 s).
#
# Usage: deploy/soak.sh [-n CLIENTS] [-t SECONDS] [-b BUILD_DIR]
#   defaults: 64 clients, 300 s, build/ (configured with the tests on)
#   env: WARMUP (default 5 s), GROWTH_MB (16), SHMNODE, SOAK_CLIENT
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."
clients=64 seconds=300 build=build
while getopts "n:t:b:h" o; do
	case $o in
	n) clients=$OPTARG ;;
	t) seconds=$OPTARG ;;
	b) build=$OPTARG ;;
	*)
		sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'
		exit 2
		;;
	esac
done
warmup=${WARMUP:-5} growth_mb=${GROWTH_MB:-16}
shmnode=${SHMNODE:-$build/node/shmnode}
client=${SOAK_CLIENT:-$build/tests/soak/soak_client}
shmext=$build/compute/shmext
for b in "$shmnode" "$client" "$shmext"; do
	[ -x "$b" ] || { echo "soak: $b not found (build with the tests: cmake -S . -B $build && cmake --build $build)" >&2; exit 1; }
done
[ "$seconds" -gt "$warmup" ] || { echo "soak: SECONDS must exceed the warm-up ($warmup s)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/shmx-soak.XXXXXX)
node_pid=""
pids=()
cleanup() {
	for p in "${pids[@]}" $node_pid; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

region=$((256 << 20)) max_locks=65536
port=$((20000 + RANDOM % 30000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	port=$((20000 + RANDOM % 30000))
done
export SHMEXT_NODE=127.0.0.1:$port SHMEXT_TIMEOUT_MS=20000
"$shmnode" --listen "$SHMEXT_NODE" --size $((region >> 20))M \
	--max-members $((clients * 2 + 16)) --max-locks $max_locks \
	--client-timeout 10000 --admin-socket none --log-level warn \
	2>"$tmp/node.log" &
node_pid=$!
for _ in $(seq 100); do
	"$shmext" info >/dev/null 2>&1 && break
	kill -0 $node_pid 2>/dev/null || { cat "$tmp/node.log"; exit 1; }
	sleep 0.1
done

# shmnode's resident kB outside its region and its lock table (the two
# mappings of exactly those sizes).
node_kb() {
	awk -v r=$((region / 1024)) -v l=$((max_locks * 128 / 1024)) '
		/^[0-9a-f]+-[0-9a-f]+ / { skip = 0 }
		/^Size:/ { skip = ($2 == r || $2 == l) }
		/^Rss:/ && !skip { kb += $2 }
		END { print kb }' "/proc/$node_pid/smaps"
}

echo "soak: $clients clients for $seconds s against shmnode on $SHMEXT_NODE"
t0=$SECONDS
for i in $(seq "$clients"); do
	"$client" "$seconds" "$i" >"$tmp/client.$i.out" 2>"$tmp/client.$i.err" &
	pids+=($!)
done
sleep "$warmup"
mem_start=$(node_kb)
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
pids=()
mem_end=$(node_kb)
took=$((SECONDS - t0))

# The counters behind the locks.
counted=$("$client" counters) || counted=unreadable

cat "$tmp"/client.*.out >"$tmp/all.out"
total() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }' "$tmp/all.out"; }
ops=0
for k in block seg lock signal msg rejoin; do
	ops=$((ops + $(total $k)))
done
locked=$(total locked) errors=$(total errors)
printf 'soak: %d clients, %d s: %d operations (%d/s): blocks %d, segments %d, locks %d, signals %d, messages %d, rejoins %d\n' \
	"$clients" "$took" "$ops" $((ops / (took ? took : 1))) "$(total block)" "$(total seg)" \
	"$(total lock)" "$(total signal)" "$(total msg)" "$(total rejoin)"
printf 'soak: explained refusals %d (busy lock, full window, member gone), errors %d, clients failed %d\n' \
	"$(total expected)" "$errors" "$failed"
printf 'soak: lock-guarded counters %s, increments under the locks %d\n' "$counted" "$locked"
printf 'soak: shmnode memory outside the region: %d kB after %d s, %d kB at the end (+%d kB; bound %d MB)\n' \
	"$mem_start" "$warmup" "$mem_end" $((mem_end - mem_start)) "$growth_mb"

status=0
if [ "$failed" != 0 ] || [ "$errors" != 0 ]; then
	echo "soak: FAIL: client errors:" >&2
	cat "$tmp"/client.*.err | sort | uniq -c | sort -rn | head -20 >&2
	status=1
fi
if [ "$counted" != "$locked" ]; then
	echo "soak: FAIL: the counters say $counted, the clients made $locked increments" >&2
	status=1
fi
if [ $((mem_end - mem_start)) -gt $((growth_mb * 1024)) ]; then
	echo "soak: FAIL: shmnode's memory grew by $(((mem_end - mem_start) / 1024)) MB" >&2
	status=1
fi
if ! kill -0 $node_pid 2>/dev/null; then
	echo "soak: FAIL: shmnode died:" >&2
	cat "$tmp/node.log" >&2
	status=1
fi
[ $status = 0 ] && echo "soak: PASS"
exit $status
