/* The egress configuration: the allowlist (rules.c), opaque tunnels, secret rules, caps,
 * and the test-only resolve override. Secret values are read here from their files and
 * never quoted in an error. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "egress/proxy.h"
#include "lib/fileio.h"
#include "lib/macros.h"

static const char *const top_keys[] = {"allow",	  "deny", "ports", "bundles", "tunnel",
				       "secrets", "caps", "test",  "run"};
static const char *const rule_keys[] = {"allow", "deny", "ports", "bundles"};
/* Headers a secret may never be: framing, routing and the proxy's own. */
static const char *const forbidden_headers[] = {
    "host", "content-length", "transfer-encoding",   "connection",	 "keep-alive", "upgrade",
    "te",   "trailer",	      "proxy-authorization", "proxy-connection", "expect",
};

static bool
in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, list[i]) == 0)
			return true;
	return false;
}

static bool
token_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= AL_PROXY_HEADER_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int
rules_part(const json_t *root, struct al_proxy_conf *c, struct al_err *err)
{
	json_t *sub = json_object();
	char *text;
	int r;

	if (!sub)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < AL_ARRAY_SIZE(rule_keys); i++) {
		json_t *v = json_object_get(root, rule_keys[i]);

		if (v)
			json_object_set(sub, rule_keys[i], v);
	}
	text = json_dumps(sub, JSON_COMPACT);
	json_decref(sub);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_egress_rules_parse(text, strlen(text), &c->rules, err);
	free(text);
	return r;
}

static int
host_allowed(const struct al_proxy_conf *c, const char *host, const char *what, struct al_err *err)
{
	struct al_egress_verdict v;

	al_egress_rules_match(c->rules, host, strlen(host), 443, &v);
	if (!v.allow)
		return al_err_set(err, -EINVAL, "%s: %s is not allowed (%s)", what, host, v.reason);
	return 0;
}

static int
norm_host(const json_t *v, char *ret, const char *what, struct al_err *err)
{
	const char *why = NULL;

	if (!json_is_string(v))
		return al_err_set(err, -EINVAL, "%s: not a string", what);
	if (al_egress_host_normalize(json_string_value(v), json_string_length(v), ret, &why) < 0)
		return al_err_set(err, -EINVAL, "%s: not a host name: %s", what,
				  why ? why : "out of memory");
	return 0;
}

static int
tunnels_part(const json_t *a, struct al_proxy_conf *c, struct al_err *err)
{
	size_t i;
	json_t *v;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > AL_PROXY_TUNNELS_MAX)
		return al_err_set(err, -EINVAL, "tunnel: want an array of at most %d hosts",
				  AL_PROXY_TUNNELS_MAX);
	json_array_foreach (a, i, v) {
		char *h = c->tunnels[c->n_tunnels];
		int r = norm_host(v, h, "tunnel", err);

		if (r < 0 || (r = host_allowed(c, h, "tunnel", err)) < 0)
			return r;
		c->n_tunnels++;
	}
	return 0;
}

/* A value file's first line; no control character may reach a header. */
static int
secret_value(const char *file, const char *format, bool read_it, struct al_proxy_secret *s,
	     struct al_err *err)
{
	_cleanup_free_ char *data = NULL;
	const char *hole = strstr(format, "{}");
	struct al_err ferr = {0};
	size_t len = 0, n;

	if (!hole || strstr(hole + 2, "{}"))
		return al_err_set(err, -EINVAL, "secrets.%s.format: want exactly one {}", s->name);
	for (const char *p = format; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return al_err_set(err, -EINVAL, "secrets.%s.format: control character",
					  s->name);
	if (file[0] != '/')
		return al_err_set(err, -EINVAL, "secrets.%s.file: want an absolute path", s->name);
	if (!read_it)
		return 0;
	if (al_file_read(file, AL_PROXY_SECRET_VALUE_MAX, &data, &len, &ferr) < 0)
		return al_err_set(err, -EINVAL, "secrets.%s.file: cannot read it (%s)", s->name,
				  strerror(-ferr.code));
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f)
			return al_err_set(err, -EINVAL,
					  "secrets.%s.file: the value holds a control character",
					  s->name);
	if (len == 0)
		return al_err_set(err, -EINVAL, "secrets.%s.file: empty", s->name);
	n = strlen(format) - 2 + len;
	s->value = malloc(n + 1);
	if (!s->value)
		return al_err_set(err, -ENOMEM, "out of memory");
	memcpy(s->value, format, (size_t)(hole - format));
	memcpy(s->value + (hole - format), data, len);
	memcpy(s->value + (hole - format) + len, hole + 2, strlen(hole + 2) + 1);
	s->value_len = n;
	explicit_bzero(data, len);
	return 0;
}

static int
secret_one(const json_t *o, struct al_proxy_conf *c, bool read_it, struct al_err *err)
{
	struct al_proxy_secret *s = &c->secrets[c->n_secrets];
	const char *name = NULL, *header = NULL, *file = NULL, *format = "{}";
	json_t *host = NULL;
	int r;

	if (json_unpack((json_t *)o, "{s:s, s:o, s:s, s:s, s?:s !}", "name", &name, "host", &host,
			"header", &header, "file", &file, "format", &format) < 0)
		return al_err_set(err, -EINVAL,
				  "secrets: each wants name, host, header, file and an optional "
				  "format, nothing else");
	if (!token_name(name) || strlen(name) > AL_PROXY_NAME_MAX)
		return al_err_set(err, -EINVAL, "secrets: bad name");
	memcpy(s->name, name, strlen(name) + 1);
	if ((r = norm_host(host, s->host, "secrets.host", err)) < 0 ||
	    (r = host_allowed(c, s->host, "secrets.host", err)) < 0)
		return r;
	if (al_proxy_is_tunnel(c, s->host))
		return al_err_set(err, -EINVAL,
				  "secrets.%s: %s is an opaque tunnel, nothing can be added", name,
				  s->host);
	if (!token_name(header))
		return al_err_set(err, -EINVAL, "secrets.%s.header: not a header name", name);
	for (size_t i = 0; i < AL_ARRAY_SIZE(forbidden_headers); i++)
		if (strcasecmp(header, forbidden_headers[i]) == 0)
			return al_err_set(err, -EINVAL, "secrets.%s.header: %s may not be set",
					  name, header);
	memcpy(s->header, header, strlen(header) + 1);
	if ((r = secret_value(file, format, read_it, s, err)) < 0)
		return r;
	c->n_secrets++;
	return 0;
}

static int
secrets_part(const json_t *a, struct al_proxy_conf *c, bool read_it, struct al_err *err)
{
	size_t i;
	json_t *v;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > AL_PROXY_SECRETS_MAX)
		return al_err_set(err, -EINVAL, "secrets: want an array of at most %d rules",
				  AL_PROXY_SECRETS_MAX);
	json_array_foreach (a, i, v) {
		int r = secret_one(v, c, read_it, err);

		if (r < 0)
			return r;
		for (size_t j = 0; j + 1 < c->n_secrets; j++)
			if (!strcmp(c->secrets[j].host, c->secrets[i].host) &&
			    !strcasecmp(c->secrets[j].header, c->secrets[i].header))
				return al_err_set(err, -EINVAL, "secrets: two rules set %s on %s",
						  c->secrets[i].header, c->secrets[i].host);
	}
	return 0;
}

static int
cap_value(const json_t *caps, const char *key, json_int_t max, uint64_t *ret, struct al_err *err)
{
	json_t *v = json_object_get(caps, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
		return al_err_set(err, -EINVAL, "caps.%s: want an integer of 1..%lld", key,
				  (long long)max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int
caps_part(const json_t *caps, struct al_proxy_conf *c, struct al_err *err)
{
	uint64_t conns = AL_PROXY_DEFAULT_CONNECTIONS, secs = AL_PROXY_DEFAULT_SECONDS;
	const char *key;
	json_t *v;
	int r;

	c->cap_bytes = AL_PROXY_DEFAULT_BYTES;
	if (!caps)
		goto done;
	if (!json_is_object(caps))
		return al_err_set(err, -EINVAL, "caps: want an object");
	json_object_foreach ((json_t *)caps, key, v) {
		if (strcmp(key, "bytes") && strcmp(key, "connections") && strcmp(key, "seconds"))
			return al_err_set(err, -EINVAL,
					  "caps: unknown key (want bytes, connections, seconds)");
	}
	if ((r = cap_value(caps, "bytes", (json_int_t)1 << 36, &c->cap_bytes, err)) < 0 ||
	    (r = cap_value(caps, "connections", 65536, &conns, err)) < 0 ||
	    (r = cap_value(caps, "seconds", 86400, &secs, err)) < 0)
		return r;
done:
	c->cap_connections = (unsigned)conns;
	c->cap_seconds = (unsigned)secs;
	return 0;
}

/* "hosts": any address, as a resolver could answer (the proxy checks it). */
static int
answer_addr(const char *s, struct al_proxy_override *o)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;

	o->answer = true;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		o->addr_len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		o->addr_len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

/* "127.0.0.1:PORT" or "[::1]:PORT": loopback only, the override's whole point. */
static int
override_addr(const char *s, struct al_proxy_override *o)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	uint16_t port;
	size_t hl;

	if (!colon || al_egress_port_parse(colon + 1, strlen(colon + 1), &port) < 0)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
		s++, hl -= 2;
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strcmp(host, "127.0.0.1") == 0) {
		struct sockaddr_in *a = (struct sockaddr_in *)&o->addr;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		o->addr_len = sizeof(*a);
		return 0;
	}
	if (strcmp(host, "::1") == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&o->addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		o->addr_len = sizeof(*a);
		return 0;
	}
	return -EINVAL;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int
test_names(const json_t *map, bool answers, struct al_proxy_conf *c, struct al_err *err)
{
	const char *name;
	json_t *v;

	if (map && !json_is_object(map))
		return al_err_set(err, -EINVAL, "test: resolve and hosts want objects");
	json_object_foreach ((json_t *)map, name, v) {
		struct al_proxy_override *o = &c->overrides[c->n_overrides];
		const char *why = NULL;

		if (c->n_overrides == AL_PROXY_OVERRIDES_MAX)
			return al_err_set(err, -EINVAL, "test: too many names");
		if (al_egress_host_normalize(name, strlen(name), o->host, &why) < 0 ||
		    !ends_with(o->host, ".test"))
			return al_err_set(err, -EINVAL, "test: only names under .test");
		if (answers && (!json_is_string(v) || answer_addr(json_string_value(v), o) < 0))
			return al_err_set(err, -EINVAL, "test.hosts.%s: want an IP address",
					  o->host);
		if (!answers && (!json_is_string(v) || override_addr(json_string_value(v), o) < 0))
			return al_err_set(err, -EINVAL,
					  "test.resolve.%s: want 127.0.0.1:PORT or [::1]:PORT",
					  o->host);
		c->n_overrides++;
	}
	return 0;
}

static int
test_part(const json_t *t, struct al_proxy_conf *c, struct al_err *err)
{
	const char *env = getenv(AL_PROXY_TEST_ENV), *ca = NULL;
	json_t *resolve = NULL, *hosts = NULL;
	int r;

	if (!t)
		return 0;
	if (!env || strcmp(env, "1"))
		return al_err_set(err, -EINVAL, "test: only for tests (%s=1 is not set)",
				  AL_PROXY_TEST_ENV);
	if (json_unpack((json_t *)t, "{s?:o, s?:o, s?:s !}", "resolve", &resolve, "hosts", &hosts,
			"upstream_ca", &ca) < 0)
		return al_err_set(err, -EINVAL,
				  "test: want resolve {}, hosts {} and upstream_ca only");
	if ((r = test_names(resolve, false, c, err)) < 0 ||
	    (r = test_names(hosts, true, c, err)) < 0)
		return r;
	if (ca && (ca[0] != '/' || !(c->upstream_ca = strdup(ca))))
		return al_err_set(err, -EINVAL, "test.upstream_ca: want an absolute path");
	return 0;
}

static int
conf_from_json(const json_t *root, struct al_proxy_conf *c, bool read_secrets, struct al_err *err)
{
	const char *key, *run;
	json_t *v;
	int r;

	if (!json_is_object(root))
		return al_err_set(err, -EINVAL, "egress: want an object");
	json_object_foreach ((json_t *)root, key, v) {
		if (!in_list(key, top_keys, AL_ARRAY_SIZE(top_keys)))
			return al_err_set(err, -EINVAL,
					  "egress: unknown key (want allow, deny, ports, bundles, "
					  "tunnel, secrets, caps)");
	}
	run = json_string_value(json_object_get(root, "run"));
	snprintf(c->run, sizeof(c->run), "%s", run && token_name(run) ? run : "run");
	if ((r = rules_part(root, c, err)) < 0 ||
	    (r = tunnels_part(json_object_get(root, "tunnel"), c, err)) < 0 ||
	    (r = secrets_part(json_object_get(root, "secrets"), c, read_secrets, err)) < 0 ||
	    (r = caps_part(json_object_get(root, "caps"), c, err)) < 0)
		return r;
	return test_part(json_object_get(root, "test"), c, err);
}

static int
conf_parse(const char *text, size_t len, struct al_proxy_conf *c, bool read_secrets,
	   struct al_err *err)
{
	json_error_t je;
	json_t *root;
	int r;

	memset(c, 0, sizeof(*c));
	if (len > AL_PROXY_CONF_MAX)
		return al_err_set(err, -EINVAL, "egress: more than %u bytes", AL_PROXY_CONF_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return al_err_set(err, -EINVAL, "egress: not JSON: %s", je.text);
	r = conf_from_json(root, c, read_secrets, err);
	json_decref(root);
	if (r < 0)
		al_proxy_conf_clear(c);
	return r;
}

int
al_proxy_conf_parse(const char *text, size_t len, struct al_proxy_conf *ret, struct al_err *err)
{
	return conf_parse(text, len, ret, true, err);
}

int
al_proxy_conf_check(const char *text, size_t len, struct al_err *err)
{
	struct al_proxy_conf c;
	int r = conf_parse(text, len, &c, false, err);

	if (r == 0)
		al_proxy_conf_clear(&c);
	return r;
}

void
al_proxy_conf_clear(struct al_proxy_conf *c)
{
	al_egress_rules_free(c->rules);
	for (size_t i = 0; i < c->n_secrets; i++) {
		if (c->secrets[i].value)
			explicit_bzero(c->secrets[i].value, c->secrets[i].value_len);
		free(c->secrets[i].value);
	}
	free(c->upstream_ca);
	memset(c, 0, sizeof(*c));
}

const struct al_proxy_secret *
al_proxy_secret_for(const struct al_proxy_conf *c, const char *host, const char *name,
		    size_t name_len)
{
	for (size_t i = 0; i < c->n_secrets; i++)
		if (!strcmp(c->secrets[i].host, host) && strlen(c->secrets[i].header) == name_len &&
		    !strncasecmp(c->secrets[i].header, name, name_len))
			return &c->secrets[i];
	return NULL;
}

int
al_proxy_is_tunnel(const struct al_proxy_conf *c, const char *host)
{
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (!strcmp(c->tunnels[i], host))
			return 1;
	return 0;
}
