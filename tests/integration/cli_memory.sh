#!/usr/bin/env bash
# cli_memory.sh - the shmext command's pool, allocation and ownership
# commands against a real shmnode on loopback: what they print, --json, and
# the exit status and message of each refusal.
# Usage: cli_memory.sh SHMNODE SHMEXT
set -euo pipefail
. "$(dirname "$0")/cli_lib.sh"
start_node "$1" "$2" --size 16M --member-cap 1M --client-timeout 1000 --heartbeat 200

expect 0 "created pool 'p1'" -- pool create p1 1M
expect 1 "Already exists" -- pool create p1 1M
expect 1 "No such" -- pool stat nosuch
expect 2 "" -- pool create p2 0
a=$("$shmext" alloc p1 100)
[[ $a =~ ^0x[0-9a-f]+$ ]] || fail "alloc printed '$a'"
b=$("$shmext" alloc p1 4K 4K)
(( b % 4096 == 0 )) || fail "alloc with ALIGN 4K gave $b"
"$shmext" write "$a" "hello pools" >/dev/null
"$shmext" read "$a" 11 | grep -q "hello pools" || fail "read back"
expect 0 '"nr_alloc": *2\|"allocations": *2' -- --json pool stat p1
expect 1 "Invalid argument" -- release $((a + 8))
expect 1 "Busy" -- pool destroy p1
expect 1 "Out of memory" -- alloc p1 2M
expect 0 "" -- pool create big 4M
expect 1 "memory cap" -- alloc big 2M
expect 0 "" -- pool destroy big
expect 1 "No such live member" -- own "$a" 99999
expect 0 "epoch 1" -- epoch "$a"
expect 0 "" -- release "$a"
expect 1 "No such" -- release "$a"
expect 0 "" -- release "$b"
expect 0 "destroyed pool 'p1'" -- pool destroy p1
expect 1 "No such" -- pool stat p1

stop_node
echo "cli memory commands: ok"
