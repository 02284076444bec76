/* A run record as JSON: the runner's result and `airlock sandbox --record` share it. */
#pragma once

#include <jansson.h>

#include "runner/sandbox.h"

/* The record's fields as lib/runrec.h names them (al_runrec_check accepts what this
 * writes); with_output adds stdout and stderr (bytes that are not UTF-8 become U+FFFD).
 * Fields are added to into when it is non-NULL, else to a new object. */
json_t *al_run_record_json(const struct al_run_record *r, int with_output, json_t *into);
