#!/usr/bin/env bash
# deploy_files.sh - the deployment files in deploy/ work with the shmnode
# they ship with:
#  - deploy/shmnode.conf names every option of shmnode --help (each one
#    once, set or commented out), and shmnode serves with it;
#  - a bad value in it stops shmnode with a message naming the key;
#  - deploy/systemd/shmnode.service passes systemd-analyze verify (with
#    its paths pointed at this build) without a warning, where systemd is
#    installed.
# Usage: deploy_files.sh SHMNODE SHMEXT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
conf=$repo/deploy/shmnode.conf
unit=$repo/deploy/systemd/shmnode.service
# shellcheck source=cli_lib.sh
. "$here/cli_lib.sh"
shmnode=$1
out=/dev/null

# Every long option but help, version and config, as a key.
opts=$("$shmnode" --help | grep -o -- '--[a-z][a-z-]*' | sed 's/^--//' |
	grep -vx -e help -e version -e config | sort -u)
keys=$(sed -n 's/^#\{0,1\}\([a-z][a-z-]*\) *=.*/\1/p' "$conf" | sort)
[ -n "$opts" ] || fail "shmnode --help lists no options"
missing=$(comm -23 <(echo "$opts") <(echo "$keys" | sort -u))
[ -z "$missing" ] || fail "deploy/shmnode.conf lacks: $missing"
extra=$(comm -13 <(echo "$opts") <(echo "$keys" | sort -u))
[ -z "$extra" ] || fail "deploy/shmnode.conf has keys shmnode does not take: $extra"
twice=$(echo "$keys" | uniq -d)
[ -z "$twice" ] || fail "deploy/shmnode.conf names twice: $twice"

# It serves with the example (listen and size from the command line, which
# win over the file; no admin socket in /run for a test).
start_node "$shmnode" "$2" --config "$conf" --size 64M --admin-socket none
expect 0 "region" -- info
stop_node

# A bad value: shmnode refuses to start and names the key.
bad=$dir/bad.conf
sed 's/^max-members = .*/max-members = lots/' "$conf" >"$bad"
grep -q '^max-members = lots' "$bad" || fail "the example sets no max-members"
rc=0
timeout 10 "$shmnode" --config "$bad" --listen 127.0.0.1:1 >"$out" 2>&1 || rc=$?
[ $rc != 0 ] || fail "shmnode took max-members = lots"
grep -q "max-members" "$out" || fail "shmnode did not name the key"

# The unit, where systemd can check it.
if command -v systemd-analyze >/dev/null; then
	sed -e "s|/usr/sbin/shmnode|$shmnode|" -e "s|/etc/shmext/shmnode.conf|$conf|" \
		"$unit" >"$dir/shmnode.service"
	rc=0
	systemd-analyze verify "$dir/shmnode.service" >"$out" 2>&1 || rc=$?
	[ $rc = 0 ] || fail "systemd-analyze verify failed"
	! grep -qi -e 'unknown' -e 'ignoring' -e 'invalid' "$out" ||
		fail "systemd-analyze verify warned"
else
	echo "deploy_files: no systemd-analyze here; the unit is not checked"
fi
echo "deploy_files: PASS"
