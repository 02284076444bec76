#!/bin/sh
# Prepares the demo for `make run`: the example repository, an agent token for it and a
# reviewer token for the page.
set -eu
cd "$(dirname "$0")/.."
data=airlock-data
repo=$data/example.git
if [ ! -d "$repo" ]; then
	mkdir -p "$data"
	work=$(mktemp -d)
	cp -a examples/calc/repo/. "$work/"
	git -C "$work" init -q -b main
	git -C "$work" -c user.name=airlock-example -c user.email=example@localhost add -A
	git -C "$work" -c user.name=airlock-example -c user.email=example@localhost \
		commit -q -m "calc: the example project"
	git clone -q --bare "$work" "$repo"
	rm -rf "$work"
	echo "example repository created at $repo"
fi
if [ ! -s "$data/example-agent.token" ]; then
	umask 077
	./airlock token add --data "$data" --name example-agent --role agent >"$data/example-agent.token"
	echo "agent token written to $data/example-agent.token"
fi
if [ ! -s "$data/example-reviewer.token" ]; then
	umask 077
	./airlock token add --data "$data" --name example-reviewer --role reviewer \
		>"$data/example-reviewer.token"
	echo "reviewer token (for the page at /) written to $data/example-reviewer.token"
fi
