#!/bin/sh
# Installs what airlock needs to build and run on Debian 12, only when it is missing.
# With --test, also what the test suite needs: Debian's Chromium, Node.js and npm, and
# playwright-core (tests/e2e/browser, from its package-lock.json); wrk for
# tests/bench/load.sh; clang, libFuzzer and clang-format for make fuzz and format-check;
# mmdebstrap for tests/image/mkdebian.sh (a Debian 12 image from Debian's mirror).
set -eu
cd "$(dirname "$0")/.."
tests=0
[ "${1:-}" = "--test" ] && tests=1

pkgs=""
need_pc() { pkg-config --exists "$1" 2>/dev/null || pkgs="$pkgs $2"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || pkgs="$pkgs $2"; }

need_cmd pkg-config pkg-config
need_cmd cc gcc
need_cmd make make
need_cmd git git
need_cmd curl curl
need_cmd jq jq
need_cmd openssl openssl
need_cmd xxd xxd
# the runner maps the sandbox to a subordinate id when airlock is not root
need_cmd newuidmap uidmap
# the `airlock` front is linked with musl (Makefile: glibc's start-up costs ~0.25 ms)
need_cmd musl-gcc musl-tools
if command -v pkg-config >/dev/null 2>&1; then
	need_pc libgit2 libgit2-dev
	need_pc libmicrohttpd libmicrohttpd-dev
	need_pc libseccomp libseccomp-dev
	need_pc sqlite3 libsqlite3-dev
	need_pc jansson libjansson-dev
	need_pc check check
	need_pc libsodium libsodium-dev
	need_pc libcurl libcurl4-openssl-dev
	need_pc libxml-2.0 libxml2-dev
	need_pc libidn2 libidn2-dev
	need_pc openssl libssl-dev
	need_pc libarchive libarchive-dev
else
	pkgs="$pkgs libgit2-dev libmicrohttpd-dev libseccomp-dev libsqlite3-dev libjansson-dev"
	pkgs="$pkgs check libsodium-dev libcurl4-openssl-dev libxml2-dev libssl-dev libarchive-dev"
fi

if [ $tests -eq 1 ]; then
	[ -x /usr/bin/chromium ] || pkgs="$pkgs chromium"
	need_cmd node nodejs
	need_cmd npm npm
	need_cmd wrk wrk
	need_cmd mmdebstrap mmdebstrap
	need_cmd sqlite3 sqlite3
	# the e2e gates run pytest and unittest (xmlrunner) with Debian's /usr/bin/python3
	/usr/bin/python3 -c 'import pytest' 2>/dev/null || pkgs="$pkgs python3-pytest"
	/usr/bin/python3 -c 'import xmlrunner' 2>/dev/null || pkgs="$pkgs python3-xmlrunner"
	# tests/e2e/egress.sh installs from local registries with pip and npm through the proxy
	/usr/bin/python3 -m pip --version >/dev/null 2>&1 || pkgs="$pkgs python3-pip"
	# make lint (the call graph: nm, python3), make format-check, make fuzz (libFuzzer)
	need_cmd python3 python3
	need_cmd nm binutils
	need_cmd clang-format clang-format
	need_cmd clang clang
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
		pkgs="$pkgs libclang-rt-14-dev"
fi

if [ -n "$pkgs" ]; then
	echo "deps: installing$pkgs" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

browser=tests/e2e/browser
if [ $tests -eq 1 ] && [ ! -f $browser/node_modules/playwright-core/package.json ]; then
	echo "deps: installing playwright-core (npm ci in $browser)" >&2
	npm ci --prefix $browser --no-audit --no-fund --loglevel=error >/dev/null
fi

# The e2e suite runs the server as an unprivileged user with its own subordinate ids, as
# deploy/airlock.service does in production (tests/as-user.sh).
if [ $tests -eq 1 ] && [ "$(id -u)" -eq 0 ]; then
	./deploy/user.sh airlock-test
fi
