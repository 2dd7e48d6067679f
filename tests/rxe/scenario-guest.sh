#!/usr/bin/env bash
# scenario-guest.sh - the guest side of scenarios.sh, run in every VM by
# cluster.sh; settings come from the file $SHMX_ENV (VAR=value lines):
#   BUILD      the build tree (host path) with shmnode, shmext and the tests
#   TRANSPORT  verbs or ofi; PROVIDER the libfabric provider for ofi
#   KEY        the shared key file every node and client uses
#   SCEN_c1, SCEN_c2, ...  the scenarios each compute VM runs, in order
#   CLIENTS    how many compute VMs run scenarios
# node: runs tests/rxe/node_agent on $SHMX_NODE_IP:7400, which starts and
#       stops shmnode for the clients, until every client said quit.
# cN:   runs its scenarios one after the other; each leaves
#       $SHMX_OUT/<scenario>.log and <scenario>.rc (exit status, 77 = skip).
# Scenarios: an integration test program (test_data, test_multiproc,
# test_failure, test_auth) run in remote mode (tests/integration/harness.h),
# or "demo": `shmext demo` against a node the agent starts, or "auto": both
# sides left to choose the transport pick verbs.
set -uo pipefail
: "${SHMX_NAME:?run me through cluster.sh}" "${SHMX_OUT:?}" "${SHMX_ENV:?}"
# shellcheck disable=SC1090
. "$SHMX_ENV"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
agent=$SHMX_NODE_IP:7400
export SHMEXT_TRANSPORT=$TRANSPORT SHMEXT_PROVIDER=${PROVIDER:-}
[ -n "$SHMEXT_PROVIDER" ] || unset SHMEXT_PROVIDER
# The rxe CQ is smaller than libfabric's default universe wants.
export FI_UNIVERSE_SIZE=64
export LSAN_OPTIONS="suppressions=$here/../lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# One request to the agent; prints its answer.
agent_call() {
	local ans
	exec 3<>"/dev/tcp/${agent%:*}/${agent#*:}" || return 1
	printf '%s\n' "$*" >&3
	IFS= read -r -t 30 ans <&3
	exec 3<&-
	printf '%s\n' "$ans"
}

# Wait (bounded) until the agent answers.
wait_agent() {
	for _ in $(seq 120); do
		(exec 3<>"/dev/tcp/${agent%:*}/${agent#*:}") 2>/dev/null && return 0
		sleep 0.5
	done
	echo "the node agent at $agent never answered"
	return 1
}

scenario_demo() {
	local ans port pid rc
	ans=$(agent_call start --size 64M --key-file "$KEY" --transport "$TRANSPORT" ${PROVIDER:+--provider "$PROVIDER"}) || return 1
	read -r _ port pid <<<"$ans"
	[[ $port =~ ^[0-9]+$ ]] || { echo "agent: $ans"; return 1; }
	rc=1
	for _ in $(seq 50); do
		timeout 20 "$BUILD/compute/shmext" -n "$SHMX_NODE_IP:$port" -k "$KEY" members >/dev/null 2>&1 && { rc=0; break; }
		sleep 0.2
	done
	[ $rc = 0 ] && { timeout 120 "$BUILD/compute/shmext" -n "$SHMX_NODE_IP:$port" -k "$KEY" demo; rc=$?; }
	agent_call signal "$pid" 15 >/dev/null
	agent_call wait "$pid" 5 >/dev/null
	return $rc
}

# Transport "auto" on both sides: with rxe0 active and the node's address on
# it, both must pick verbs, and say why.
scenario_auto() {
	local ans port pid rc=1 info
	ans=$(agent_call start --size 16M --key-file "$KEY") || return 1
	read -r _ port pid <<<"$ans"
	[[ $port =~ ^[0-9]+$ ]] || { echo "agent: $ans"; return 1; }
	for _ in $(seq 50); do
		info=$(env -u SHMEXT_TRANSPORT -u SHMEXT_PROVIDER timeout 20 \
			"$BUILD/compute/shmext" -n "$SHMX_NODE_IP:$port" -k "$KEY" info --json 2>&1) && { rc=0; break; }
		sleep 0.2
	done
	echo "$info"
	if [ $rc = 0 ]; then
		grep -q '"transport": *"verbs"' <<<"$info" &&
			grep -q '"transport_reason": *"auto: RDMA device rxe0 is active"' <<<"$info" || rc=1
	fi
	agent_call signal "$pid" 15 >/dev/null
	agent_call wait "$pid" 5 >/dev/null
	return $rc
}

case $SHMX_NAME in
node)
	echo "node agent on $agent (transport $TRANSPORT${PROVIDER:+, provider $PROVIDER})"
	export SHMEXT_TRANSPORT
	timeout 900 "$BUILD/tests/rxe/node_agent" --listen "$agent" \
		--shmnode "$BUILD/node/shmnode" --quits "$CLIENTS" \
		--dir "$SHMX_OUT/agent" 2>&1
	;;
*)
	var=SCEN_$SHMX_NAME
	scen=${!var:-}
	if [ -z "$scen" ]; then
		# The agent waits for every client's quit, this one's too.
		echo "no scenarios for $SHMX_NAME"
		wait_agent && agent_call quit >/dev/null
		exit 0
	fi
	wait_agent || exit 1
	export SHMX_TEST_AGENT=$agent SHMX_TEST_KEY_FILE=$KEY SHMEXT_KEY_FILE=$KEY
	status=0
	versions="$SHMX_NAME: kernel $(uname -r), rdma-core $(dpkg-query -W -f='${Version}' rdma-core 2>/dev/null), libfabric $(dpkg-query -W -f='${Version}' libfabric1 2>/dev/null), transport $TRANSPORT${PROVIDER:+ ($PROVIDER)}"
	for s in $scen; do
		t0=$(date +%s.%N)
		echo "# $s on $versions" >"$SHMX_OUT/$s.log"
		case $s in
		demo) scenario_demo >>"$SHMX_OUT/$s.log" 2>&1 ;;
		auto) scenario_auto >>"$SHMX_OUT/$s.log" 2>&1 ;;
		test_*) (cd /tmp && timeout 400 "$BUILD/tests/integration/$s") >>"$SHMX_OUT/$s.log" 2>&1 ;;
		*) echo "unknown scenario $s" >>"$SHMX_OUT/$s.log"; false ;;
		esac
		rc=$?
		echo "$rc" >"$SHMX_OUT/$s.rc"
		awk -v s="$s" -v rc="$rc" -v a="$t0" -v b="$(date +%s.%N)" \
			'BEGIN { printf "%-16s rc=%-3s %6.1fs\n", s, rc, b - a }'
		[ "$rc" = 0 ] || status=1
	done
	agent_call quit >/dev/null
	exit $status
	;;
esac
