#!/bin/bash
# mkimage.sh OUTDIR KIND: builds one small OCI image for tests/unit/check_image.c, as the
# layout directory OUTDIR/KIND (OUTDIR/KIND.tar for the oci-archives). Layers are crafted
# with python3's tarfile (devices, "..", absolute names that tar itself would not write);
# OUTDIR/outside is the directory escape attempts aim at. No network.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: mkimage.sh OUTDIR KIND" >&2; exit 64; }
out=$(cd "$1" && pwd)
kind=$2
L=$out/$kind
T=$out/.work-$kind
mkdir -p "$out/outside"
rm -rf "$L" "$T"
mkdir -p "$L/blobs/sha256" "$T"
trap 'rm -rf "$T"' EXIT
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
MT=application/vnd.oci.image
LAYERS=()

# craft TARFILE SPEC...: SPEC is TYPE|NAME|ARG|MODE; TYPE d dir, f file (ARG content),
# l symlink (ARG target), h hardlink (ARG target), c char device, b block device, p FIFO.
craft() {
	python3 - "$@" <<'EOF'
import io, sys, tarfile
kinds = {"d": tarfile.DIRTYPE, "f": tarfile.REGTYPE, "l": tarfile.SYMTYPE,
         "h": tarfile.LNKTYPE, "c": tarfile.CHRTYPE, "b": tarfile.BLKTYPE, "p": tarfile.FIFOTYPE}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        typ, name, arg, mode = (spec.split("|") + ["", ""])[:4]
        ti = tarfile.TarInfo(name)
        ti.type = kinds[typ]
        ti.mode = int(mode or "644", 8)
        ti.uid = ti.gid = 0
        ti.mtime = 0
        data = None
        if typ in "lh":
            ti.linkname = arg
        elif typ in "cb":
            ti.devmajor, ti.devminor = 1, 3
        elif typ == "f":
            data = arg.encode()
            ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
EOF
}

put_blob() { # FILE: moves it into the layout, prints its digest
	local h
	h=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$L/blobs/sha256/$h"
	echo "sha256:$h"
}
blob_size() { stat -c %s "$L/blobs/sha256/${1#sha256:}"; }

layer() { # COMPRESSION(tar|gzip|zstd) SPEC...: crafts a layer and adds it to LAYERS
	local comp=$1 f=$T/layer.tar mt=$MT.layer.v1.tar d
	shift
	craft "$f" "$@"
	case $comp in
	gzip) gzip -n "$f" && f=$f.gz && mt=$mt+gzip ;;
	zstd) zstd -q --rm "$f" && f=$f.zst && mt=$mt+zstd ;;
	esac
	d=$(put_blob "$f")
	LAYERS+=("$(jq -nc --arg m "$mt" --arg d "$d" --argjson s "$(blob_size "$d")" \
		'{mediaType:$m,digest:$d,size:$s}')")
}

manifest() { # ARCH: writes config and manifest from LAYERS, prints the manifest descriptor
	local cd md
	jq -nc --arg a "$1" '{architecture:$a,os:"linux",
		config:{Env:["PATH=/usr/bin:/bin","LANG=C.UTF-8"],WorkingDir:"/work",User:"1000:1000"},
		rootfs:{type:"layers",diff_ids:[]}}' >"$T/config.json"
	cd=$(put_blob "$T/config.json")
	printf '%s\n' "${LAYERS[@]}" | jq -sc --arg cd "$cd" --argjson cs "$(blob_size "$cd")" \
		--arg mt "$MT" '{schemaVersion:2,mediaType:($mt+".manifest.v1+json"),
		config:{mediaType:($mt+".config.v1+json"),digest:$cd,size:$cs},layers:.,
		annotations:{"org.example.pad":"aaaa"}}' >"$T/manifest.json"
	md=$(put_blob "$T/manifest.json")
	jq -nc --arg d "$md" --argjson s "$(blob_size "$md")" --arg a "$1" --arg mt "$MT" \
		'{mediaType:($mt+".manifest.v1+json"),digest:$d,size:$s,
		platform:{os:"linux",architecture:$a}}'
	LAYERS=()
}

index() { # DESCRIPTOR...: prints an image index naming them
	printf '%s\n' "$@" | jq -sc --arg mt "$MT" \
		'{schemaVersion:2,mediaType:($mt+".index.v1+json"),manifests:.}'
}

good_layers() {
	layer tar 'd|bin||755' 'f|bin/hello|hello v1|755' 'd|etc||755' 'f|etc/config|base' \
		'f|etc/old|to be removed' 'd|cache||755' 'f|cache/a|a' 'd|cache/sub||755' \
		'f|cache/sub/b|b' 'd|opt||755'
	layer gzip 'f|bin/hello|hello v2|755' 'h|bin/hello2|bin/hello' 'f|etc/.wh.old|' \
		'd|cache||755' 'f|cache/new|fresh' 'f|cache/.wh..wh..opq|' 'l|etc/alias|config' \
		'l|abs|/etc/config' 'f|bin/su|setuid|4755'
	layer zstd 'd|opt/ro||555' 'f|opt/ro/file|ro|640' 'c|dev/null' 'p|fifo'
}

rewrite_manifest() { # JQFILTER [MEDIATYPE]: edits the manifest index.json names
	local old new
	old=$(jq -r '.manifests[0].digest' "$L/index.json")
	jq -c "$1" "$L/blobs/sha256/${old#sha256:}" >"$T/m.json"
	rm "$L/blobs/sha256/${old#sha256:}"
	new=$(put_blob "$T/m.json")
	jq -c --arg d "$new" --argjson s "$(blob_size "$new")" --arg mt "${2:-}" \
		'.manifests[0] |= (.digest = $d | .size = $s |
		if $mt != "" then .mediaType = $mt else . end)' "$L/index.json" >"$T/i.json"
	mv "$T/i.json" "$L/index.json"
}

one_layer() { # SPEC...: a one-layer image for linux/amd64
	layer tar "$@"
	index "$(manifest amd64)" >"$L/index.json"
}

case $kind in
good | archive | archive-evil | missing-blob | manifest-digest)
	good_layers
	index "$(manifest amd64)" >"$L/index.json"
	;;
nested)
	layer tar 'f|arch|arm64'
	arm=$(manifest arm64)
	layer tar 'f|arch|amd64'
	amd=$(manifest amd64)
	index "$arm" "$amd" >"$T/inner.json"
	inner=$(put_blob "$T/inner.json")
	index "$(jq -nc --arg d "$inner" --argjson s "$(blob_size "$inner")" --arg mt "$MT" \
		'{mediaType:($mt+".index.v1+json"),digest:$d,size:$s}')" >"$L/index.json"
	;;
ambiguous)
	layer tar 'f|arch|arm64'
	arm=$(manifest arm64)
	layer tar 'f|arch|s390x'
	index "$arm" "$(manifest s390x)" >"$L/index.json"
	;;
symlink-escape)
	layer tar "l|a|$out/outside"
	one_layer 'f|a/evil|pwned'
	;;
symlink-relative)
	layer tar 'd|d||755' 'l|d/a|../../../../../../../../../..'"$out/outside"
	one_layer 'f|d/a/evil|pwned'
	;;
symlink-replace)
	# A later file at a symlink's name replaces the link, never writes through it.
	layer tar "l|a|$out/outside/x"
	one_layer 'f|a|replaced'
	;;
docker)
	layer gzip 'f|file|docker'
	index "$(manifest amd64)" >"$L/index.json"
	rewrite_manifest '.mediaType = "application/vnd.docker.distribution.manifest.v2+json" |
		.config.mediaType = "application/vnd.docker.container.image.v1+json" |
		.layers[].mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"' \
		application/vnd.docker.distribution.manifest.v2+json
	;;
big-config)
	one_layer 'f|file|x'
	rewrite_manifest '.config.size = 5000000'
	;;
many-layers)
	one_layer 'f|file|x'
	rewrite_manifest '.layers = [range(129) as $i | .layers[0]]'
	;;
bad-digest-format)
	one_layer 'f|file|x'
	rewrite_manifest '.layers[0].digest = "sha256:" + ("AB" * 32)'
	;;
unknown-layer-type)
	one_layer 'f|file|x'
	rewrite_manifest '.layers[0].mediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar"'
	;;
archive-symlink)
	# index.json as a link to a host file: refused, never read.
	craft "$L.tar" 'f|oci-layout|{"imageLayoutVersion":"1.0.0"}' 'l|index.json|/etc/hostname'
	rm -rf "$L"
	exit 0
	;;
archive-twice)
	craft "$L.tar" 'f|oci-layout|{"imageLayoutVersion":"1.0.0"}' 'f|index.json|{}' \
		'f|./index.json|{}'
	rm -rf "$L"
	exit 0
	;;
stale-mode)
	# p is 0555, removed, then made again only as the parent of p/y: 0755.
	layer tar 'd|p||555' 'f|p/x|x'
	layer tar 'f|.wh.p|'
	one_layer 'f|p/y|y'
	;;
utf8-name) one_layer 'd|café||755' 'f|café/naïve.txt|ü' 'l|lien|café/naïve.txt' ;;
symlink-one-layer) one_layer "l|a|$out/outside" 'f|a/evil|pwned' ;;
dotdot) one_layer 'd|x||755' 'f|x/../../outside/dotdot|pwned' ;;
absolute) one_layer "f|$out/outside/absolute|pwned" ;;
hardlink-dotdot) one_layer 'f|x|x' 'h|y|../outside/x' ;;
hardlink-missing) one_layer 'h|y|not-there' ;;
hardlink-symlink) one_layer "l|a|$out/outside" 'h|y|a/x' ;;
device) one_layer 'c|null' 'b|sda' 'p|fifo' 'f|kept|yes' ;;
setuid) one_layer 'f|su|x|4755' 'd|shared||2775' 'f|shared/f|y|6644' ;;
bad-digest)
	one_layer 'f|file|hello v1'
	f=$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(jq -r '.manifests[0].digest' \
		"$L/index.json" | cut -d: -f2)" | cut -d: -f2)
	python3 -c 'import sys; p=sys.argv[1]; b=open(p,"rb").read()
open(p,"wb").write(b.replace(b"hello v1", b"jello v1"))' "$L/blobs/sha256/$f"
	;;
bad-size)
	layer tar 'f|file|hello'
	LAYERS[0]=$(jq -c '.size += 1' <<<"${LAYERS[0]}")
	index "$(manifest amd64)" >"$L/index.json"
	;;
*)
	echo "mkimage.sh: unknown kind $kind" >&2
	exit 64
	;;
esac

mdigest=$(jq -r '.manifests[0].digest' "$L/index.json" | cut -d: -f2)
case $kind in
missing-blob)
	rm "$L/blobs/sha256/$(jq -r '.layers[1].digest' "$L/blobs/sha256/$mdigest" | cut -d: -f2)"
	;;
manifest-digest)
	sed -i 's/"aaaa"/"bbbb"/' "$L/blobs/sha256/$mdigest"
	;;
archive)
	tar -C "$L" -cf "$L.tar" oci-layout index.json blobs
	rm -rf "$L"
	;;
archive-evil)
	# The layout plus entries an archive reader must never write: they are skipped.
	craft "$T/evil.tar" "f|../outside/archive-evil|pwned" "f|$out/outside/archive-abs|pwned" \
		'f|blobs/sha256/../../../outside/archive-blob|pwned' 'l|blobs/link|/etc'
	tar -C "$L" -cf "$L.tar" oci-layout index.json blobs
	tar -Af "$L.tar" "$T/evil.tar"
	rm -rf "$L"
	;;
esac
