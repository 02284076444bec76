#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "lib/buf.h"

#define RESPONSE_MAX (64u << 20)

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
	return al_buf_append(ud, p, size * n) < 0 ? 0 : size * n;
}

int
al_client_request(const char *method, const char *url, const char *token, const char *body,
		  long *ret_status, char **ret_body, struct al_err *err)
{
	struct curl_slist *hdrs = NULL;
	struct al_buf out;
	char auth[320];
	CURLcode rc;
	CURL *c;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return al_err_set(err, -EINVAL, "%s: not an http(s) URL", url);
	c = curl_easy_init();
	if (!c)
		return al_err_set(err, -ENOMEM, "cannot start an HTTP client");
	al_buf_init(&out, RESPONSE_MAX);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "User-Agent: airlock");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		al_buf_free(&out);
		return al_err_set(err, -EIO, "%s: %s", url, curl_easy_strerror(rc));
	}
	*ret_body = al_buf_steal(&out, NULL);
	return *ret_body ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}
