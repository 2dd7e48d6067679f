#!/usr/bin/env bash
# result.sh OUT VM SCENARIO - one scenario of a scenarios.sh run, as a ctest
# result: prints the scenario's log and exits with its status (77 when the
# run was skipped, with the reason).
out=$1 vm=$2 s=$3
if [ -f "$out/skipped" ]; then
	echo "skipped: $(cat "$out/skipped")"
	exit 77
fi
if [ ! -f "$out/$vm/$s.rc" ]; then
	echo "no result for $s in $out/$vm (the VM run did not get that far)"
	tail -n 40 "$out/cluster.log" 2>/dev/null
	exit 1
fi
cat "$out/$vm/$s.log"
exit "$(cat "$out/$vm/$s.rc")"
