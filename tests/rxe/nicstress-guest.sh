#!/usr/bin/env bash
# nicstress-guest.sh - reproduces the virtio transmit stall of the VMs
# (tests/rxe/README.md): each VM spins a shell loop on its one vCPU while
# the node and each client run a bidirectional ib_write_bw (64 KiB, 4 QPs)
# for STRESS_SECONDS (default 90).  A run that stalls is ended by
# cluster.sh with exit 75; one that does not exits 0.
#   tests/rxe/cluster.sh -q [-E] -s node=tests/rxe/nicstress-guest.sh \
#       -s c1=tests/rxe/nicstress-guest.sh -s c2=tests/rxe/nicstress-guest.sh
set -u
: "${SHMX_NAME:?run me through cluster.sh}" "${SHMX_OUT:?}"
d=${STRESS_SECONDS:-90}

# The busy vCPU: without it the stall was not seen.
timeout $((d + 20)) sh -c 'while :; do :; done' &

bw() { # PORT [SERVER]
	timeout $((d + 60)) ib_write_bw -x 1 -d rxe0 -p "$1" -s 65536 -q 4 \
		-D "$d" -b ${2:+"$2"}
}

case $SHMX_NAME in
node)
	bw 18520 >"$SHMX_OUT/bw-c1.txt" 2>&1 &
	bw 18521 >"$SHMX_OUT/bw-c2.txt" 2>&1 &
	wait
	;;
c*)
	port=$((18519 + ${SHMX_NAME#c}))
	for _ in $(seq 60); do # until the node's server listens
		bw "$port" "$SHMX_NODE_IP" >"$SHMX_OUT/bw.txt" 2>&1 && break
		grep -q "Couldn't connect" "$SHMX_OUT/bw.txt" || break
		sleep 1
	done
	;;
esac
exit 0
