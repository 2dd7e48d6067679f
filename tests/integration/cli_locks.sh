#!/usr/bin/env bash
# cli_locks.sh - the shmext command's global locks against a real shmnode
# on loopback: shmext locks on an empty node and with a lock held (mode,
# holder and its member name, waiters, lease), shmext lock --hold, a second
# shmext lock that times out, shmext lock -- CMD (its exit status and
# SHMEXT_LOCK_FENCE), and the --json of both.
# Usage: cli_locks.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
start_node "$1" "$2" --size 16M --client-timeout 1000 --heartbeat 200

json_ok() { python3 -m json.tool "$out" >/dev/null || fail "not JSON"; }

expect 0 "^Locks: 0$" -- locks
expect 0 '"count":0,"locks":\[\]' -- --json locks
json_ok

# A holder in the background, with a lease longer than its hold.  The hold
# outlasts the checks below even on a loaded machine (sanitizers, parallel
# tests): 3 s did not always.
"$shmext" --name holder-x lock X --hold 6000 --lease 6500 \
	>"$dir/holder.out" 2>&1 &
holder=$!
for _ in $(seq 50); do
	"$shmext" locks >"$out" 2>&1 || true
	grep -q " X " "$out" && break
	sleep 0.1
done
expect 0 "^Locks: 1$" -- locks
expect 0 " X  *exclusive  *[0-9]* (holder-x)  *[0-9.]* m\?s  *0  *6500 ms" -- locks
expect 0 '"name":"X","mode":"exclusive","holding":1,"holders":\[{"node":[0-9]*,"name":"holder-x",' \
	-- --json locks
expect 0 '"waiters":0,"lease_ms":6500,"reservations":1,' -- --json locks
json_ok
# A second taker gives up after its timeout.
expect 1 "timed out waiting for lock 'X' (200 ms)" -- --timeout 200 lock X
grep -q "hint: 'shmext locks' shows who holds it" "$out" || fail "no hint"
wait $holder || fail "shmext lock X --hold 6000 exited $?: $(cat "$dir/holder.out")"
grep -q "^[0-9][0-9]*$" "$dir/holder.out" || fail "the holder printed '$(cat "$dir/holder.out")', not a fence"

# With the hold over, a command runs under the lock and passes its status on.
# The ticket the timed-out taker left in line (it exited before its turn)
# holds the line up for one lease: then the next waiter takes over.
expect 0 "" -- --timeout 15000 lock X -- true
expect 3 "" -- lock X -- sh -c 'exit 3'
expect 0 "^fence [0-9][0-9]*$" -- lock X -- sh -c 'echo fence $SHMEXT_LOCK_FENCE'
expect 127 "cannot run 'no-such-command-here'" -- lock X -- no-such-command-here
expect 0 '"lock":"X","id":[0-9]*,"mode":"shared","fence":[0-9]*' -- \
	--json lock X --shared
json_ok
expect 2 "exclude each other" -- lock X --hold 10 -- true
expect 2 "is not a lock name" -- lock ''
# Released and unreserved everywhere: the lock is gone.
expect 0 "^Locks: 0$" -- locks
stop_node
echo "PASS"
