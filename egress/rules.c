/* The egress allowlist.  Patterns are normalised like the hosts they are matched with, so
 * "PyPI.org." and "pypi.org" are one rule, and a rule is never an address. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/host.h"
#include "egress/rules.h"
#include "lib/utf8.h"
#include "lib/macros.h"

struct pattern {
	char host[AL_EGRESS_HOST_MAX + 1]; /* the name, or the suffix after "*." */
	bool wildcard;
	char norm[AL_EGRESS_HOST_MAX + 3]; /* "host" or "*.suffix", normalised */
	char *src; /* owned: the rule as the operator wrote it, for reasons */
};

struct plist {
	struct pattern *v; /* owned */
	size_t n;
};

struct al_egress_rules {
	struct plist allow, deny;
	uint16_t ports[AL_EGRESS_RULES_PORTS_MAX];
	size_t nports;
};

static void
plist_free(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].src);
	free(l->v);
}

void
al_egress_rules_free(struct al_egress_rules *r)
{
	if (!r)
		return;
	plist_free(&r->allow);
	plist_free(&r->deny);
	free(r);
}

/* One pattern (never "@bundle": the caller expands those) into p, src not yet set. */
static int
pattern_parse(const char *s, struct pattern *p, const char *path, struct al_err *err)
{
	const char *name = s, *why = NULL;

	p->wildcard = false;
	if (strcmp(s, "*") == 0)
		return al_err_set(err, -EINVAL, "%s: \"*\" alone would allow every host", path);
	if (strncmp(s, "*.", 2) == 0) {
		p->wildcard = true;
		name = s + 2;
	}
	if (strchr(name, '*'))
		return al_err_set(err, -EINVAL, "%s: a wildcard may only be a leading \"*.\"",
				  path);
	if (al_egress_host_normalize(name, strlen(name), p->host, &why) < 0) {
		if (p->wildcard && why && strcmp(why, "single-label name") == 0)
			return al_err_set(err, -EINVAL,
					  "%s: a wildcard needs a suffix of two labels or more",
					  path);
		return al_err_set(err, -EINVAL, "%s: not a host name: %s", path,
				  why ? why : "out of memory");
	}
	snprintf(p->norm, sizeof(p->norm), "%s%s", p->wildcard ? "*." : "", p->host);
	return 0;
}

static int
plist_add(struct plist *l, const char *s, const char *src, const char *path, struct al_err *err)
{
	struct pattern p = {.wildcard = false};
	struct pattern *v;
	int rc;

	if (l->n == AL_EGRESS_RULES_PATTERNS_MAX)
		return al_err_set(err, -EINVAL, "%s: more than %d patterns", path,
				  AL_EGRESS_RULES_PATTERNS_MAX);
	rc = pattern_parse(s, &p, path, err);
	if (rc < 0)
		return rc;
	p.src = strdup(src);
	v = p.src ? realloc(l->v, (l->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(p.src);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	l->v = v;
	l->v[l->n++] = p;
	return 0;
}

static bool
bundle_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AL_EGRESS_BUNDLE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", *s))
			return false;
	return true;
}

/* An array of 1..AL_EGRESS_RULES_PATTERNS_MAX strings. */
static int
string_array(const json_t *a, const char *path, bool may_be_empty, struct al_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return al_err_set(err, -EINVAL, "%s: not an array", path);
	if (json_array_size(a) == 0 && !may_be_empty)
		return al_err_set(err, -EINVAL, "%s: empty", path);
	if (json_array_size(a) > AL_EGRESS_RULES_PATTERNS_MAX)
		return al_err_set(err, -EINVAL, "%s: more than %d entries", path,
				  AL_EGRESS_RULES_PATTERNS_MAX);
	json_array_foreach (a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) != strlen(json_string_value(v)))
			return al_err_set(err, -EINVAL, "%s[%zu]: not a non-empty string", path, i);
	}
	return 0;
}

/* Each bundle: a known-good name and a non-empty list of plain patterns. */
static int
bundles_check(const json_t *bundles, struct al_err *err)
{
	const char *name;
	json_t *list, *v;
	size_t i;
	int rc;

	if (!json_is_object(bundles))
		return al_err_set(err, -EINVAL, "egress.bundles: not an object");
	if (json_object_size(bundles) > AL_EGRESS_RULES_BUNDLES_MAX)
		return al_err_set(err, -EINVAL, "egress.bundles: more than %d bundles",
				  AL_EGRESS_RULES_BUNDLES_MAX);
	json_object_foreach ((json_t *)bundles, name, list) {
		char path[AL_EGRESS_REASON_MAX];
		struct pattern p;

		if (!bundle_name_ok(name))
			return al_err_set(err, -EINVAL,
					  "egress.bundles: a bundle name is 1-%d of [a-z0-9_-]",
					  AL_EGRESS_BUNDLE_NAME_MAX);
		snprintf(path, sizeof(path), "egress.bundles.%s", name);
		rc = string_array(list, path, false, err);
		json_array_foreach (list, i, v) {
			snprintf(path, sizeof(path), "egress.bundles.%s[%zu]", name, i);
			if (rc == 0 && json_string_value(v)[0] == '@')
				rc = al_err_set(err, -EINVAL, "%s: a bundle cannot name a bundle",
						path);
			if (rc == 0)
				rc = pattern_parse(json_string_value(v), &p, path, err);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* "allow" or "deny": patterns, with "@bundle" expanded in place. */
static int
list_parse(const json_t *a, const json_t *bundles, const char *key, struct plist *l,
	   struct al_err *err)
{
	char path[AL_EGRESS_REASON_MAX], src[AL_EGRESS_REASON_MAX];
	const json_t *bundle, *b;
	json_t *v;
	size_t i, j;
	int rc;

	snprintf(path, sizeof(path), "egress.%s", key);
	rc = string_array(a, path, true, err);
	json_array_foreach ((json_t *)a, i, v) {
		const char *s = json_string_value(v);

		snprintf(path, sizeof(path), "egress.%s[%zu]", key, i);
		if (rc < 0)
			return rc;
		if (s[0] != '@') {
			rc = plist_add(l, s, s, path, err);
			continue;
		}
		bundle = bundles ? json_object_get(bundles, s + 1) : NULL;
		if (!bundle)
			return al_err_set(err, -EINVAL, "%s: no bundle named \"%.64s\"", path,
					  al_text_shown(s + 1));
		json_array_foreach (bundle, j, b) {
			snprintf(src, sizeof(src), "%.65s (%.253s)", s, json_string_value(b));
			if (rc == 0)
				rc = plist_add(l, json_string_value(b), src, path, err);
		}
	}
	return rc;
}

static int
ports_parse(const json_t *a, struct al_egress_rules *r, struct al_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > AL_EGRESS_RULES_PORTS_MAX)
		return al_err_set(err, -EINVAL, "egress.ports: an array of 1-%d ports",
				  AL_EGRESS_RULES_PORTS_MAX);
	json_array_foreach ((json_t *)a, i, v) {
		json_int_t p = json_is_integer(v) ? json_integer_value(v) : 0;

		if (p < 1 || p > 65535)
			return al_err_set(err, -EINVAL, "egress.ports[%zu]: not a port (1-65535)",
					  i);
		for (size_t k = 0; k < r->nports; k++)
			if (r->ports[k] == p)
				return al_err_set(err, -EINVAL, "egress.ports[%zu]: listed twice",
						  i);
		r->ports[r->nports++] = (uint16_t)p;
	}
	return 0;
}

static int
rules_from_json(const json_t *root, struct al_egress_rules *r, struct al_err *err)
{
	static const char *const keys[] = {"allow", "deny", "ports", "bundles"};
	const json_t *bundles = json_object_get(root, "bundles"), *v;
	const char *key;
	int rc;

	if (!json_is_object(root))
		return al_err_set(err, -EINVAL, "egress: not an object");
	json_object_foreach ((json_t *)root, key, v) {
		size_t k = 0;

		while (k < AL_ARRAY_SIZE(keys) && strcmp(key, keys[k]) != 0)
			k++;
		if (k == AL_ARRAY_SIZE(keys))
			return al_err_set(err, -EINVAL, "egress: unknown key \"%.64s\"",
					  al_text_shown(key));
	}
	rc = bundles ? bundles_check(bundles, err) : 0;
	if (rc == 0 && (v = json_object_get(root, "allow")))
		rc = list_parse(v, bundles, "allow", &r->allow, err);
	if (rc == 0 && (v = json_object_get(root, "deny")))
		rc = list_parse(v, bundles, "deny", &r->deny, err);
	if (rc == 0 && (v = json_object_get(root, "ports")))
		rc = ports_parse(v, r, err);
	if (rc == 0 && r->nports == 0)
		r->ports[r->nports++] = 443;
	return rc;
}

int
al_egress_rules_parse(const char *text, size_t len, struct al_egress_rules **ret,
		      struct al_err *err)
{
	_cleanup_(al_egress_rules_freep) struct al_egress_rules *r = NULL;
	json_error_t jerr;
	json_t *root;
	int rc;

	if (len > AL_EGRESS_RULES_TEXT_MAX)
		return al_err_set(err, -EINVAL, "egress: rules longer than %u bytes",
				  AL_EGRESS_RULES_TEXT_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return al_err_set(err, -EINVAL, "egress: not JSON (line %d, column %d)", jerr.line,
				  jerr.column);
	r = calloc(1, sizeof(*r));
	rc = r ? rules_from_json(root, r, err) : al_err_set(err, -ENOMEM, "out of memory");
	json_decref(root);
	if (rc < 0)
		return rc;
	*ret = steal_pointer(&r);
	return 0;
}

static bool
pattern_match(const struct pattern *p, const char *host)
{
	size_t hn = strlen(host), sn = strlen(p->host);

	if (!p->wildcard)
		return strcmp(host, p->host) == 0;
	/* subdomains only: not the suffix itself, not "xsuffix" */
	return hn > sn + 1 && host[hn - sn - 1] == '.' && strcmp(host + hn - sn, p->host) == 0;
}

static const struct pattern *
plist_find(const struct plist *l, const char *host)
{
	for (size_t i = 0; i < l->n; i++)
		if (pattern_match(&l->v[i], host))
			return &l->v[i];
	return NULL;
}

void
al_egress_rules_match(const struct al_egress_rules *r, const char *host, size_t host_len,
		      uint16_t port, struct al_egress_verdict *ret)
{
	char name[AL_EGRESS_HOST_MAX + 1];
	const struct pattern *p;
	const char *why = NULL;
	bool port_ok = false;

	ret->allow = false;
	if (al_egress_host_normalize(host, host_len, name, &why) < 0) {
		snprintf(ret->reason, sizeof(ret->reason), "host refused: %s",
			 why ? why : "out of memory");
		return;
	}
	if ((p = plist_find(&r->deny, name))) {
		snprintf(ret->reason, sizeof(ret->reason), "denied by rule %s", p->src);
		return;
	}
	if (!(p = plist_find(&r->allow, name))) {
		snprintf(ret->reason, sizeof(ret->reason), "not listed");
		return;
	}
	for (size_t i = 0; i < r->nports; i++)
		port_ok |= r->ports[i] == port;
	if (!port_ok) {
		snprintf(ret->reason, sizeof(ret->reason), "port not allowed");
		return;
	}
	ret->allow = true;
	snprintf(ret->reason, sizeof(ret->reason), "allowed by rule %s", p->src);
}

size_t
al_egress_rules_allowed(const struct al_egress_rules *r, size_t i, const char **ret)
{
	if (i < r->allow.n)
		*ret = r->allow.v[i].norm;
	return r->allow.n;
}
