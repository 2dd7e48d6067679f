#!/usr/bin/env bash
# scenarios.sh - the integration scenarios across hosts over soft-RoCE: boots
# the 3-VM star of cluster.sh; the node VM runs node_agent (it starts shmnode
# on request), the compute VMs c1 and c2 run the integration test programs
# in remote mode at the same time (guest side: scenario-guest.sh).
# Writes OUT/<vm>/<scenario>.{log,rc}, OUT/summary.txt, OUT/versions.txt,
# and OUT/skipped (the reason) when qemu cannot run here.
# Exit: 0 when every scenario passed; 1 when one failed or the VMs did not
# come up; 77 when skipped.  With -F 1 (a ctest fixture, whose scenario
# tests give the verdicts): 0 once every scenario left a result.
# Usage: scenarios.sh -T verbs|ofi -b BUILD_DIR [-o OUT] [-w WORKDIR]
#                     [-t TIMEOUT_S] [-1 "SCENARIOS"] [-2 "SCENARIOS"]
#                     [-F 1]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
transport='' build='' out='' work=$repo/build-rxe timeout=600 fixture=0
scen1="test_data test_multiproc test_named demo test_growth test_messages test_persist"
scen2="test_failure test_auth test_memory test_locks_global auto test_xport_mailbox test_restart"
usage() { sed -n 's/^# Usage: //p; s/^#  \{18\}/    /p' "${BASH_SOURCE[0]}" >&2; exit 2; }
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-T) transport=$2 ;;
	-b) build=$2 ;;
	-o) out=$2 ;;
	-w) work=$2 ;;
	-t) timeout=$2 ;;
	-1) scen1=$2 ;;
	-2) scen2=$2 ;;
	-F) fixture=$2 ;;
	*) usage ;;
	esac
	shift 2
done
case $transport in
verbs) provider='' ;;
ofi) provider='verbs;ofi_rxm' ;;
*) usage ;;
esac
[ -n "$build" ] && [ -x "$build/node/shmnode" ] && [ -x "$build/tests/rxe/node_agent" ] || {
	echo "scenarios: -b must name a build tree with node/shmnode and tests/rxe/node_agent" >&2
	exit 2
}
build=$(cd "$build" && pwd)
[ -n "$out" ] || out=$work/runs/scenarios-$transport-$(date +%Y%m%d-%H%M%S)
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

head -c 32 /dev/urandom >"$out/key"
chmod 600 "$out/key"
cat >"$out/env" <<EOT
BUILD=$build
TRANSPORT=$transport
PROVIDER='$provider'
KEY=$out/key
CLIENTS=2
SCEN_c1='$scen1'
SCEN_c2='$scen2'
EOT

# A run whose VM network stalled (cluster.sh: 75, a qemu fault, not a
# result of the scenarios) is run again, up to three runs in all; the last
# stalled one stays in OUT/stalled-run/ and the summary says so.
retried=''
for attempt in 1 2 3; do
	rc=0
	"$here/cluster.sh" -w "$work" -o "$out" -t "$timeout" -q -e "$out/env" \
		-x "$repo" -x "$build" -x "$out" \
		-s node="$here/scenario-guest.sh" -s c1="$here/scenario-guest.sh" \
		-s c2="$here/scenario-guest.sh" >"$out/cluster.log" 2>&1 || rc=$?
	[ $rc = 75 ] && [ $attempt != 3 ] || break
	retried=$(grep -h 'STALLED' "$out/cluster.log" | head -1)
	rm -rf "$out/stalled-run"
	mkdir "$out/stalled-run"
	for f in "$out"/*; do
		case ${f##*/} in key | env | stalled-run) ;; *) mv "$f" "$out/stalled-run/" ;; esac
	done
done
if [ $rc = 77 ]; then
	grep -h 'SKIP' "$out/cluster.log" | head -1 >"$out/skipped"
	[ -s "$out/skipped" ] || echo "qemu cannot run here" >"$out/skipped"
	echo "scenarios: SKIPPED: $(cat "$out/skipped")"
	exit 77
fi

status=0 missing=0
{
	echo "transport $transport${provider:+ (provider $provider)}; node VM 10.77.1.1, clients c1 10.77.1.2, c2 10.77.1.3"
	[ -z "$retried" ] || echo "run again after: $retried (first run in stalled-run/)"
	cat "$out/node/uname.txt" "$out/node/versions.txt" 2>/dev/null | sed 's/^/  /'
	for vm in c1 c2; do
		var=scen${vm#c}
		for s in ${!var}; do
			r=$(cat "$out/$vm/$s.rc" 2>/dev/null || echo none)
			[ "$r" != none ] || missing=1
			[ "$r" = 0 ] || status=1
			printf '%-3s %-16s %s\n' "$vm" "$s" "$([ "$r" = 0 ] && echo PASS || echo "FAIL (rc $r)")"
		done
	done
} >"$out/summary.txt"
cat "$out/summary.txt"
if [ $rc != 0 ] && [ $status = 0 ]; then status=1; fi
[ $status = 0 ] || { echo "--- cluster:"; tail -n 60 "$out/cluster.log"; }
if [ "$fixture" = 1 ] && [ $missing = 0 ]; then
	[ $status = 0 ] || echo "scenarios: every scenario left a result; their tests say which failed"
	exit 0
fi
exit $status
