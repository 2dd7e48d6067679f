#!/usr/bin/env bash
# smoke.sh - proves the rxe VM harness end to end: boots the 3-VM star of
# cluster.sh and runs perftest across VMs over soft-RoCE (guest side:
# smoke-guest.sh): ib_atomic_lat -x 1 and ib_write_lat from c1 to the node
# (10.77.1.1), ib_write_lat from c2 to c1 (10.77.1.2, through the node), and
# fi_info -p verbs in c2.  Prints the perftest results and the wall times.
# Exit: 0 only if every perftest run produced results; 77 (skip) if qemu
# cannot run here; 1 otherwise.
# Usage: smoke.sh [-w WORKDIR] [-o OUTDIR] [-t TIMEOUT_SECONDS] [-l udp|tcp]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$repo/build-rxe out='' timeout=400 link=udp
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { sed -n 's/^# Usage: //p' "${BASH_SOURCE[0]}" >&2; exit 2; }
	case $1 in
	-w) work=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-t) timeout=$2; shift 2 ;;
	-l) link=$2; shift 2 ;;
	*) sed -n 's/^# Usage: //p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
	esac
done

t0=$(date +%s.%N)
rc=0
"$here/setup.sh" "$work" || rc=$?
[ $rc = 0 ] || exit $rc
t1=$(date +%s.%N)
[ -n "$out" ] || out=$work/runs/smoke-$(date +%Y%m%d-%H%M%S)

# Once more if a VM's network stalled (cluster.sh: 75, a qemu fault).
for attempt in 1 2; do
	rc=0
	"$here/cluster.sh" -w "$work" -o "$out" -t "$timeout" -l "$link" -q -x "$repo" \
		-s node="$here/smoke-guest.sh" -s c1="$here/smoke-guest.sh" -s c2="$here/smoke-guest.sh" || rc=$?
	[ $rc = 75 ] && [ $attempt = 1 ] || break
	echo "smoke: a VM's network stalled (qemu); running once more"
	rm -rf "$out.stalled" && mv "$out" "$out.stalled"
done
[ $rc != 77 ] || exit 77
t2=$(date +%s.%N)

# A perftest result table has a line of numbers after its "#bytes" header.
has_result() { [ -f "$1" ] && awk '/#bytes/{h=1; next} h && /^ *[0-9]+ +[0-9]+ +[0-9.]+/{f=1} END{exit !f}' "$1"; }
show() { # TITLE FILE
	echo "------------------- $1"
	if has_result "$2"; then
		sed -n '/#bytes/,/^-\{20,\}/p' "$2"
	else
		echo "NO RESULT in $2"
		cat "$2" 2>/dev/null || true
		rc=1
	fi
}
echo
echo "=================== perftest over rxe across VMs"
show "ib_atomic_lat -x 1 -d rxe0: c1 -> node 10.77.1.1" "$out/c1/ib_atomic_lat.txt"
show "ib_write_lat -x 1 -d rxe0: c1 -> node 10.77.1.1" "$out/c1/ib_write_lat.txt"
show "ib_write_lat -x 1: c2 -> c1 10.77.1.2 (through the node's bridge)" "$out/c2/ib_write_lat-c1.txt"
echo "------------------- fi_info -p verbs (in c2; $out/c2/fi_info-verbs.txt)"
if grep -q '^provider: verbs' "$out/c2/fi_info-verbs.txt" 2>/dev/null; then
	grep -E '^(provider|    fabric|    domain|    type):' "$out/c2/fi_info-verbs.txt" | paste - - - - | sort -u
else
	echo "fi_info -p verbs listed nothing"
	cat "$out/c2/fi_info-verbs.txt" 2>/dev/null || true
	rc=1
fi
echo "------------------- guest software (node)"
cat "$out/node/uname.txt" "$out/node/versions.txt" 2>/dev/null || true
awk -v a="$t0" -v b="$t1" -v c="$t2" -v o="$out" 'BEGIN {
	printf "\nsmoke: wall time %.1fs (setup %.1fs, cluster %.1fs); results in %s\n", c - a, b - a, c - b, o }'
if [ $rc = 0 ]; then echo "smoke: PASS"; else echo "smoke: FAIL"; fi
exit $rc
