#!/usr/bin/env bash
# bench-guest.sh - the guest side of deploy/bench-rxe.sh (settings in
# $SHMX_ENV: BUILD, ITERS, KEY).  One measurement at a time (the VMs share
# the host's cores):
#   node: perftest servers, one after the other, then shmnode (verbs) for
#         `shmext bench` and `shmext echo` (the peer of its signal and
#         message figures, as perftest's server is), until the compute VM
#         is down;
#   c1:   the perftest clients against the node, then `shmext bench --json
#         --peer bench-echo`.
# Results: $SHMX_OUT/<tool>.txt and bench.json in c1's results.
set -uo pipefail
: "${SHMX_NAME:?run me through cluster.sh}" "${SHMX_OUT:?}" "${SHMX_ENV:?}"
# shellcheck disable=SC1090
. "$SHMX_ENV"
node=$SHMX_NODE_IP
# tool, its extra arguments; one port each.
tests=(
	"ib_read_lat -s 8"
	"ib_write_lat -s 8"
	"ib_atomic_lat -A CMP_AND_SWAP"
	"ib_atomic_lat -A FETCH_AND_ADD"
	"ib_send_lat -s 8"
	"ib_send_bw -s 1048576"
	"ib_write_bw -s 1048576"
	"ib_read_bw -s 1048576"
)
iters_for() { case $1 in *_bw) echo 200 ;; *) echo "$ITERS" ;; esac; }
name_for() { echo "$1" | tr ' ' '_' | tr -d -- '-' | tr 'A-Z' 'a-z'; }

case $SHMX_NAME in
node)
	port=18700
	for t in "${tests[@]}"; do
		read -r tool args <<<"$t"
		# shellcheck disable=SC2086
		timeout 300 "$tool" -x 1 -d rxe0 -p $port -n "$(iters_for "$tool")" $args \
			>"$SHMX_OUT/$(name_for "$t")-server.txt" 2>&1
		port=$((port + 1))
	done
	timeout 600 "$BUILD/node/shmnode" --transport verbs --listen "$node:7470" \
		--size 64M --key-file "$KEY" -L warn 2>"$SHMX_OUT/shmnode.log" &
	pid=$!
	for _ in $(seq 60); do
		"$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" members >/dev/null 2>&1 && break
		sleep 0.5
	done
	"$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" --transport verbs \
		--name bench-echo echo 2>"$SHMX_OUT/echo.log" &
	echo_pid=$!
	# cluster.sh writes "release" here once every compute VM is down.
	while kill -0 $pid 2>/dev/null && [ ! -e "$SHMX_OUT/release" ]; do
		sleep 0.5
	done
	kill $echo_pid $pid 2>/dev/null
	wait $echo_pid
	wait $pid
	;;
c1)
	port=18700
	for t in "${tests[@]}"; do
		read -r tool args <<<"$t"
		out=$SHMX_OUT/$(name_for "$t").txt
		for _ in $(seq 60); do
			# shellcheck disable=SC2086
			timeout 300 "$tool" -x 1 -d rxe0 -p $port -n "$(iters_for "$tool")" $args "$node" >"$out" 2>&1 && break
			grep -q "Couldn't connect" "$out" || break
			sleep 0.5
		done
		echo "$t: $(grep -c '^ *[0-9]' "$out") result line(s)"
		port=$((port + 1))
	done
	for _ in $(seq 60); do
		"$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" members 2>/dev/null |
			grep -q bench-echo && break
		sleep 0.5
	done
	timeout 600 "$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" --transport verbs \
		-t 20000 bench --iters "$ITERS" --json --peer bench-echo \
		>"$SHMX_OUT/bench.json" 2>"$SHMX_OUT/bench.err"
	exit $?
	;;
esac
