# shellcheck shell=bash
# tests/debbuild.sh: the Debian package, built from the dist tarball with
# dpkg-buildpackage, for the tests that install it: tests/deb.sh on this
# machine, tests/systemd.sh in a booted container.  Source it.

# deb_build TARBALL DIR: unpack TARBALL in DIR and build the .deb there;
# print its path.  The build's output is in DIR/build.log; on failure,
# its last lines go to stderr.
deb_build()
{
	local tarball=$1 dir=$2 src deb
	tar -C "$dir" -xzf "$tarball" || { echo "cannot unpack $tarball" >&2; return 1; }
	src=$(echo "$dir"/calsync-*/)
	# Run from make, the build must not inherit make's own settings
	# (TESTS=... in MAKEFLAGS would have it run that test again).
	if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1; then
		echo "dpkg-buildpackage -us -uc -b failed:" >&2
		tail -n 30 "$dir/build.log" >&2
		return 1
	fi
	deb=$(echo "$dir"/calsync_*_*.deb)
	[ -f "$deb" ] || { echo "dpkg-buildpackage made no .deb" >&2; return 1; }
	printf '%s\n' "$deb"
}
