#!/bin/bash
# mkdebian.sh [OUT_DIR]: a Debian 12 (bookworm) amd64 OCI image layout with python3,
# python3-pytest, nodejs and npm (and what they depend on), for tests that need a real
# system root.
#
# Prints on stdout the path of the ready image layout directory, and nothing else; progress
# goes to stderr. Without OUT_DIR that path is the cached image itself: read it, never
# write to it. With OUT_DIR (absent or empty) the image is copied there first and OUT_DIR
# is printed: the copy is the caller's to change.
#
# The image is built once and cached under $AL_IMAGE_CACHE (default
# /var/cache/airlock-test/images), outside any clone, so a second test run on the same
# machine (CI's plain and ASan runs) finds it. Its name carries a key over the package list
# and this script's text: changing either builds a new one, and older ones are removed. A
# build happens in a temporary directory renamed into place only when complete, under a
# lock, so a half-built image is never used.
#
# Network: only the Debian mirrors of this machine's apt sources (packages and indexes;
# mmdebstrap resolves dependencies with apt). The layer is mmdebstrap's tarball
# (--variant=essential plus the packages; no docs, man pages or locales; apt lists cleaned
# by mmdebstrap), gzipped; the config, manifest, index.json and oci-layout are written here
# with sha256sum and jq. Needs root (mmdebstrap's root mode); installs mmdebstrap if absent.
set -euo pipefail

PACKAGES=(python3 python3-pytest nodejs npm)
SUITE=bookworm

[ $# -le 1 ] || { echo "usage: mkdebian.sh [OUT_DIR]" >&2; exit 64; }
out=${1:-}
cache=${AL_IMAGE_CACHE:-/var/cache/airlock-test/images}
self=$(readlink -f "$0")
key=$({ printf '%s\n' "${PACKAGES[@]}" "$SUITE"; cat "$self"; } | sha256sum | cut -c1-16)
name=debian12-$key
image=$cache/$name

log() { echo "mkdebian: $*" >&2; }
die() { log "$*"; exit 1; }

need() {
	command -v mmdebstrap >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || die "mmdebstrap and jq are needed (apt-get install mmdebstrap jq)"
	log "installing mmdebstrap and jq"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		mmdebstrap jq >/dev/null
}

# "deb URI SUITE COMPONENT" for each Debian index this machine's apt reads for $SUITE
# (the release itself, -updates, -security), nothing else it may list.
mirrors() {
	# shellcheck disable=SC2016 # apt's format fields, not shell
	apt-get indextargets --format '$(ORIGIN)|$(REPO_URI)|$(RELEASE)|$(COMPONENT)' \
		'Identifier: Packages' 2>/dev/null | sort -u |
		awk -F'|' -v s="$SUITE" '$1 == "Debian" && ($3 == s || index($3, s "-") == 1) {
			print "deb " $2 " " $3 " " $4 }'
}

build_cached() { # under the lock: builds into a temporary name, renames when complete
	local t0=$SECONDS tmp old
	need
	tmp=$(mktemp -d "$cache/.$name.tmp-XXXXXX")
	trap 'rm -rf --one-file-system "$tmp"' EXIT
	build "$tmp"
	chmod 0755 "$tmp"
	mv -T "$tmp" "$image"
	trap - EXIT
	log "built $image in $((SECONDS - t0)) s"
	# images an older script or package list built, and builds that died half-way
	for old in "$cache"/debian12-* "$cache"/.debian12-*; do
		[ -e "$old" ] && [ "$old" != "$image" ] && rm -rf --one-file-system "$old"
	done
	return 0
}

put_blob() { # FILE DIR: moves FILE into DIR/blobs/sha256, prints its digest
	local h
	h=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$2/blobs/sha256/$h"
	echo "sha256:$h"
}

# The tarball must hold what the tests run: the interpreters and the ELF loader they name.
check_tar() {
	local list f
	list=$(tar -tf "$1")
	for f in ./usr/bin/python3 ./usr/bin/node ./usr/bin/npm ./usr/bin/pytest-3 \
		./usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 ./lib64; do
		grep -qxF "$f" <<<"$list" || grep -qxF "$f/" <<<"$list" ||
			die "the built tarball has no $f"
	done
}

build() { # DIR: writes the OCI layout there
	local d=$1 tar=$1/rootfs.tar diff_id layer cfg mf size_l size_c size_m
	local -a src
	mapfile -t src < <(mirrors)
	[ ${#src[@]} -gt 0 ] || die "no Debian $SUITE mirror in this machine's apt sources"
	log "building $name from ${src[*]} (${PACKAGES[*]})"
	mkdir -p "$d/blobs/sha256"
	mmdebstrap --quiet --mode=root --variant=essential --architectures=amd64 \
		--include="$(
			IFS=,
			echo "${PACKAGES[*]}"
		)" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--aptopt='Acquire::Languages "none"' \
		"$SUITE" "$tar" "${src[@]}" >&2
	check_tar "$tar"
	diff_id=sha256:$(sha256sum "$tar" | cut -d' ' -f1)
	gzip -n "$tar"
	size_l=$(stat -c %s "$tar.gz")
	layer=$(put_blob "$tar.gz" "$d")

	jq -cn --arg diff "$diff_id" --arg created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{
		created: $created, architecture: "amd64", os: "linux",
		config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LANG=C.UTF-8"], Cmd: ["/bin/sh"]},
		rootfs: {type: "layers", diff_ids: [$diff]},
		history: [{created: $created, created_by: "tests/image/mkdebian.sh"}]}' >"$d/config"
	size_c=$(stat -c %s "$d/config")
	cfg=$(put_blob "$d/config" "$d")

	jq -cn --arg cfg "$cfg" --argjson cs "$size_c" --arg layer "$layer" --argjson ls "$size_l" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json",
			digest: $cfg, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
			digest: $layer, size: $ls}]}' >"$d/manifest"
	size_m=$(stat -c %s "$d/manifest")
	mf=$(put_blob "$d/manifest" "$d")

	jq -cn --arg mf "$mf" --argjson ms "$size_m" --arg ref "$name" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
			digest: $mf, size: $ms,
			platform: {architecture: "amd64", os: "linux"},
			annotations: {"org.opencontainers.image.ref.name": $ref}}]}' >"$d/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	log "layer $layer: $size_l bytes gzipped"
}

# A hit needs no lock and no write access (the e2e suites run unprivileged): an image is
# renamed into place only once complete.
if [ ! -f "$image/index.json" ]; then
	mkdir -p "$cache" || die "cannot create the cache $cache (set AL_IMAGE_CACHE)"
	exec 9>"$cache/.lock" || die "cannot write to the cache $cache (set AL_IMAGE_CACHE)"
	flock 9
	[ -f "$image/index.json" ] || build_cached
	flock -u 9
fi

if [ -z "$out" ]; then
	echo "$image"
	exit 0
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	die "$out is not empty"
fi
mkdir -p "$out"
cp -a --reflink=auto "$image/." "$out/"
(cd "$out" && pwd)
