#!/usr/bin/env bash
# smoke-guest.sh - the guest side of smoke.sh; runs inside the rxe VMs
# (chrooted into the host root by guest-init.sh) and picks its role from
# $SHMX_NAME:
#   node: perftest servers, one after the other - ib_atomic_lat (port 18515)
#         and ib_write_lat (18516) for c1;
#   c1:   ib_atomic_lat and ib_write_lat clients against the node 10.77.1.1,
#         then an ib_write_lat server (18517) for c2;
#   c2:   fi_info -p verbs, deploy/rxe-setup.sh --check, then the
#         ib_write_lat client against c1
#         10.77.1.2 (compute to compute, through the node's bridge).
# Each perftest run leaves its output in $SHMX_OUT/<tool>[-c1].txt.
# Clients retry (bounded) while the server's TCP port is not open yet; every
# command is bounded by `timeout`, so a lost peer cannot hang the VM.
set -euo pipefail
: "${SHMX_NAME:?run me through cluster.sh}" "${SHMX_OUT:?}"
iters=${SMOKE_ITERS:-1000}
srv_timeout=150   # how long a server waits for its client and test
cli_tries=150     # connection attempts, 1 s apart

server() { # TOOL DEV PORT OUTFILE
	timeout "$srv_timeout" "$1" -x 1 -d "$2" -p "$3" -n "$iters" >"$SHMX_OUT/$4" 2>&1
}

client() { # TOOL DEV PORT SERVER OUTFILE
	local t
	for ((t = 1; t <= cli_tries; t++)); do
		if timeout 60 "$1" -x 1 -d "$2" -p "$3" -n "$iters" "$4" >"$SHMX_OUT/$5" 2>&1; then
			echo "$1 -> $4:$3 ok (attempt $t)"
			return 0
		fi
		# Only "nobody listens yet" is worth retrying.
		if ! grep -q "Couldn't connect\|Unable to open file descriptor" "$SHMX_OUT/$5"; then
			echo "$1 -> $4:$3 FAILED:"
			cat "$SHMX_OUT/$5"
			return 1
		fi
		sleep 1
	done
	echo "$1 -> $4:$3: server never answered"
	return 1
}

case $SHMX_NAME in
node)
	ibv_devinfo -l
	# One test at a time: the VMs share 2 host cores, and perftest latency
	# tests busy-poll on both ends, so concurrent tests would measure the
	# host's scheduler.  c1's two tests first, then c2's against c1.
	server ib_atomic_lat rxe0 18515 ib_atomic_lat-server.txt
	server ib_write_lat rxe0 18516 ib_write_lat-server.txt
	;;
c1)
	client ib_atomic_lat rxe0 18515 "$SHMX_NODE_IP" ib_atomic_lat.txt
	client ib_write_lat rxe0 18516 "$SHMX_NODE_IP" ib_write_lat.txt
	server ib_write_lat rxe0 18517 ib_write_lat-c2-server.txt
	;;
c2)
	timeout 60 fi_info -p verbs >"$SHMX_OUT/fi_info-verbs.txt" 2>&1 || {
		echo "fi_info -p verbs failed:"
		cat "$SHMX_OUT/fi_info-verbs.txt"
		exit 1
	}
	echo "fi_info -p verbs: $(grep -c '^provider:' "$SHMX_OUT/fi_info-verbs.txt") entries"
	# deploy/rxe-setup.sh, as on a real host, finds the rxe set up here.
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	timeout 60 "$here/../../deploy/rxe-setup.sh" --check >"$SHMX_OUT/rxe-setup-check.txt" 2>&1 || {
		echo "deploy/rxe-setup.sh --check failed:"
		cat "$SHMX_OUT/rxe-setup-check.txt"
		exit 1
	}
	client ib_write_lat rxe0 18517 10.77.1.2 ib_write_lat-c1.txt
	;;
*)
	echo "smoke-guest: nothing to do for $SHMX_NAME"
	;;
esac
