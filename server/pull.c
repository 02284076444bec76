/* A pull request fetched and diffed by `airlock-core runner --pull-request` (runner/pull.c)
 * in the runner's confinement: the server, which holds the key and the database, never
 * parses what a remote sends. One JSON request in on the child's stdin, one JSON answer
 * out of its stdout, read with a cap and a deadline. */
#include "server/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "lib/proc.h"

extern char **environ;

/* The child's whole stdout, or -ETIMEDOUT / -EFBIG. */
static int
read_answer(int fd, size_t cap, long long deadline, struct al_buf *out)
{
	char chunk[65536];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - al_now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return 0;
		if (n > 0 &&
		    (out->len + (size_t)n > cap || al_buf_append(out, chunk, (size_t)n) < 0))
			return -EFBIG;
	}
}

static int
spawn(const char *self_exe, int in, int out, pid_t *pid)
{
	char *argv[] = {"airlock", "runner", "--pull-request", NULL};
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	r = posix_spawn(pid, self_exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

static int
exchange(pid_t pid, int to, int from, const char *req, size_t cap, json_t **ret, struct al_err *err)
{
	struct al_buf answer;
	json_error_t jerr;
	int r = al_fd_write_all(to, req, strlen(req));

	close(to);
	if (r < 0)
		return al_err_set(err, r, "pull request: cannot hand the request over: %s",
				  strerror(-r));
	al_buf_init(&answer, cap);
	r = read_answer(from, cap, al_now_ms() + AL_PULL_TIMEOUT_S * 1000LL, &answer);
	if (r == 0)
		*ret = json_loadb(answer.data ? answer.data : "", answer.len,
				  JSON_REJECT_DUPLICATES, &jerr);
	al_buf_free(&answer);
	if (r < 0)
		kill(pid, SIGKILL);
	if (r == -ETIMEDOUT)
		return al_err_set(err, r, "pull request: no answer within %d s", AL_PULL_TIMEOUT_S);
	if (r < 0)
		return al_err_set(err, r, "pull request: %s",
				  r == -EFBIG ? "answer too large" : strerror(-r));
	if (!json_is_object(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return al_err_set(err, -EBADMSG, "pull request: the answer is not JSON");
	}
	return 0;
}

int
al_pull_fetch(const char *self_exe, const json_t *request, size_t cap, json_t **ret,
	      struct al_err *err)
{
	_cleanup_free_ char *req = json_dumps(request, JSON_COMPACT);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, st, r;
	pid_t pid;

	*ret = NULL;
	if (!req)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		r = al_err_set(err, -errno, "pull request: pipe: %s", strerror(errno));
		al_closep(&in[0]), al_closep(&in[1]), al_closep(&out[0]);
		return r;
	}
	r = spawn(self_exe, in[0], out[1], &pid);
	close(in[0]);
	close(out[1]);
	if (r < 0) {
		close(in[1]);
		close(out[0]);
		return al_err_set(err, r, "pull request: cannot start the runner: %s",
				  strerror(-r));
	}
	r = exchange(pid, in[1], out[0], req, cap, ret, err);
	close(out[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			break;
	return r;
}
