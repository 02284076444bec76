/* JSON replies: the body of every answer and every refusal the API gives. */
#include <stdlib.h>
#include <string.h>

#include "server/reply.h"

void
al_reply_json(struct al_http_resp *resp, int status, json_t *body)
{
	resp->status = status;
	resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!resp->body) {
		resp->status = 500;
		resp->body = strdup("{\"error\":\"internal\",\"detail\":\"out of memory\"}");
	}
	resp->len = resp->body ? strlen(resp->body) : 0;
}

void
al_reply_error(struct al_http_resp *resp, int status, const char *error, const char *detail)
{
	al_reply_json(resp, status, json_pack("{s:s, s:s}", "error", error, "detail", detail));
}

static const char *
status_name(int status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not found";
	case 405:
		return "method not allowed";
	case 409:
		return "conflict";
	case 413:
		return "too large";
	case 422:
		return "unprocessable";
	case 502:
		return "bad gateway";
	default:
		return "internal";
	}
}

void
al_reply_refusal(struct al_http_resp *resp, const struct al_refusal *r)
{
	int status = r->status ? r->status : 500;

	al_reply_error(resp, status, r->error ? r->error : status_name(status),
		       r->detail[0] ? r->detail : "the request failed");
}
