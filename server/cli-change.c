/* `airlock promote` and `airlock revise`: a grant exercised, a proposal revised, over the
 * API (docs/api.md). Usage errors exit 64, a server's refusal 2 (al_cli_refused). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/cli.h"
#include "server/client.h"
#include "server/server.h"

#define EXIT_USAGE 64
#define DEFAULT_SERVER "http://127.0.0.1:8080"

#define PROMOTE_USAGE \
	"usage: airlock promote [--server URL] (--token T | --token-file F) PROPOSAL_ID\n"
#define REVISE_USAGE                                                                       \
	"usage: airlock revise [--server URL] (--token T | --token-file F) --patch FILE\n" \
	"         [--test-patch FILE] [--fail-to-pass ID]... [--wait [--wait-timeout S]\n" \
	"         [--out FILE]] PROPOSAL_ID\n"

struct change_opts {
	const char *what; /* "promote" or "revise" */
	const char *server, *token, *token_file, *patch, *test_patch, *out, *id;
	json_t *ftp; /* owned; NULL: the proposal keeps its test ids */
	bool wait, help;
	long wait_timeout_s;
};

static const struct option change_options[] = {{"server", required_argument, NULL, 's'},
					       {"token", required_argument, NULL, 't'},
					       {"token-file", required_argument, NULL, 'T'},
					       {"patch", required_argument, NULL, 'p'},
					       {"test-patch", required_argument, NULL, 'P'},
					       {"fail-to-pass", required_argument, NULL, 'f'},
					       {"wait", no_argument, NULL, 'w'},
					       {"wait-timeout", required_argument, NULL, 'W'},
					       {"out", required_argument, NULL, 'o'},
					       {"help", no_argument, NULL, 'H'},
					       {NULL, 0, NULL, 0}};

/* A revision's own options; promote knows only the connection's. */
static int
revise_option(struct change_opts *o, int c)
{
	char *end;

	switch (c) {
	case 'p':
		o->patch = optarg;
		return 0;
	case 'P':
		o->test_patch = optarg;
		return 0;
	case 'f':
		if (!o->ftp && !(o->ftp = json_array()))
			return -ENOMEM;
		return json_array_append_new(o->ftp, json_string(optarg)) < 0 ? -EINVAL : 0;
	case 'w':
		o->wait = true;
		return 0;
	case 'W':
		o->wait_timeout_s = strtol(optarg, &end, 10);
		return *end || o->wait_timeout_s <= 0 ? -ERANGE : 0;
	case 'o':
		o->out = optarg;
		return 0;
	}
	return -EINVAL;
}

/* The first thing the command line lacks or has wrong, named as the user fixes it. */
static const char *
change_lack(const struct change_opts *o, int argc, char **argv)
{
	bool revise = !strcmp(o->what, "revise");

	if (!(o->token || o->token_file || getenv("AIRLOCK_TOKEN")))
		return "missing --token, --token-file or AIRLOCK_TOKEN";
	if (revise && !o->patch)
		return "missing --patch FILE";
	if (optind == argc)
		return "missing PROPOSAL_ID";
	if (optind != argc - 1)
		return "unexpected arguments after PROPOSAL_ID";
	/* the id goes into a URL path */
	if (strlen(argv[optind]) != 32 || strspn(argv[optind], "0123456789abcdef") != 32)
		return "PROPOSAL_ID: expected 32 hex digits";
	if (!revise && (o->patch || o->test_patch || o->ftp || o->wait || o->out))
		return "promote takes no patch, test ids or --wait";
	return NULL;
}

/* 0 to go on, 1 for --help, -EINVAL after printing what is wrong. */
static int
change_parse(int argc, char **argv, struct change_opts *o)
{
	const char *lack;
	int c, r = 0;

	o->server = DEFAULT_SERVER;
	o->wait_timeout_s = 1800;
	while (r == 0 && (c = getopt_long(argc, argv, "", change_options, NULL)) != -1) {
		if (c == 's')
			o->server = optarg;
		else if (c == 't')
			o->token = optarg;
		else if (c == 'T')
			o->token_file = optarg;
		else if (c == 'H')
			return 1;
		else if (c == '?')
			return -EINVAL; /* getopt named it */
		else
			r = revise_option(o, c);
	}
	if (r == -ERANGE)
		lack = "--wait-timeout: expected a number of seconds";
	else if (r < 0)
		lack = "--fail-to-pass: expected UTF-8 text";
	else
		lack = change_lack(o, argc, argv);
	if (lack) {
		fprintf(stderr, "airlock: %s: %s\n", o->what, lack);
		return -EINVAL;
	}
	o->id = argv[optind];
	return 0;
}

/* Parses; on a usage error or --help prints the usage and says how to exit. */
static int
change_start(int argc, char **argv, struct change_opts *o, const char *usage, int *ret_exit)
{
	int r = change_parse(argc, argv, o);

	if (r == 0)
		return 0;
	fputs(usage, r > 0 ? stdout : stderr);
	*ret_exit = r > 0 ? 0 : EXIT_USAGE;
	return -1;
}

/* POSTs req to the proposal's sub-path; 0 with the answer parsed, else the exit status. */
static int
change_post(const struct change_opts *o, const char *sub, const char *req, long want, json_t **ret)
{
	_cleanup_free_ char *token = NULL, *body = NULL;
	struct al_err err = {0};
	char url[512];
	long status = 0;
	int r;

	token = al_cli_token(o->token, o->token_file, &err);
	if (!token)
		return fprintf(stderr, "airlock: %s: %s\n", o->what, al_err_msg(&err)), 1;
	snprintf(url, sizeof(url), "%s/v1/proposals/%s/%s", o->server, o->id, sub);
	r = al_client_request("POST", url, token, req, &status, &body, &err);
	explicit_bzero(token, strlen(token));
	if (r < 0)
		return fprintf(stderr, "airlock: %s: %s\n", o->what, al_err_msg(&err)), 1;
	if (status != want)
		return al_cli_refused(status, body);
	*ret = json_loads(body, 0, NULL);
	if (!json_is_object(*ret)) {
		json_decref(*ret);
		return fprintf(stderr, "airlock: %s: unexpected answer: %s\n", o->what, body), 1;
	}
	return 0;
}

int
al_cli_promote(int argc, char **argv)
{
	struct change_opts o = {.what = "promote"};
	const char *prev;
	json_t *a = NULL;
	int r;

	if (change_start(argc, argv, &o, PROMOTE_USAGE, &r) < 0) {
		json_decref(o.ftp);
		return r;
	}
	r = change_post(&o, "promote", "{}", 200, &a);
	if (r != 0)
		return r;
	prev = json_string_value(json_object_get(a, "previous"));
	printf("promoted: %s at %s (%s%s), proposal %s, by %s\n",
	       json_string_value(json_object_get(a, "ref")) ?: "?",
	       json_string_value(json_object_get(a, "commit")) ?: "?", prev ? "was " : "a new ref",
	       prev ? prev : "", o.id, json_string_value(json_object_get(a, "by")) ?: "?");
	json_decref(a);
	return 0;
}

/* {"patch", "test_patch"?, "fail_to_pass"?}: left out, the test patch is none and the
 * test ids stay. */
static char *
revise_body(const struct change_opts *o)
{
	_cleanup_free_ char *patch = NULL, *tpatch = NULL;
	struct al_err err = {0};
	size_t len;
	json_t *b;
	char *text;

	if (al_file_read(o->patch, AL_MAX_PATCH_BYTES, &patch, &len, &err) < 0 ||
	    (o->test_patch &&
	     al_file_read(o->test_patch, AL_MAX_PATCH_BYTES, &tpatch, &len, &err) < 0)) {
		fprintf(stderr, "airlock: revise: %s\n", al_err_msg(&err));
		return NULL;
	}
	b = json_pack("{s:s, s:s*, s:O*}", "patch", patch, "test_patch", tpatch, "fail_to_pass",
		      o->ftp);
	if (!b) {
		fprintf(stderr, "airlock: revise: patch files must be UTF-8 text\n");
		return NULL;
	}
	text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return text;
}

int
al_cli_revise(int argc, char **argv)
{
	struct change_opts o = {.what = "revise"};
	_cleanup_free_ char *req = NULL, *token = NULL;
	struct al_err err = {0};
	json_t *a = NULL;
	int r;

	if (change_start(argc, argv, &o, REVISE_USAGE, &r) < 0) {
		json_decref(o.ftp);
		return r;
	}
	req = revise_body(&o);
	json_decref(o.ftp);
	if (!req)
		return 1;
	r = change_post(&o, "revisions", req, 202, &a);
	if (r != 0)
		return r;
	printf("proposal %s revision %lld queued\n", o.id,
	       (long long)json_integer_value(json_object_get(a, "revision")));
	fflush(stdout);
	json_decref(a);
	if (!o.wait)
		return 0;
	token = al_cli_token(o.token, o.token_file, &err);
	if (!token)
		return fprintf(stderr, "airlock: revise: %s\n", al_err_msg(&err)), 1;
	r = al_cli_wait(o.server, o.out, o.wait_timeout_s, o.id, token);
	explicit_bzero(token, strlen(token));
	return r;
}
