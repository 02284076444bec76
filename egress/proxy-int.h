/* Shared by the proxy's own files only: proxy.c (connections), check.c (requests inside
 * them, and their records), serve.c (the process and its runs). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/types.h>
#include <pthread.h>

#include "egress/proxy.h"
#include "egress/request.h"
#include "lib/buf.h"

struct al_proxy {
	const struct al_proxy_conf *conf;
	struct al_ca *ca;
	SSL_CTX *server_ctx, *client_ctx;
	FILE *out;
	pthread_mutex_t out_lock;
	_Atomic int active; /* connections still being served */
};

/* One run: one listener, its own caps. */
struct al_proxy_run {
	char label[AL_PROXY_NAME_MAX + 1];
	int listener;
	_Atomic uint64_t bytes;
	_Atomic unsigned conns;
	long long deadline_ms;
};

struct al_proxy_conn {
	struct al_proxy *px;
	struct al_proxy_run *run;
	int fd;
	char buf[AL_EGRESS_HEAD_MAX]; /* the first head and what came with it */
	size_t len;
	long long t0;
	char host[AL_EGRESS_HOST_MAX + 1];
	uint16_t port;
	const char *mode; /* "tls", "tunnel", "http" */
	char addr[64];	  /* the address connected to, or the one refused */
	bool denied;
	bool in_request_refusal; /* a request inside the tunnel was refused: say so there */
	char reason[AL_EGRESS_REASON_MAX];
	uint64_t up, down;
	unsigned requests;
	unsigned secrets_used; /* bit i: conf->secrets[i] was added */
};

/* "HTTP/1.1 200 Connection established" on fd. */
void al_proxy_answer_established(int fd);
/* The relay's callback (al_relay_head_fn) for every request of a connection. */
const char *al_proxy_check_head(void *arg, const struct al_egress_request *req, struct al_buf *out);
/* Writes the connection's JSON line. */
void al_proxy_record(struct al_proxy_conn *k);
/* Serves fd on a thread of its own; takes fd. */
int al_proxy_conn_start(struct al_proxy *px, struct al_proxy_run *run, int fd);
