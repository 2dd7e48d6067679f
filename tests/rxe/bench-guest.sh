#!/usr/bin/env bash
# bench-guest.sh - the guest side of deploy/bench-rxe.sh (settings in
# $SHMX_ENV: BUILD, ITERS, KEY).  Three VMs (cluster.sh -n 3): the memory
# node, c1 (perftest's clients, `shmext bench`) and c2 (the peer of the
# signal and message figures: compute nodes message each other directly,
# so they are set beside perftest between c1 and c2, through the node's
# bridge like shmext's own messages).  One measurement at a time (the VMs
# share the host's cores); c1 leads, and tells the others when it is their
# turn by connecting to a TCP port where they wait (`nc -l`, idle):
#   node: perftest servers for c1, one after the other; then, once c1 says
#         so (it is done with c2's perftest too), shmnode (verbs) for
#         `shmext bench`, until every compute VM is down;
#   c2:   waits until c1 says it is done with the node's perftest (after a
#         first hello, so that c2's boot is over before c1 measures), then
#         ib_send_lat and ib_send_bw servers for c1; then `shmext echo
#         --name bench-echo` (the peer of the signal and message figures)
#         once shmnode answers, until c1 sends it signal 4 (leave) and says
#         it is done;
#   c1:   hello to c2, the perftest clients against the node, go to c2, the
#         ib_send_lat and ib_send_bw clients against c2, go to the node,
#         `shmext bench --json --peer bench-echo`, signal 4 to the echo,
#         done to c2.
# Results: $SHMX_OUT/<tool>.txt (c1 to the node) and <tool>-c2.txt (c1 to
# c2), servers' <tool>-server.txt, bench.json in c1's results.
set -uo pipefail
: "${SHMX_NAME:?run me through cluster.sh}" "${SHMX_OUT:?}" "${SHMX_ENV:?}"
# shellcheck disable=SC1090
. "$SHMX_ENV"
node=$SHMX_NODE_IP c2=10.77.1.3
go_port=18790 # where the node and c2 wait for their turn
# tool, its extra arguments; one port each, from 18700 (node) and 18710 (c2).
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
tests_c2=(
	"ib_send_lat -s 8"
	"ib_send_bw -s 1048576"
)
iters_for() { case $1 in *_bw) echo 200 ;; *) echo "$ITERS" ;; esac; }
name_for() { echo "$1" | tr ' ' '_' | tr -d -- '-' | tr 'A-Z' 'a-z'; }
shmext() { "$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" "$@"; }

wait_turn() { # SECONDS: until a peer connects to go_port (busybox nc)
	timeout "$1" nc -l -p $go_port </dev/null >/dev/null 2>&1 ||
		echo "no word on port $go_port within $1 s; going on"
}
give_turn() { # HOST: connect to its go_port, retrying until it listens
	for _ in $(seq 600); do
		(exec 3<>"/dev/tcp/$1/$go_port") 2>/dev/null && return 0
		sleep 0.5
	done
	echo "$1 never listened on port $go_port"
	return 1
}
servers() { # PORT TEST...: perftest servers, one after the other
	local port=$1 t tool args
	shift
	for t in "$@"; do
		read -r tool args <<<"$t"
		# shellcheck disable=SC2086
		timeout 300 "$tool" -x 1 -d rxe0 -p "$port" -n "$(iters_for "$tool")" $args \
			>"$SHMX_OUT/$(name_for "$t")-server.txt" 2>&1
		port=$((port + 1))
	done
}
clients() { # SERVER PORT SUFFIX TEST...: the clients, retrying until each listens
	local host=$1 port=$2 sfx=$3 t tool args out
	shift 3
	for t in "$@"; do
		read -r tool args <<<"$t"
		out=$SHMX_OUT/$(name_for "$t")$sfx.txt
		for _ in $(seq 60); do
			# shellcheck disable=SC2086
			timeout 300 "$tool" -x 1 -d rxe0 -p "$port" -n "$(iters_for "$tool")" $args "$host" >"$out" 2>&1 && break
			grep -q "Couldn't connect" "$out" || break
			sleep 0.5
		done
		echo "$t ($host): $(grep -c '^ *[0-9]' "$out") result line(s)"
		port=$((port + 1))
	done
}

case $SHMX_NAME in
node)
	servers 18700 "${tests[@]}"
	wait_turn 900
	timeout 900 "$BUILD/node/shmnode" --transport verbs --listen "$node:7470" \
		--size 64M --key-file "$KEY" -L warn 2>"$SHMX_OUT/shmnode.log" &
	pid=$!
	# cluster.sh writes "release" here once every compute VM is down.
	while kill -0 $pid 2>/dev/null && [ ! -e "$SHMX_OUT/release" ]; do
		sleep 0.5
	done
	kill $pid 2>/dev/null
	wait $pid
	;;
c2)
	wait_turn 300 # hello: c2 is up
	wait_turn 900 # c1 is done with the node's perftest
	servers 18710 "${tests_c2[@]}"
	for _ in $(seq 240); do
		shmext members >/dev/null 2>&1 && break
		sleep 0.5
	done
	timeout 900 "$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" --transport verbs \
		--name bench-echo echo 2>"$SHMX_OUT/echo.log" &
	echo_pid=$!
	# c1 sends the echo signal 4 (leave, bench_msg.c) after its bench, then
	# says it is done here; an echo that was not told (shmnode lost) is
	# stopped, and the status says so.
	wait_turn 900
	for _ in $(seq 20); do
		kill -0 $echo_pid 2>/dev/null || break
		sleep 0.5
	done
	kill $echo_pid 2>/dev/null && echo "the echo was not told to leave: stopped"
	wait $echo_pid
	exit $?
	;;
c1)
	give_turn $c2 # hello
	clients "$node" 18700 '' "${tests[@]}"
	give_turn $c2
	clients $c2 18710 -c2 "${tests_c2[@]}"
	give_turn "$node"
	for _ in $(seq 240); do
		shmext members 2>/dev/null | grep -q bench-echo && break
		sleep 0.5
	done
	timeout 600 "$BUILD/compute/shmext" -n "$node:7470" -k "$KEY" --transport verbs \
		-t 20000 bench --iters "$ITERS" --json --peer bench-echo \
		>"$SHMX_OUT/bench.json" 2>"$SHMX_OUT/bench.err"
	rc=$?
	shmext --transport verbs signal bench-echo 4 >/dev/null 2>"$SHMX_OUT/quit.err" ||
		echo "could not tell the echo to leave (see quit.err)"
	give_turn $c2 # done
	exit $rc
	;;
esac
