#!/usr/bin/env bash
# check.sh - the manual pages (docs/man/*.md, built into BUILD_DIR/man):
#  - each has NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS and SEE
#    ALSO, in that order, and names only pages that exist;
#  - every call the public header exports is in the SYNOPSIS of a page;
#  - shmnode(8) names every option of shmnode --help, shmext(1) every
#    command of shmext --help;
#  - each built page renders with man(1) without a warning.
# Usage: check.sh SRC_DIR BUILD_DIR SHMNODE SHMEXT
set -euo pipefail
src=$1 build=$2 shmnode=$3 shmext=$4
man_dir=$src/docs/man
fail() { echo "FAIL: $*"; exit 1; }
n=0
for md in "$man_dir"/*.md; do
	page=$(basename "$md" .md)
	n=$((n + 1))
	heads=$(grep '^# ' "$md" | sed 's/^# //' |
		grep -x -e NAME -e SYNOPSIS -e DESCRIPTION -e 'RETURN VALUE' -e ERRORS -e 'SEE ALSO' |
		tr '\n' '|')
	[ "$heads" = "NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|SEE ALSO|" ] ||
		fail "$page: sections are $heads"
	for ref in $(sed -n '/^# SEE ALSO/,$p' "$md" | grep -o '\*\*[a-z0-9_]*\*\*([0-9])' |
		sed 's/\*\*\(.*\)\*\*(\([0-9]\))/\1.\2/'); do
		[ -f "$man_dir/$ref.md" ] || fail "$page: SEE ALSO names $ref, which is no page"
	done
	built=$build/man/$page
	[ -f "$built" ] || fail "$page was not built ($built)"
	warn=$(man --warnings -l "$built" 2>&1 >/dev/null) || fail "$page: man failed: $warn"
	[ -z "$warn" ] || fail "$page: man warns: $warn"
done
[ $n -gt 0 ] || fail "no pages in $man_dir"

# The calls: each in the SYNOPSIS of some section 3 page.
synopses=$(for md in "$man_dir"/*.3.md; do sed -n '/^# SYNOPSIS/,/^# DESCRIPTION/p' "$md"; done)
for f in $(grep SHMX_EXPORT "$src/include/shmext/shmext.h" | grep -o 'shmx_[a-z0-9_]*(' | tr -d '(' | sort -u); do
	grep -q "$f(" <<<"$synopses" || fail "no man page has $f in its SYNOPSIS"
done

# The programs' options and commands.
for opt in $("$shmnode" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$opt" "$man_dir/shmnode.8.md" || fail "shmnode(8) lacks $opt"
done
for cmd in $("$shmext" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort -u); do
	grep -q "\b$cmd\b" "$man_dir/shmext.1.md" || fail "shmext(1) lacks the command $cmd"
done
echo "man pages: $n pages, every call and option named"
