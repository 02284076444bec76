#!/bin/sh
# No tracked file over 900 lines outside tests/, no C function over 80 lines (from its
# opening brace at column 0 to its closing one: the code is clang-formatted, kernel style).
# Prints each one over and fails.
max_file=900
max_fn=80
bad=0
for f in $(git ls-files | grep -v '^tests/'); do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$max_file" ]; then
		echo "sizes: $f: $n lines (over $max_file): split it along its seams" >&2
		bad=1
	fi
done
for f in $(git ls-files '*.c' | grep -v '^tests/'); do
	awk -v f="$f" -v max="$max_fn" '
		/^[a-z_].*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = NR }
		/^\}/ { if (start && NR - start - 1 > max) {
				printf "sizes: %s:%d: %s: %d lines (over %d)\n", f, start, name,
				    NR - start - 1, max
				bad = 1
			}
			start = 0 }
		END { exit bad }' "$f" >&2 || bad=1
done
exit $bad
