#!/bin/bash
# tests/man.sh: the manuals: mandoc finds no warning or error in them, and
# they name every option, command and environment variable the programs
# have (read from the programs' usage and from src/).
set -u
. "$top_srcdir/tests/tap.sh"

man=$top_srcdir/man
pages=(calsync.8 calsyncctl.8)

t_require "mandoc is not installed (tools/deps installs it)" have mandoc

for p in "${pages[@]}"; do
	out=$(mandoc -Tlint -W warning "$man/$p" 2>&1)
	t_is "$p: mandoc -Tlint -W warning finds nothing" "$out" ""
done

# The SYNOPSIS of a page as text, with no formatting.
synopsis()
{
	mandoc -Tascii "$man/$1" | sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS/,/^[A-Z]/p'
}

# Every option in calsync's usage line is in the manual's SYNOPSIS.
usage=$("$top_builddir/src/calsync" -h 2>&1 | grep '^usage:')
t_like "calsync prints its usage" "$usage" '^usage: calsync '
for opt in $(grep -o '\[-[a-z]' <<<"$usage" | tr -d '['); do
	t_like "calsync.8 SYNOPSIS has $opt" "$(synopsis calsync.8)" "\\[$opt "
done

# Every command and option in calsyncctl's usage.
usage=$("$top_builddir/src/calsyncctl" 2>&1)
for cmd in $(sed -n 's/^.*calsyncctl \([a-z]*\).*$/\1/p' <<<"$usage"); do
	t_like "calsyncctl.8 SYNOPSIS has $cmd" "$(synopsis calsyncctl.8)" "calsyncctl $cmd"
done
t_like "calsyncctl.8 SYNOPSIS has deliveries -n" "$(synopsis calsyncctl.8)" '\[-n count\]'

# Every variable calsync reads is documented under ENVIRONMENT.
for var in $(cat "$top_srcdir"/src/*.c | grep -o 'getenv("[A-Z_]*")' |
    sed 's/getenv("\(.*\)")/\1/' | sort -u); do
	t_ok "calsync.8 documents $var" grep -q "^\\.It Ev .*$var" "$man/calsync.8"
done

t_done
