#!/bin/bash
# End-to-end: a pull request is judged as it would merge. It branched before a change on
# main; its own change is applied onto main's tip (the grant's base), so a fix that is fine
# at its old merge base but breaks a test main gained since is rejected.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
FIX="$ROOT/tests/e2e/github"
DATA="$TMP/data"
GIT=(git -c user.name=e2e -c user.email=e2e@localhost)

# The upstream ("GitHub") and airlock's own copy of the repository.
mkdir -p "$TMP/seed"
cp -a "$ROOT/tests/e2e/proof/pyproj/." "$TMP/seed/"
git -C "$TMP/seed" init -q -b main
"${GIT[@]}" -C "$TMP/seed" add -A
"${GIT[@]}" -C "$TMP/seed" commit -q -m initial
git clone -q --bare "$TMP/seed" "$TMP/origin.git"
git clone -q --bare "$TMP/origin.git" "$TMP/mirror.git"
git clone -q "$TMP/origin.git" "$TMP/work"

# pull request 9, branched from the first commit: a real fix and its test
git -C "$TMP/work" checkout -q -b fix
cat >>"$TMP/work/tests/test_clamp.py" <<'EOF'


def test_clamp_high():
    assert clamp(15, 0, 10) == 10
EOF
/usr/bin/python3 - "$TMP/work/mathlib.py" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read().replace("        return lo\n    return x", "        return lo\n    if x > hi:\n        return hi\n    return x")
open(p, "w").write(s)
EOF
"${GIT[@]}" -C "$TMP/work" commit -qam "clamp: keep values above the range at the top"
git -C "$TMP/work" push -q origin HEAD:refs/pull/9/head
HEAD9=$(git -C "$TMP/work" rev-parse HEAD)
OLD_BASE=$(git -C "$TMP/origin.git" rev-parse main)

SECRET=$(openssl rand -hex 20)
printf '%s\n' "$SECRET" >"$TMP/webhook.secret"
PYTEST='exec python3 -m pytest -q -p no:cacheprovider --junitxml="$AIRLOCK_REPORT"'
jq -n --arg tmp "$TMP" --arg pytest "$PYTEST" '{
	repos: {py: {path: "\($tmp)/mirror.git",
		github: {repo: "octo-org/py", secret_file: "\($tmp)/webhook.secret",
			remote: "file://\($tmp)/origin.git"},
		policy: {reproduce: {command: ["sh", "-c", ($pytest + " \"$@\""), "pytest"], report: "junit"},
			contract: [{name: "suite", command: ["sh", "-c", ($pytest + " tests")], report: "junit"}],
			test_paths: ["tests/**"], timeout_s: 120}}}}' >"$TMP/config.json"
READER=$("$AIRLOCK" token add --data "$DATA" --name reader --role reviewer)
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

# deliver EVENT ID FILE: a signed delivery; prints "STATUS BODY"
deliver() {
	local sig
	sig=$(openssl dgst -sha256 -hmac "$SECRET" -hex <"$3" | sed 's/.*= //')
	curl -sS -o "$TMP/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-GitHub-Event: $1" -H "X-GitHub-Delivery: $2" \
		-H "X-Hub-Signature-256: sha256=$sig" --data-binary "@$3" "$URL/v1/webhooks/github"
	echo " $(cat "$TMP/resp")"
}
pr_payload() { # pr_payload HEAD BASE_SHA FILE
	jq --arg head "$1" --arg base "$2" \
		'.action = "opened" | .number = 9 | .pull_request.number = 9 |
		 .repository.full_name = "octo-org/py" | .repository.name = "py" |
		 .pull_request.head.sha = $head | .pull_request.base.sha = $base |
		 .pull_request.base.ref = "main" |
		 .pull_request.body = "Fixes clamp.\n\n```airlock-fail-to-pass\ntests/test_clamp.py::test_clamp_high\n```"' \
		"$FIX/pull_request.json" >"$3"
}
wait_final() { # wait_final ID: the proposal's view once it is no longer queued or running
	local r s i
	for i in $(seq 1 600); do
		r=$(http GET "/v1/proposals/$1" "$READER")
		s=$(jq -r .state <<<"${r#* }")
		case $s in queued | running) sleep 0.2 ;; *) break ;; esac
	done
	echo "${r#* }"
}

# --- control: main has not moved, the pull request is granted -------------------------------
pr_payload "$HEAD9" "$OLD_BASE" "$TMP/pr.json"
r=$(deliver pull_request 33333333-0000-0000-0000-000000000001 "$TMP/pr.json")
expect "control: the pull request is queued" "${r%% *}" 202
view=$(wait_final "$(jq -r .proposal <<<"${r#* }")")
expect "control: granted" "$(jq -r .state <<<"$view")" granted
expect "control: its base is main's tip" "$(jq -r .base_commit <<<"$view")" "$OLD_BASE"

# --- main moves on: a new helper with a test that the fix changes the meaning of ------------
git -C "$TMP/work" checkout -q main
cat >"$TMP/work/scale.py" <<'EOF'
from mathlib import clamp


def scale(x):
    return clamp(x, 0, 10) * 2
EOF
cat >"$TMP/work/tests/test_scale.py" <<'EOF'
from scale import scale


def test_scale_large():
    assert scale(15) == 30
EOF
"${GIT[@]}" -C "$TMP/work" add -A
"${GIT[@]}" -C "$TMP/work" commit -qm "scale"
git -C "$TMP/work" push -q origin main
NEW_BASE=$(git -C "$TMP/work" rev-parse main)
expect "the pull request still branches from the old main" \
	"$(git -C "$TMP/work" merge-base "$HEAD9" main)" "$OLD_BASE"

# GitHub tells of the push to main: the pull request is gated again on the new tip
jq --arg before "$OLD_BASE" --arg after "$NEW_BASE" \
	'.ref = "refs/heads/main" | .before = $before | .after = $after |
	 .repository.full_name = "octo-org/py" | .repository.name = "py"' \
	"$FIX/push.json" >"$TMP/push.json"
r=$(deliver push 33333333-0000-0000-0000-000000000002 "$TMP/push.json")
expect "push to main: answered" "${r%% *}" 200
expect "push to main: the granted pull request's grant is invalidated" \
	"$(jq -r '.invalidated | length' <<<"${r#* }")" 1
expect "push to main: the pull request is gated again" "$(jq -r '.regated[0].number' <<<"${r#* }")" 9
view=$(wait_final "$(jq -r '.regated[0].proposal' <<<"${r#* }")")
expect "after main moved: its base is main's new tip, not the merge base" \
	"$(jq -r .base_commit <<<"$view")" "$NEW_BASE"
expect "after main moved: rejected" "$(jq -r .state <<<"$view")" rejected
expect "after main moved: the reproduction still holds" \
	"$(jq -r '.verdict.rules[] | select(.rule == "reproduce:tests/test_clamp.py::test_clamp_high") | .result' <<<"$view")" SATISFIED
expect "after main moved: main's new test is the regression" \
	"$(jq -r '.verdict.rules[] | select(.rule == "contract:suite") | .evidence.regressions[0]' <<<"$view")" \
	"tests.test_scale.test_scale_large"
r=$(deliver push 33333333-0000-0000-0000-000000000002 "$TMP/push.json")
expect "the same push delivered again changes nothing" "$(jq -r .status <<<"${r#* }")" duplicate

# a synchronize (the author pushed again) is judged on the tip too
pr_payload "$HEAD9" "$NEW_BASE" "$TMP/pr2.json"
jq '.action = "synchronize"' "$TMP/pr2.json" >"$TMP/pr3.json"
r=$(deliver pull_request 33333333-0000-0000-0000-000000000003 "$TMP/pr3.json")
expect "synchronize: gated" "${r%% *}" 202
view=$(wait_final "$(jq -r .proposal <<<"${r#* }")")
expect "synchronize: on main's tip, rejected" "$(jq -r '.base_commit + " " + .state' <<<"$view")" "$NEW_BASE rejected"

stop_server
expect "the server stops cleanly" "$?" 0
summary
