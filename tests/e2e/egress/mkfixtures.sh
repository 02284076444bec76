#!/usr/bin/env bash
# Fixtures for the egress proxy tests: mkfixtures.sh DIR creates, in DIR,
#   ca.pem ca.key               a test CA (P-256, 2 days)
#   server.pem server.key       signed by it for pypi.test, files.pypi.test,
#                               registry.npm.test, up.test, other.test, pinned.test
#   rogue-ca.pem rogue-ca.key   a second, unrelated CA
#   rogue.pem rogue.key         up.test signed by the rogue CA (an upstream to refuse)
#   wheels/airlockdemo-1.0-py3-none-any.whl   built here (zipfile, no setuptools)
#   www/simple/index.html, www/simple/airlockdemo/index.html   a PEP 503 index
#   www/packages/airlockdemo-1.0-py3-none-any.whl
#   www/airlock-leftpad/index.json            the npm packument (served at /airlock-leftpad)
#   www/airlock-leftpad/-/airlock-leftpad-1.0.0.tgz
#   npmproj/package.json, npmproj/package-lock.json   a consumer for `npm ci`
#   www/files/1m.bin (and www/files/big.bin of BIG_MB MiB when BIG_MB is set)
#   www/files/SHA256SUMS
#   fixtures.env                shell variables naming the hashes above
# Everything is generated from scratch; nothing is fetched from the network.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: mkfixtures.sh DIR" >&2; exit 64; }
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- certificates ----------------------------------------------------------------------
cat >"$WORK/ca.ext" <<'X'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
X
cat >"$WORK/server.ext" <<'X'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:pypi.test, DNS:files.pypi.test, DNS:registry.npm.test, DNS:up.test, DNS:other.test, DNS:pinned.test
X
cat >"$WORK/rogue.ext" <<'X'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:up.test
X

# mk_ca NAME CN: a self-signed CA, NAME.pem and NAME.key
mk_ca() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/$1.key" 2>/dev/null
	openssl req -new -key "$DIR/$1.key" -subj "/O=airlock tests/CN=$2" -out "$WORK/$1.csr"
	openssl x509 -req -in "$WORK/$1.csr" -signkey "$DIR/$1.key" -days 2 -sha256 \
		-set_serial "0x$(openssl rand -hex 8)" -extfile "$WORK/ca.ext" \
		-out "$DIR/$1.pem" 2>/dev/null
}
# mk_leaf NAME CA EXT CN: a server certificate NAME.pem/NAME.key signed by CA
mk_leaf() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/$1.key" 2>/dev/null
	openssl req -new -key "$DIR/$1.key" -subj "/O=airlock tests/CN=$4" -out "$WORK/$1.csr"
	openssl x509 -req -in "$WORK/$1.csr" -CA "$DIR/$2.pem" -CAkey "$DIR/$2.key" -days 2 \
		-sha256 -set_serial "0x$(openssl rand -hex 8)" -extfile "$WORK/$3" \
		-out "$DIR/$1.pem" 2>/dev/null
}
mk_ca ca "airlock test CA"
mk_leaf server ca server.ext pypi.test
mk_ca rogue-ca "airlock rogue CA"
mk_leaf rogue rogue-ca rogue.ext up.test
openssl verify -CAfile "$DIR/ca.pem" "$DIR/server.pem" >/dev/null
openssl verify -CAfile "$DIR/rogue-ca.pem" "$DIR/rogue.pem" >/dev/null
chmod 600 "$DIR"/*.key

# ---- Python wheel and PEP 503 index ----------------------------------------------------
WHEEL=airlockdemo-1.0-py3-none-any.whl
mkdir -p "$DIR/wheels" "$DIR/www/packages" "$DIR/www/simple/airlockdemo"
python3 - "$DIR/wheels/$WHEEL" <<'PY'
import base64, hashlib, sys, zipfile

out = sys.argv[1]
dist = "airlockdemo-1.0.dist-info"
files = {
    "airlockdemo/__init__.py": b'"""Test package served by the airlock egress fixtures."""\n\nVALUE = 42\n',
    f"{dist}/METADATA": (b"Metadata-Version: 2.1\nName: airlockdemo\nVersion: 1.0\n"
                         b"Summary: airlock egress test package\n"),
    f"{dist}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: airlock-mkfixtures\n"
                      b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    f"{dist}/top_level.txt": b"airlockdemo\n",
}
record = []
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append(f"{name},sha256={digest},{len(data)}")
record.append(f"{dist}/RECORD,,")
files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
# fixed timestamps: the same script makes the same wheel, byte for byte
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
    for name, data in files.items():
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, data)
PY
cp "$DIR/wheels/$WHEEL" "$DIR/www/packages/$WHEEL"
WHEEL_SHA256=$(sha256sum "$DIR/wheels/$WHEEL" | cut -d' ' -f1)
cat >"$DIR/www/simple/index.html" <<X
<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Simple index</title></head>
<body>
<a href="/simple/airlockdemo/">airlockdemo</a>
</body></html>
X
cat >"$DIR/www/simple/airlockdemo/index.html" <<X
<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for airlockdemo</title></head>
<body>
<h1>Links for airlockdemo</h1>
<a href="https://files.pypi.test/packages/$WHEEL#sha256=$WHEEL_SHA256">$WHEEL</a>
</body></html>
X
if python3 -m pip --version >/dev/null 2>&1; then
	rm -rf "$DIR/t"
	PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --no-cache-dir --target "$DIR/t" \
		--no-index "$DIR/wheels/$WHEEL" >/dev/null
	[ "$(PYTHONPATH=$DIR/t python3 -c 'import airlockdemo; print(airlockdemo.VALUE)')" = 42 ]
	rm -rf "$DIR/t"
fi

# ---- npm registry and consumer project -------------------------------------------------
TGZ=airlock-leftpad-1.0.0.tgz
REG=https://registry.npm.test
mkdir -p "$WORK/npm/package" "$DIR/www/airlock-leftpad/-" "$DIR/npmproj"
cat >"$WORK/npm/package/package.json" <<'X'
{
  "name": "airlock-leftpad",
  "version": "1.0.0",
  "description": "airlock egress test package",
  "main": "index.js",
  "license": "MIT"
}
X
cat >"$WORK/npm/package/index.js" <<'X'
'use strict';
// Pads a string on the left to a width: the test package of the airlock egress fixtures.
module.exports = function leftpad(str, len, ch) {
  str = String(str);
  ch = ch === undefined ? ' ' : String(ch);
  while (str.length < len) str = ch + str;
  return str;
};
X
# a reproducible tarball: sorted names, fixed owner and time, no name or time in gzip
tar -C "$WORK/npm" --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime='2020-01-01 00:00:00Z' -cf - package | gzip -n >"$DIR/www/airlock-leftpad/-/$TGZ"
NPM_INTEGRITY="sha512-$(openssl dgst -sha512 -binary "$DIR/www/airlock-leftpad/-/$TGZ" | base64 -w0)"
NPM_SHASUM=$(sha1sum "$DIR/www/airlock-leftpad/-/$TGZ" | cut -d' ' -f1)
python3 - "$DIR" "$REG/airlock-leftpad/-/$TGZ" "$NPM_INTEGRITY" "$NPM_SHASUM" <<'PY'
import json, sys

d, tarball, integrity, shasum = sys.argv[1:]
dist = {"tarball": tarball, "integrity": integrity, "shasum": shasum}
packument = {
    "_id": "airlock-leftpad",
    "name": "airlock-leftpad",
    "description": "airlock egress test package",
    "dist-tags": {"latest": "1.0.0"},
    "versions": {"1.0.0": {
        "_id": "airlock-leftpad@1.0.0", "name": "airlock-leftpad", "version": "1.0.0",
        "description": "airlock egress test package", "main": "index.js", "license": "MIT",
        "dist": dist}},
    "time": {"created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
             "1.0.0": "2020-01-01T00:00:00.000Z"},
    "license": "MIT",
}
proj = {"name": "airlock-npmproj", "version": "1.0.0", "private": True,
        "devDependencies": {"airlock-leftpad": "1.0.0"}}
lock = {
    "name": "airlock-npmproj", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
    "packages": {
        "": {"name": "airlock-npmproj", "version": "1.0.0",
             "devDependencies": {"airlock-leftpad": "1.0.0"}},
        "node_modules/airlock-leftpad": {"version": "1.0.0", "resolved": tarball,
                                         "integrity": integrity, "dev": True,
                                         "license": "MIT"},
    },
}
def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
dump(f"{d}/www/airlock-leftpad/index.json", packument)
dump(f"{d}/npmproj/package.json", proj)
dump(f"{d}/npmproj/package-lock.json", lock)
PY

# ---- bulk files ------------------------------------------------------------------------
mkdir -p "$DIR/www/files"
head -c 1048576 /dev/urandom >"$DIR/www/files/1m.bin"
rm -f "$DIR/www/files/big.bin"
if [ -n "${BIG_MB:-}" ]; then
	case $BIG_MB in *[!0-9]* | '') echo "mkfixtures: BIG_MB must be a number of MiB" >&2; exit 64 ;; esac
	head -c $((BIG_MB * 1048576)) /dev/urandom >"$DIR/www/files/big.bin"
fi
(cd "$DIR/www/files" && sha256sum -- *.bin >SHA256SUMS)

cat >"$DIR/fixtures.env" <<X
WHEEL=$WHEEL
WHEEL_SHA256=$WHEEL_SHA256
NPM_TARBALL=$REG/airlock-leftpad/-/$TGZ
NPM_INTEGRITY=$NPM_INTEGRITY
NPM_SHASUM=$NPM_SHASUM
X
