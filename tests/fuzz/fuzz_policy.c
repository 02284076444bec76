/* Policy parsing over arbitrary JSON; the same bytes also go to the verdict as a runner
 * result, the other JSON parser that reads what it cannot trust. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/gates.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Round trip: the canonical form parses to the same canonical form. */
static void
check_canonical(const struct al_policy *p)
{
	struct al_policy *again = NULL;
	char *c = al_policy_canonical(p), *c2;
	json_t *j;

	CHECK(c);
	j = json_loads(c, 0, NULL);
	CHECK(j && al_policy_parse(j, "again", &again, NULL) == 0);
	c2 = al_policy_canonical(again);
	CHECK(c2 && strcmp(c, c2) == 0);
	CHECK(al_policy_timeout_s(p) >= 1 && al_policy_timeout_s(p) <= 3600);
	free(c);
	free(c2);
	json_decref(j);
	al_policy_free(again);
}

static const char judge_policy[] =
    "{\"reproduce\":{\"command\":[\"t\"]},\"contract\":[{\"name\":\"unit\",\"command\":[\"m\"]}],"
    "\"test_paths\":[\"tests/**\"]}";

/* A granted verdict must have nothing but SATISFIED and NOT_APPLICABLE rules. */
static void
check_verdict(const json_t *result)
{
	static struct al_policy *p;
	json_t *ids = json_pack("[s]", "t1"), *v = NULL, *rule;
	const char *decision;
	size_t i;

	if (!p) {
		json_t *j = json_loads(judge_policy, 0, NULL);

		CHECK(j && al_policy_parse(j, "judge", &p, NULL) == 0);
		json_decref(j);
	}
	CHECK(ids && al_gates_evaluate(p, ids, result, &v, NULL) == 0);
	decision = json_string_value(json_object_get(v, "decision"));
	CHECK(decision && json_is_string(json_object_get(v, "reason")));
	if (strcmp(decision, "granted") == 0) {
		json_array_foreach (json_object_get(v, "rules"), i, rule) {
			const char *r = json_string_value(json_object_get(rule, "result"));

			CHECK(strcmp(r, "SATISFIED") == 0 || strcmp(r, "NOT_APPLICABLE") == 0);
		}
	} else {
		CHECK(strcmp(decision, "rejected") == 0);
	}
	json_decref(v);
	json_decref(ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct al_err err = {0};
	struct al_policy *p = NULL;
	json_t *j;
	int r;

	/* jansson refuses nesting deeper than JSON_PARSER_MAX_DEPTH (2048) by itself */
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	r = al_policy_parse(j, "fuzz", &p, &err);
	if (r == 0)
		check_canonical(p);
	else
		CHECK(!p && strncmp(err.msg, "fuzz", 4) == 0);
	al_policy_free(p);
	check_verdict(j);
	json_decref(j);
	return 0;
}
