#!/usr/bin/env bash
# cli_messages.sh - the shmext command's signals and messages against a
# real shmnode on loopback: wait and recv in the background while signal
# and send reach them by name, a message from stdin and one over 4048 bytes
# (through shared memory) byte for byte, --all to two members, the --json
# of each, and the errors of a name nobody has and of nothing coming.
# Usage: cli_messages.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
start_node "$1" "$2" --size 64M --client-timeout 1000 --heartbeat 200
export SHMEXT_MSG_POOL_SIZE=8M

# Wait until member $1 has joined.
joined() {
	for _ in $(seq 100); do
		"$shmext" members 2>/dev/null | grep -q " $1\b" && return 0
		sleep 0.1
	done
	fail "member $1 did not join"
}

# Two signals to a waiter, by name.
"$shmext" --name rx --timeout 10000 wait --count 2 >"$dir/wait.out" 2>&1 &
waiter=$!
joined rx
expect 0 "^signal 5 value 42 to node [0-9]*$" -- signal rx 5 42
expect 0 '"signo":6,"value":7' -- --json signal rx 6 7
wait $waiter || fail "wait exited $?: $(cat "$dir/wait.out")"
grep -q "^from [0-9]* signo 5 value 42$" "$dir/wait.out" || fail "wait: $(cat "$dir/wait.out")"
grep -q "^from [0-9]* signo 6 value 7$" "$dir/wait.out" || fail "wait: $(cat "$dir/wait.out")"

# A message from stdin, and one through shared memory, byte for byte.
head -c 100000 /dev/urandom >"$dir/big"
"$shmext" --name inbox --timeout 10000 recv --raw --count 2 >"$dir/got" 2>"$dir/recv.err" &
receiver=$!
joined inbox
printf 'small one' | "$shmext" send inbox - >"$out" 2>&1 || fail "send from stdin"
"$shmext" send inbox - <"$dir/big" >"$out" 2>&1 || fail "send of 100000 bytes"
wait $receiver || fail "recv exited $?: $(cat "$dir/recv.err")"
{ printf 'small one'; cat "$dir/big"; } | cmp - "$dir/got" || fail "recv --raw got other bytes"

# --all reaches every other member; --json of recv.
"$shmext" --name a1 --timeout 10000 --json recv >"$dir/a1" 2>&1 &
a1=$!
"$shmext" --name a2 --timeout 10000 --json recv >"$dir/a2" 2>&1 &
a2=$!
joined a1
joined a2
expect 0 "a message of 5 bytes to 2 members" -- send --all hello
grep -c ": ok" "$out" | grep -q "^2$" || fail "not ok for both"
wait $a1 && wait $a2 || fail "recv --json exited $?"
for f in "$dir/a1" "$dir/a2"; do
	grep -q '"len":5,"hex":"68656c6c6f"' "$f" || fail "$(cat "$f")"
	python3 -m json.tool "$f" >/dev/null || fail "not JSON: $(cat "$f")"
done

# Errors.
expect 1 "no live member has that name" -- signal nobody 1
expect 1 "no live member has that id" -- signal 999 1
expect 2 "SIGNO: '0' is not 1 to 65535" -- signal rx 0
expect 1 "nothing came within --timeout" -- --timeout 200 wait
expect 1 '"name":"ETIMEDOUT"' -- --timeout 200 --json recv
stop_node
echo "PASS"
