#!/bin/bash
# End-to-end: what a grant is good for once it is signed -- verification with OpenSSL
# alone, key rotation and revocation, grants as git notes, promotion (a write ref, a
# compare-and-swap merge, a base that moved) and the deploy/pre-receive hook in a real
# git server repository, driven by the real git client.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-grants.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"
CONFIG="$TMP/config.json"
GIT=(-c user.name=e2e -c user.email=e2e@localhost)

# --- set-up: w (tier 1 write), m and b (tier 2 merge into main after one approval),
# r (the same, but a moved base sends the proposal round again), twin (m's policy and m's
# history under another name) ------------------------------------------------------------
for r in w m b r a; do make_example_repo "$TMP/$r"; done
git clone -q "$TMP/m" "$TMP/twin"
# the "remote" a developer pushes to, holding the same history, guarded by the hook
git clone -q --bare "$TMP/m" "$TMP/remote.git"
cp "$ROOT/deploy/pre-receive" "$TMP/remote.git/hooks/pre-receive"
git -C "$TMP/remote.git" config airlock.bin "$AIRLOCK"
git -C "$TMP/remote.git" config airlock.protected refs/heads/main
git -C "$TMP/remote.git" config airlock.repo m

jq -n --arg tmp "$TMP" '
	def base: {reproduce: {command: ["sh", "tests/run.sh"]},
		contract: [{name: "make-check", command: ["make", "check"]}],
		test_paths: ["tests/**"], timeout_s: 60};
	def merge: base + {approvals: {required: 1},
		tiers: {"2": {authority: "merge", refs: ["refs/heads/main"]}}};
	{repos: {
		w: {path: "\($tmp)/w", policy: (base + {approvals: {required: 0}})},
		m: {path: "\($tmp)/m", policy: merge},
		twin: {path: "\($tmp)/twin", policy: merge},
		b: {path: "\($tmp)/b", policy: merge},
		r: {path: "\($tmp)/r", policy: (merge + {regate_on_base_change: true})},
		a: {path: "\($tmp)/a", policy: (base + {auto_promote: true})}
	}}' >"$CONFIG"

tok() { "$AIRLOCK" token add --data "$DATA" --name "$1" --role "$2"; }
AGENT=$(tok agent-1 agent)
REV=$(tok rev-1 reviewer)
ADMIN=$(tok root admin)
start_server "$CONFIG" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts"

# distinct patches (the fix plus one file of its own), so that no two candidates are the
# same commit and no two grants compete for one note
git clone -q "$TMP/w" "$TMP/scratch"
for n in w1 w2 m1 b1 r1 a1 t1; do
	(cd "$TMP/scratch" && git apply "$EX/fix.patch" && mkdir -p extra &&
		echo "$n" >"extra/$n.txt" && git add -A && git diff --cached >"$TMP/$n.patch" &&
		git reset -q --hard)
done

PIDS=()
submit() { # submit NAME REPO: `airlock submit --wait` in the background
	local name=$1 repo=$2
	(
		cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo "$repo" \
			--base main --test-patch "$EX/test.patch" --patch "$TMP/$name.patch" \
			--fail-to-pass "$ID" --wait --out "$TMP/$name.grant" >"$TMP/$name.out" 2>&1
		echo $? >"$TMP/$name.rc"
	) &
	PIDS+=($!)
}
wait_submits() { local p; for p in "${PIDS[@]}"; do wait "$p"; done; PIDS=(); }
rc_of() { cat "$TMP/$1.rc" 2>/dev/null || echo none; }
pid_of() { sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' "$TMP/$1.out"; }
getp() { curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals/$1"; }
settle() { # settle ID: waits (at most 60 s) until the proposal is neither queued nor running
	local s
	for _ in $(seq 1 600); do
		s=$(getp "$1" | jq -r .state)
		[ "$s" != queued ] && [ "$s" != running ] && return 0
		sleep 0.1
	done
	return 1
}
status_of() { echo "${1%% *}"; }
body_of() { echo "${1#* }"; }
detail_of() { jq -r .detail <<<"$(body_of "$1")" 2>/dev/null; }
candidate_of() { jq -r '.payload' "$1" | base64 -d | jq -r '.subject[0].digest.gitCommit'; }
keyid_of() { jq -r '.signatures[0].keyid' "$1"; }
hup() { # SIGHUP, then waits for one more config.reloaded line in the log
	local before
	before=$(grep -c config.reloaded "$DATA.log")
	kill -HUP "$SERVER_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c config.reloaded "$DATA.log")" -gt "$before" ] && return 0
		sleep 0.1
	done
	return 1
}
verify_rc() { # verify_rc KEYFILE GRANT [binding args]: airlock verify's exit status
	local key=$1 grant=$2
	shift 2
	"$AIRLOCK" verify --key "$key" "$@" "$grant" >"$TMP/verify.out" 2>"$TMP/verify.err"
	echo $?
}

submit w1 w
submit m1 m
submit b1 b
submit r1 r
submit a1 a
submit t1 twin
wait_submits
W1=$(pid_of w1) M1=$(pid_of m1) B1=$(pid_of b1) R1=$(pid_of r1) A1=$(pid_of a1) T1=$(pid_of t1)
expect "tier-1 write proposal granted at once" "$(rc_of w1)" "0"
expect "merge-tier proposals await approval" "$(rc_of m1) $(rc_of b1) $(rc_of r1) $(rc_of t1)" "3 3 3 3"
W1C=$(candidate_of "$TMP/w1.grant")
# auto_promote: the grant is used as soon as it is issued
expect "auto_promote: granted" "$(rc_of a1)" "0"
for _ in $(seq 1 50); do
	[ "$(getp "$A1" | jq -r .grant_state)" = spent ] && break
	sleep 0.1
done
expect "auto_promote: the grant is spent, by auto" "$(getp "$A1" | jq -c '[.grant_state, .promotion.by]')" \
	'["spent","auto"]'
expect "auto_promote: the ref is at the candidate" \
	"$(git -C "$TMP/a" rev-parse "refs/heads/airlock/$A1" 2>&1)" "$(candidate_of "$TMP/a1.grant")"

# --- a. OpenSSL alone verifies a grant -----------------------------------------------------
curl -s "$URL/v1/keys" >"$TMP/keys1.json"
OLDKEY=$(jq -r '.keys[] | select(.status=="active") | .keyid' "$TMP/keys1.json")
jq -r '.keys[] | select(.status=="active") | .public_key_pem' "$TMP/keys1.json" >"$TMP/key.pem"
expect "GET /v1/keys: one active key, and the grant names it" "$(keyid_of "$TMP/w1.grant")" "$OLDKEY"
pae() { # pae GRANT OUT: the DSSE pre-authentication encoding of GRANT's payload
	local type
	jq -r .payload "$1" | base64 -d >"$2.payload"
	type=$(jq -r .payloadType "$1")
	printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$2.payload")" >"$2"
	cat "$2.payload" >>"$2"
}
pae "$TMP/w1.grant" "$TMP/pae.bin"
jq -r '.signatures[0].sig' "$TMP/w1.grant" | base64 -d >"$TMP/sig.bin"
openssl pkeyutl -verify -pubin -inkey "$TMP/key.pem" -rawin -in "$TMP/pae.bin" \
	-sigfile "$TMP/sig.bin" >/dev/null 2>&1
expect "openssl pkeyutl verifies the signature over PAE" "$?" "0"
# flip one byte of the payload (inside the PAE)
off=$(($(stat -c %s "$TMP/pae.bin") - 10))
cp "$TMP/pae.bin" "$TMP/pae.bad"
b=$(od -An -tu1 -j "$off" -N1 "$TMP/pae.bin" | tr -d ' ')
printf '%b' "\\$(printf '%03o' $((b ^ 1)))" | dd of="$TMP/pae.bad" bs=1 seek="$off" conv=notrunc 2>/dev/null
openssl pkeyutl -verify -pubin -inkey "$TMP/key.pem" -rawin -in "$TMP/pae.bad" \
	-sigfile "$TMP/sig.bin" >/dev/null 2>&1
expect "openssl refuses a PAE with one payload byte flipped" "$([ $? -ne 0 ] && echo refused || echo accepted)" "refused"

# --- c. verify --keys-url ---------------------------------------------------------------------
"$AIRLOCK" verify --keys-url "$URL/v1/keys" --repo w --ref "refs/heads/airlock/$W1" --commit "$W1C" \
	"$TMP/w1.grant" >/dev/null 2>&1
expect "verify --keys-url \$URL/v1/keys accepts the grant" "$?" "0"
expect "verify --key with the keys document accepts the grant" \
	"$(verify_rc "$TMP/keys1.json" "$TMP/w1.grant" --repo w)" "0"
expect "verify without --repo: usage error (exit 64)" "$(verify_rc "$TMP/keys1.json" "$TMP/w1.grant")" "64"
expect_match "verify without --repo: says --repo is required" "$(cat "$TMP/verify.err")" \
	'^usage: airlock verify: --repo R is required'
expect "verify without --repo: one line" "$(wc -l <"$TMP/verify.err")" "1"

# --- d. the grant is a git note on the candidate --------------------------------------------
r=$(http GET "/v1/proposals/$W1/grant" "$AGENT")
expect "note on the candidate is the grant" \
	"$(git -C "$TMP/w" notes --ref=airlock show "$W1C" 2>&1 | jq -cS . 2>&1)" "$(body_of "$r" | jq -cS .)"

# --- e. promotion ----------------------------------------------------------------------------
r=$(http POST "/v1/proposals/$W1/promote" "$AGENT")
expect "promote with an agent token: 403" "$(status_of "$r")" "403"
r=$(http POST "/v1/proposals/$W1/promote" "$REV")
expect "promote with a reviewer token: 403" "$(status_of "$r")" "403"
r=$(http POST "/v1/proposals/$M1/promote" "$ADMIN")
expect "promote a proposal that is not granted: 409" "$(status_of "$r")" "409"
expect "refused promotions moved nothing" \
	"$(git -C "$TMP/w" rev-parse -q --verify "refs/heads/airlock/$W1" || echo none)" "none"
r=$(http POST "/v1/proposals/$W1/promote" "$ADMIN")
expect "promote a write grant: 200" "$(status_of "$r")" "200"
expect "promote answers id, ref, commit" "$(body_of "$r" | jq -c '[.id, .ref, .commit]')" \
	"[\"$W1\",\"refs/heads/airlock/$W1\",\"$W1C\"]"
expect "refs/heads/airlock/<id> created at the candidate" \
	"$(git -C "$TMP/w" rev-parse -q --verify "refs/heads/airlock/$W1")" "$W1C"
body=$(getp "$W1")
expect "after promote: grant_state spent" "$(jq -r .grant_state <<<"$body")" "spent"
expect "after promote: promotion recorded" \
	"$(jq -c '.promotion | [.ref, .commit, .by, (.at != null), has("previous")]' <<<"$body")" \
	"[\"refs/heads/airlock/$W1\",\"$W1C\",\"root\",true,true]"
r=$(http POST "/v1/proposals/$W1/promote" "$ADMIN")
expect "a second promote: 409" "$(status_of "$r")" "409"
expect_match "a second promote: already used" "$(detail_of "$r")" 'already used'

# merge: compare-and-swap on main
BASE_M=$(git -C "$TMP/m" rev-parse main)
r=$(http POST "/v1/proposals/$M1/approve" "$REV")
expect "merge-tier proposal approved: granted" "$(jq -r .state <<<"$(body_of "$r")")" "granted"
curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals/$M1/grant" >"$TMP/m1.grant"
M1C=$(candidate_of "$TMP/m1.grant")
expect "merge grant: authority merge into main, base recorded" \
	"$(jq -r .payload "$TMP/m1.grant" | base64 -d | jq -c '[.predicate.authority.kind, .predicate.authority.ref, .predicate.baseCommit]')" \
	"[\"merge\",\"refs/heads/main\",\"$BASE_M\"]"
expect "merge grant: noted on its candidate" \
	"$(git -C "$TMP/m" notes --ref=airlock show "$M1C" 2>&1 | jq -cS . 2>&1)" "$(jq -cS . "$TMP/m1.grant")"
r=$(http POST "/v1/proposals/$M1/promote" "$ADMIN")
expect "promote a merge grant: 200" "$(status_of "$r")" "200"
expect "promote a merge grant: main moved from the base to the candidate" \
	"$(body_of "$r" | jq -c '[.ref, .commit, .previous]')" "[\"refs/heads/main\",\"$M1C\",\"$BASE_M\"]"
expect "main is at the candidate" "$(git -C "$TMP/m" rev-parse main)" "$M1C"
expect "after the merge: grant_state spent, promotion.previous the base" \
	"$(getp "$M1" | jq -c '[.grant_state, .promotion.previous]')" "[\"spent\",\"$BASE_M\"]"

# merge, but main moved after the grant
r=$(http POST "/v1/proposals/$B1/approve" "$REV")
expect "second merge-tier proposal approved" "$(jq -r .state <<<"$(body_of "$r")")" "granted"
git -C "$TMP/b" "${GIT[@]}" commit -q --allow-empty -m "someone else's change"
MOVED=$(git -C "$TMP/b" rev-parse main)
r=$(http POST "/v1/proposals/$B1/promote" "$ADMIN")
expect "promote after main moved: 409" "$(status_of "$r")" "409"
expect_match "promote after main moved: base moved" "$(detail_of "$r")" '^base moved'
expect "after base moved: grant_state invalidated" "$(getp "$B1" | jq -r .grant_state)" "invalidated"
expect "main left where the direct commit put it" "$(git -C "$TMP/b" rev-parse main)" "$MOVED"
r=$(http POST "/v1/proposals/$B1/promote" "$ADMIN")
expect "promote an invalidated grant again: 409" "$(status_of "$r")" "409"

# regate_on_base_change: the proposal goes round again on the new base
r=$(http POST "/v1/proposals/$R1/approve" "$REV")
expect "regate repo: approved" "$(jq -r .state <<<"$(body_of "$r")")" "granted"
git -C "$TMP/r" "${GIT[@]}" commit -q --allow-empty -m "someone else's change"
MOVED_R=$(git -C "$TMP/r" rev-parse main)
r=$(http POST "/v1/proposals/$R1/promote" "$ADMIN")
expect "regate: promote does not move main" "$(git -C "$TMP/r" rev-parse main)" "$MOVED_R"
expect_match "regate: promote answered (not 200)" "$(status_of "$r") $(detail_of "$r")" '^(202|409) '
expect_match "regate: queued again" "$(getp "$R1" | jq -r .state)" '^(queued|running)$'

# --- b. key rotation and revocation --------------------------------------------------------------
out=$("$AIRLOCK" keygen --data "$DATA" --retire-days 7 2>&1)
expect "keygen rotates (exit 0)" "$?" "0"
hup && ok "SIGHUP after rotation" || not_ok "SIGHUP after rotation" "no config.reloaded in the log"
curl -s "$URL/v1/keys" >"$TMP/keys2.json"
NEWKEY=$(jq -r '.keys[] | select(.status=="active") | .keyid' "$TMP/keys2.json")
expect "after rotation: /v1/keys lists two keys" "$(jq -c '[.keys[].status] | sort' "$TMP/keys2.json")" \
	'["active","retired"]'
expect "after rotation: the old key is retired, with verify_until" \
	"$(jq -c --arg k "$OLDKEY" '.keys[] | select(.keyid==$k) | [.status, (.verify_until | type)]' "$TMP/keys2.json")" \
	'["retired","string"]'
expect_match "keygen names the new key" "$out" "$NEWKEY"
expect_match "key list shows both" "$("$AIRLOCK" key list --data "$DATA" 2>&1)" "$OLDKEY.*retired"
expect "an old grant still verifies with the keys document" \
	"$(verify_rc "$TMP/keys2.json" "$TMP/w1.grant" --repo w)" "0"
submit w2 w
wait_submits
expect "a proposal after rotation: granted" "$(rc_of w2)" "0"
expect "the new grant is signed by the new key" "$(keyid_of "$TMP/w2.grant")" "$NEWKEY"
expect "the new grant verifies with the keys document" \
	"$(verify_rc "$TMP/keys2.json" "$TMP/w2.grant" --repo w)" "0"
expect "the new grant does not verify with the old key alone" \
	"$(verify_rc "$TMP/key.pem" "$TMP/w2.grant" --repo w)" "1"
"$AIRLOCK" key revoke --data "$DATA" "$NEWKEY" >/dev/null 2>&1
expect "key revoke refuses the active key" "$([ $? -ne 0 ] && echo refused || echo revoked)" "refused"
"$AIRLOCK" key revoke --data "$DATA" "$OLDKEY" >/dev/null 2>&1
expect "key revoke of the retired key: exit 0" "$?" "0"
hup && ok "SIGHUP after revocation" || not_ok "SIGHUP after revocation" "no config.reloaded in the log"
curl -s "$URL/v1/keys" >"$TMP/keys3.json"
expect "after revocation: the old key is listed revoked" \
	"$(jq -r --arg k "$OLDKEY" '.keys[] | select(.keyid==$k) | .status' "$TMP/keys3.json")" "revoked"
expect "a grant signed by the revoked key: exit 1" \
	"$(verify_rc "$TMP/keys3.json" "$TMP/w1.grant" --repo w)" "1"
expect_match "a grant signed by the revoked key: names revoked" "$(cat "$TMP/verify.err")" 'revoked'
"$AIRLOCK" verify --keys-url "$URL/v1/keys" --repo w "$TMP/w1.grant" >/dev/null 2>&1
expect "verify --keys-url after revocation: exit 1" "$?" "1"
expect "the new key's grant still verifies" "$(verify_rc "$TMP/keys3.json" "$TMP/w2.grant" --repo w)" "0"

# a write grant makes a new ref: an existing one is never overwritten, and the grant stays
W2=$(pid_of w2)
W2C=$(candidate_of "$TMP/w2.grant")
git -C "$TMP/w" update-ref "refs/heads/airlock/$W2" "$(git -C "$TMP/w" rev-parse main)"
r=$(http POST "/v1/proposals/$W2/promote" "$ADMIN")
expect "promote onto an existing ref: 409" "$(status_of "$r")" "409"
expect_match "promote onto an existing ref: named" "$(detail_of "$r")" "already exists"
expect "the existing ref is untouched" "$(git -C "$TMP/w" rev-parse "refs/heads/airlock/$W2")" \
	"$(git -C "$TMP/w" rev-parse main)"
expect "the grant is still unused" "$(getp "$W2" | jq -r .grant_state)" "unused"
git -C "$TMP/w" update-ref -d "refs/heads/airlock/$W2"
r=$(http POST "/v1/proposals/$W2/promote" "$ADMIN")
expect "once the ref is gone, the same grant promotes: 200" "$(status_of "$r")" "200"
expect "the ref is at the candidate" "$(git -C "$TMP/w" rev-parse "refs/heads/airlock/$W2")" "$W2C"

# the regated proposal, judged again on the moved base
settle "$R1" && ok "regate: judged again" || not_ok "regate: judged again" "still queued or running"
expect "regate: judged on the new base, awaiting approval again" \
	"$(getp "$R1" | jq -c '[.state, .base_commit]')" "[\"awaiting_approval\",\"$MOVED_R\"]"

# --- f. the pre-receive hook, through git push -----------------------------------------------
git clone -q "$TMP/m" "$TMP/work" # main is the merged candidate now
git -C "$TMP/work" fetch -q origin refs/notes/airlock:refs/notes/airlock
git -C "$TMP/work" remote add gate "$TMP/remote.git"
git -C "$TMP/work" "${GIT[@]}" commit -q --allow-empty -m "no grant for this one"
OTHER=$(git -C "$TMP/work" rev-parse HEAD)
REMOTE_BASE=$(git -C "$TMP/remote.git" rev-parse main)
remote_main() { git -C "$TMP/remote.git" rev-parse main; }
push() { # push ARGS...: git push to the guarded remote; stderr to push.err, prints the status
	git -C "$TMP/work" push -q gate "$@" >/dev/null 2>"$TMP/push.err"
	echo $?
}
git -C "$TMP/remote.git" config airlock.keys "$TMP/keys2.json"

expect "push of a commit without a grant to main: refused" \
	"$(push "$OTHER:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal names the ref and the missing grant" "$(cat "$TMP/push.err")" \
	'airlock: refs/heads/main: rejected: .*no grant'
expect "remote main unchanged" "$(remote_main)" "$REMOTE_BASE"
expect "unprotected refs pass the hook" "$(push "$OTHER:refs/heads/feature")" "0"

# an expired grant, made with the server's own key and OpenSSL
jq -r .payload "$TMP/m1.grant" | base64 -d |
	sed -e 's/"notAfter":"[^"]*"/"notAfter":"2020-01-01T00:00:00Z"/' \
		-e 's/"issuedAt":"[^"]*"/"issuedAt":"2019-12-31T00:00:00Z"/' >"$TMP/expired.payload"
type=$(jq -r .payloadType "$TMP/m1.grant")
printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$TMP/expired.payload")" >"$TMP/expired.pae"
cat "$TMP/expired.payload" >>"$TMP/expired.pae"
{ printf '302e020100300506032b657004220420'; tr -d '\n' <"$DATA/signing.key"; } | xxd -r -p >"$TMP/key.der"
openssl pkey -inform DER -in "$TMP/key.der" -out "$TMP/key.priv.pem" 2>/dev/null
openssl pkeyutl -sign -inkey "$TMP/key.priv.pem" -rawin -in "$TMP/expired.pae" -out "$TMP/expired.sig"
jq -n --arg t "$type" --arg p "$(base64 -w0 <"$TMP/expired.payload")" --arg k "$NEWKEY" \
	--arg s "$(base64 -w0 <"$TMP/expired.sig")" \
	'{payloadType: $t, payload: $p, signatures: [{keyid: $k, sig: $s}]}' >"$TMP/expired.grant"
expect "airlock verify: the home-made expired grant exits 3" \
	"$(verify_rc "$TMP/keys3.json" "$TMP/expired.grant" --repo m --ref refs/heads/main --commit "$M1C")" "3"
git -C "$TMP/work" notes --ref=airlock add -f -F "$TMP/expired.grant" "$M1C" 2>/dev/null
expect "push of a candidate with an expired grant: refused" \
	"$(push "$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal says expired" "$(cat "$TMP/push.err")" 'refs/heads/main: rejected: .*expired'

# the real grant, judged with the keys document from after the revocation of its key
git -C "$TMP/work" notes --ref=airlock add -f -F "$TMP/m1.grant" "$M1C" 2>/dev/null
git -C "$TMP/remote.git" config airlock.keys "$TMP/keys3.json"
expect "push of a candidate whose grant's key is revoked: refused" \
	"$(push "$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal says revoked" "$(cat "$TMP/push.err")" 'refs/heads/main: rejected: .*revoked'
# a fanned-out notes tree (ab/cdef...): the hook still finds the grant (and so refuses it
# for the revoked key, not for a missing note)
blob=$(git -C "$TMP/work" hash-object -w "$TMP/m1.grant")
sub=$(printf '100644 blob %s\t%s\n' "$blob" "${M1C:2}" | git -C "$TMP/work" mktree)
tree=$(printf '040000 tree %s\t%s\n' "$sub" "${M1C:0:2}" | git -C "$TMP/work" mktree)
fanned=$(git -C "$TMP/work" "${GIT[@]}" commit-tree -m "fanned-out notes" "$tree")
expect "push with a fanned-out notes tree, revoked key: refused" \
	"$(push "$M1C:refs/heads/main" "+$fanned:refs/notes/airlock")" "1"
expect_match "the fanned-out note was found" "$(cat "$TMP/push.err")" 'refs/heads/main: rejected: .*revoked'

# and with the keys document in which that key still verifies
git -C "$TMP/remote.git" config airlock.keys "$TMP/keys2.json"
# the grant merges onto its base commit: once the remote's main is elsewhere it is refused
git -C "$TMP/remote.git" update-ref refs/heads/main "$OTHER"
expect "push of the merge-granted candidate onto a moved main: refused" \
	"$(push "+$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal says the base moved" "$(cat "$TMP/push.err")" \
	'refs/heads/main: rejected: base moved'
git -C "$TMP/remote.git" update-ref refs/heads/main "$REMOTE_BASE"

# a grant for twin, a repository with the remote's history under another name: every binding
# but the repository holds, and the remote's hook (airlock.repo m) refuses it
r=$(http POST "/v1/proposals/$T1/approve" "$REV")
expect "twin: approved, granted" "$(jq -r .state <<<"$(body_of "$r")")" "granted"
curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals/$T1/grant" >"$TMP/t1.grant"
T1C=$(candidate_of "$TMP/t1.grant")
expect "twin's grant: for twin, a merge into main from the remote's main" \
	"$(jq -r .payload "$TMP/t1.grant" | base64 -d |
		jq -c '.predicate | [.repository, .authority.kind, .authority.ref, .baseCommit]')" \
	"[\"twin\",\"merge\",\"refs/heads/main\",\"$REMOTE_BASE\"]"
expect "twin's grant verifies for twin, bound to the remote's main" \
	"$(verify_rc "$TMP/keys2.json" "$TMP/t1.grant" --repo twin --ref refs/heads/main \
		--commit "$T1C" --old "$REMOTE_BASE")" "0"
expect "airlock verify --repo m of twin's grant: exit 4" \
	"$(verify_rc "$TMP/keys2.json" "$TMP/t1.grant" --repo m --ref refs/heads/main \
		--commit "$T1C" --old "$REMOTE_BASE")" "4"
expect "airlock verify --repo m of twin's grant: names both" "$(cat "$TMP/verify.err")" \
	"invalid: grant is for repository twin, not m"
git -C "$TMP/twin" push -q "$TMP/remote.git" "$T1C:refs/heads/main" \
	"+refs/notes/airlock:refs/notes/airlock" >/dev/null 2>"$TMP/push.err"
expect "push of twin's granted candidate to m's remote: refused" "$?" "1"
expect_match "refusal names both repositories" "$(cat "$TMP/push.err")" \
	'airlock: refs/heads/main: rejected: grant is for repository twin, not m'
expect "remote main unchanged by twin's grant" "$(remote_main)" "$REMOTE_BASE"

# a hook that does not know its repository refuses every push (the same push passes below)
git -C "$TMP/remote.git" config --unset airlock.repo
expect "push through a hook without airlock.repo: refused" \
	"$(push "$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal says airlock.repo is not set" "$(cat "$TMP/push.err")" \
	'airlock: config: rejected: airlock.repo is not set'
git -C "$TMP/remote.git" config airlock.repo ""
expect "push through a hook with an empty airlock.repo: refused" \
	"$(push "$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "empty airlock.repo: refusal says it is not set" "$(cat "$TMP/push.err")" \
	'airlock: config: rejected: airlock.repo is not set'
expect "remote main unchanged by the unconfigured hook" "$(remote_main)" "$REMOTE_BASE"
git -C "$TMP/remote.git" config airlock.repo m
expect "push of the merge-granted candidate with its notes: accepted" \
	"$(push "$M1C:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "0"
expect "remote main is the candidate" "$(remote_main)" "$M1C"
expect "remote carries the grant as a note" \
	"$(git -C "$TMP/remote.git" notes --ref=airlock show "$M1C" 2>&1 | jq -cS . 2>&1)" "$(jq -cS . "$TMP/m1.grant")"

# the same grant as the note of another commit
git -C "$TMP/work" notes --ref=airlock add -f -F "$TMP/m1.grant" "$OTHER" 2>/dev/null
expect "push of another commit carrying the grant: refused" \
	"$(push "$OTHER:refs/heads/main" refs/notes/airlock:refs/notes/airlock)" "1"
expect_match "refusal names the commit binding" "$(cat "$TMP/push.err")" \
	"refs/heads/main: rejected: .*commit $M1C, not $OTHER"
expect "push that deletes main: refused" "$(push :refs/heads/main)" "1"
expect_match "deletion refused by the hook" "$(cat "$TMP/push.err")" 'refs/heads/main: rejected: deleting'
expect "remote main still the candidate" "$(remote_main)" "$M1C"

stop_server
rc=$?
expect "server shuts down cleanly on SIGTERM (exit 0)" "$rc" "0"
[ "$rc" -eq 0 ] || grep -B2 -A14 -E 'ERROR: |leak of' "$DATA.log" | head -60
summary
