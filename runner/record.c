#include "record.h"

#include <stdlib.h>

#include "lib/macros.h"
#include "lib/utf8.h"

static json_t *
output_json(const char *p, size_t n)
{
	size_t len;
	_cleanup_free_ char *clean = al_utf8_sanitize(p ? p : "", p ? n : 0, &len);

	return clean ? json_stringn(clean, len) : json_string("");
}

static json_t *
denied_json(const struct al_run_record *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_denied && i < AL_DENIED_MAX; i++)
		json_array_append_new(a, json_pack("{s:s, s:i}", AL_RUNREC_DENIED_SYSCALL,
						   r->denied[i].name, AL_RUNREC_DENIED_COUNT,
						   (int)r->denied[i].count));
	if (a && r->denied_other)
		json_array_append_new(a,
				      json_pack("{s:s, s:i}", AL_RUNREC_DENIED_SYSCALL, "(other)",
						AL_RUNREC_DENIED_COUNT, (int)r->denied_other));
	return a;
}

json_t *
al_run_record_json(const struct al_run_record *r, int with_output, json_t *into)
{
	json_t *o = into ? into : json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, AL_RUNREC_STATUS, json_string(al_runrec_status_name(r->status)));
	json_object_set_new(o, AL_RUNREC_EXIT_CODE, json_integer(r->exit_code));
	json_object_set_new(o, AL_RUNREC_SIGNAL, json_integer(r->signal));
	json_object_set_new(o, AL_RUNREC_KILLED, json_boolean(r->killed));
	json_object_set_new(o, AL_RUNREC_WALL_MS, json_integer(r->wall_ms));
	if (r->spawn_us >= 0)
		json_object_set_new(o, AL_RUNREC_SPAWN_US, json_integer(r->spawn_us));
	json_object_set_new(o, AL_RUNREC_CPU_MS, json_integer(r->cpu_ms));
	json_object_set_new(o, AL_RUNREC_MAX_RSS_KB, json_integer(r->max_rss_kb));
	json_object_set_new(o, AL_RUNREC_STDOUT_BYTES, json_integer((json_int_t)r->out_len));
	json_object_set_new(o, AL_RUNREC_STDOUT_DROPPED, json_integer((json_int_t)r->out_dropped));
	json_object_set_new(o, AL_RUNREC_STDERR_BYTES, json_integer((json_int_t)r->err_len));
	json_object_set_new(o, AL_RUNREC_STDERR_DROPPED, json_integer((json_int_t)r->err_dropped));
	json_object_set_new(o, AL_RUNREC_DENIED, denied_json(r));
	if (r->disk_bytes >= 0)
		json_object_set_new(o, AL_RUNREC_DISK_BYTES, json_integer(r->disk_bytes));
	if (r->status == AL_RUN_XX)
		json_object_set_new(o, AL_RUNREC_DETAIL, json_string(r->detail));
	if (with_output) {
		json_object_set_new(o, AL_RUNREC_STDOUT, output_json(r->out, r->out_len));
		json_object_set_new(o, AL_RUNREC_STDERR, output_json(r->err, r->err_len));
	}
	return o;
}
