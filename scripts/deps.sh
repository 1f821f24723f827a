#!/bin/sh
# Install the Debian packages listed in scripts/deps.txt that are missing.
# Only Debian's archive is used; nothing is installed into /boot.
set -e
here=$(dirname "$0")
missing=""
for p in $(cat "$here/deps.txt"); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The arm64 VMM links Debian's arm64 static libraries (scripts/fetch-arm64-libs.sh
# downloads them without installing): apt needs arm64's package lists.
arm64=0
dpkg --print-foreign-architectures | grep -qx arm64 || arm64=1
[ -z "$missing" ] && [ "$arm64" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing$([ "$arm64" = 1 ] && echo ' (and dpkg --add-architecture arm64)')" \
		"(run as root, or install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
[ "$arm64" = 1 ] && dpkg --add-architecture arm64
apt-get update -qq
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
apt-get install -y -qq --no-install-recommends $missing >/dev/null
