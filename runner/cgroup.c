/* Per-run control groups. Detection reads /proc/self/mountinfo and /proc/self/cgroup
 * once per process; a run then costs a handful of small writes: mkdir, the limits, the
 * move of the sandbox into the groups, and after the run the counters, a kill if anything
 * is left (the pid namespace normally took care of that already) and rmdir.
 *
 * The groups go right below the runner's own group (or, on v2, the subtree delegated to
 * it), so the limits of whoever runs airlock still hold, and nothing is made outside what
 * airlock was given. There is no shared "airlock" parent: every run would either make and
 * remove it (a memory group's mkdir is the dearest step) or leave it behind. */
#include "runner/cgroup.h"
#include "runner/cgroup-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"

#define SUPERVISOR "airlock-supervisor"
#define MOUNTINFO_MAX ((size_t)4 << 20)

static const char *const ctrl_names[AL_CG_NCTRL] = {"memory", "pids", "cpu"};

/* ---- small helpers ---- */

int
al_cgroup_fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Up to size - 1 bytes, NUL-terminated; the length or -errno. */
ssize_t
al_cgroup_read_text(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	int r = al_cgroup_fmt(path, sizeof(path), "%s/%s", dir, name);

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int
al_cgroup_write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	ssize_t n;
	int r = al_cgroup_fmt(path, sizeof(path), "%s/%s", dir, name);

	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Is tok one of the sep-separated words of list? */
static int
has_word(const char *list, size_t list_len, const char *tok, char sep)
{
	size_t tl = strlen(tok);

	for (const char *p = list, *end = list + list_len; p < end;) {
		const char *q = memchr(p, sep, (size_t)(end - p));
		size_t wl = q ? (size_t)(q - p) : (size_t)(end - p);

		if (wl == tl && memcmp(p, tok, tl) == 0)
			return 1;
		if (!q)
			break;
		p = q + 1;
	}
	return 0;
}

/* ---- detection ---- */

struct mount {
	char *root, *point, *fstype, *super;
};

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void
unescape(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/* "id parent maj:min root point opts [optional...] - fstype source super", in place */
static int
parse_mount(char *line, struct mount *m)
{
	char *f[6], *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n < 6)
		return -EINVAL;
	while (t && strcmp(t, "-") != 0)
		t = strtok_r(NULL, " ", &save);
	if (!t || !(m->fstype = strtok_r(NULL, " ", &save)) || !strtok_r(NULL, " ", &save) ||
	    !(m->super = strtok_r(NULL, " ", &save)))
		return -EINVAL;
	m->root = f[3];
	m->point = f[4];
	unescape(m->root);
	unescape(m->point);
	return 0;
}

/* This process's path in the hierarchy whose /proc/self/cgroup line matches ctrl (NULL:
 * the v2 line "0::"). */
static int
self_path(const char *text, const char *ctrl, char *buf, size_t size)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *eol = strchr(p, '\n');
		size_t len;

		if (!c2 || (eol && c2 > eol))
			continue;
		if (ctrl ? !has_word(c1 + 1, (size_t)(c2 - c1 - 1), ctrl, ',')
			 : !(c1 - p == 1 && *p == '0' && c2 == c1 + 1))
			continue;
		len = eol ? (size_t)(eol - c2 - 1) : strlen(c2 + 1);
		if (len == 0 || len >= size)
			return -EINVAL;
		memcpy(buf, c2 + 1, len);
		buf[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* mount point + (own path below the mount's root) */
static int
join_base(const struct mount *m, const char *own, char *buf, size_t size)
{
	size_t rl = strlen(m->root);
	const char *rel = own;

	if (strcmp(m->root, "/") != 0) {
		if (strncmp(own, m->root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
			return -ENOENT; /* our group is not visible through this mount */
		rel = own + rl;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	return al_cgroup_fmt(buf, size, "%s%s", m->point, rel);
}

struct found {
	unsigned v1_mask, v2_mask; /* controllers seen per version */
	struct al_buf why;	   /* reasons a version with every controller is unusable */
};

#define ALL_CTRLS ((1u << AL_CG_NCTRL) - 1)

static unsigned
ctrl_mask(const char *list, size_t len, char sep)
{
	unsigned mask = 0;

	for (int c = 0; c < AL_CG_NCTRL; c++)
		if (has_word(list, len, ctrl_names[c], sep))
			mask |= 1u << c;
	return mask;
}

static void
set_base_all(struct al_cgroup_host *h, const char *base)
{
	for (int c = 0; c < AL_CG_NCTRL; c++)
		snprintf(h->base[c], sizeof(h->base[c]), "%s", base);
}

static int
dir_has_self_only(const char *dir, pid_t self)
{
	char procs[64], want[24];
	ssize_t n = al_cgroup_read_text(dir, "cgroup.procs", procs, sizeof(procs));

	snprintf(want, sizeof(want), "%d\n", (int)self);
	return n > 0 && strcmp(procs, want) == 0;
}

/* The no-internal-process rule: a non-root v2 group with processes cannot give its
 * children controllers. See al_cgroup_detect. */
static int
v2_delegate(const struct al_cgroup_probe *in, const char *dir, struct al_cgroup_host *h,
	    struct found *f)
{
	static const char enable[] = "+memory +pids +cpu";
	char path[PATH_MAX], leaf[PATH_MAX];
	const char *slash = strrchr(dir, '/');
	int r;

	if (al_cgroup_fmt(path, sizeof(path), "%s/cgroup.type", dir) < 0)
		return 0;
	if (access(path, F_OK) < 0) { /* only the root group has no type */
		r = al_cgroup_write_text(dir, "cgroup.subtree_control", enable);
		if (r == 0) {
			set_base_all(h, dir);
			return 1;
		}
		al_buf_printf(&f->why, "cgroups: v2: cannot enable memory pids cpu in %s: %s\n",
			      dir, strerror(-r));
		return 0;
	}
	if (slash && strcmp(slash + 1, SUPERVISOR) == 0) {
		snprintf(path, sizeof(path), "%.*s", (int)(slash - dir), dir);
		set_base_all(h, path);
		return 1;
	}
	if (in->self > 0 && dir_has_self_only(dir, in->self) &&
	    al_cgroup_fmt(leaf, sizeof(leaf), "%s/" SUPERVISOR, dir) == 0 &&
	    (mkdir(leaf, 0755) == 0 || errno == EEXIST) &&
	    al_cgroup_fmt(path, sizeof(path), "%d", in->self) == 0 &&
	    al_cgroup_write_text(leaf, "cgroup.procs", path) == 0 &&
	    al_cgroup_write_text(dir, "cgroup.subtree_control", enable) == 0) {
		set_base_all(h, dir);
		return 1;
	}
	al_buf_printf(&f->why,
		      "cgroups: v2: %s holds other processes, so it cannot give per-run groups "
		      "controllers; start airlock alone in a delegated cgroup (systemd: "
		      "Delegate=yes): it moves itself into %s/" SUPERVISOR "\n",
		      dir, dir);
	return 0;
}

static int
detect_v2(const struct al_cgroup_probe *in, struct mount *m, const char *selfcg,
	  struct al_cgroup_host *h, struct found *f)
{
	char own[PATH_MAX], dir[PATH_MAX], ctrls[256];
	ssize_t n;

	if (self_path(selfcg, NULL, own, sizeof(own)) < 0 ||
	    join_base(m, own, dir, sizeof(dir)) < 0)
		return 0;
	n = al_cgroup_read_text(dir, "cgroup.controllers", ctrls, sizeof(ctrls));
	if (n < 0)
		return 0;
	while (n > 0 && ctrls[n - 1] == '\n')
		ctrls[--n] = '\0';
	f->v2_mask |= ctrl_mask(ctrls, (size_t)n, ' ');
	if (ctrl_mask(ctrls, (size_t)n, ' ') != ALL_CTRLS)
		return 0;
	if (!v2_delegate(in, dir, h, f))
		return 0;
	h->version = 2;
	return 1;
}

static int
v1_usable(struct al_cgroup_host *h, struct found *f)
{
	for (int c = 0; c < AL_CG_NCTRL; c++) {
		if (access(h->base[c], W_OK) < 0) {
			al_buf_printf(
			    &f->why,
			    "cgroups: v1: cannot create groups in %s (%s); hand airlock's user "
			    "a subtree (systemd: Delegate=memory pids cpu; or mkdir and chown "
			    "one and start airlock in it: docs/operations.md)\n",
			    h->base[c], strerror(errno));
			return 0;
		}
	}
	return 1;
}

static int
detect_v1(struct mount *mounts, size_t n_mounts, const char *selfcg, struct al_cgroup_host *h,
	  struct found *f)
{
	char own[PATH_MAX], path[PATH_MAX];
	unsigned got = 0;

	for (int c = 0; c < AL_CG_NCTRL; c++) {
		if (self_path(selfcg, ctrl_names[c], own, sizeof(own)) < 0)
			continue;
		for (size_t i = 0; i < n_mounts && !(got & (1u << c)); i++) {
			struct mount *m = &mounts[i];

			if (strcmp(m->fstype, "cgroup") != 0 ||
			    !has_word(m->super, strlen(m->super), ctrl_names[c], ','))
				continue;
			if (join_base(m, own, h->base[c], sizeof(h->base[c])) == 0)
				got |= 1u << c;
		}
	}
	f->v1_mask |= got;
	if (got != ALL_CTRLS || !v1_usable(h, f))
		return 0;
	h->version = 1;
	h->memsw = al_cgroup_fmt(path, sizeof(path), "%s/memory.memsw.limit_in_bytes",
				 h->base[AL_CG_MEMORY]) == 0 &&
		   access(path, F_OK) == 0;
	return 1;
}

static void
explain(struct al_cgroup_host *h, struct found *f)
{
	size_t len = 0;

	for (int c = 0; c < AL_CG_NCTRL; c++) {
		const char *n = ctrl_names[c];

		if ((f->v1_mask | f->v2_mask) & (1u << c))
			continue;
		al_fixed_printf(h->problems, sizeof(h->problems), &len,
				"cgroups: no %s controller found; mount cgroup v1 %s at "
				"/sys/fs/cgroup/%s or delegate %s in cgroup v2 (systemd: "
				"Delegate=yes)\n",
				n, n, n, n);
	}
	if (len == 0 && f->v1_mask != ALL_CTRLS && f->v2_mask != ALL_CTRLS)
		al_fixed_printf(h->problems, sizeof(h->problems), &len,
				"cgroups: memory, pids and cpu are split between v1 and v2; "
				"airlock needs all three in one version\n");
	snprintf(h->problems + len, sizeof(h->problems) - len, "%s",
		 f->why.data ? f->why.data : "");
}

int
al_cgroup_detect(const struct al_cgroup_probe *in, struct al_cgroup_host *ret)
{
	_cleanup_free_ char *mi = NULL, *selfcg = NULL;
	_cleanup_free_ struct mount *mounts = NULL;
	struct found f = {0};
	size_t len, n = 0, cap = 0;
	char *line, *save = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = al_file_read(in->mountinfo, MOUNTINFO_MAX, &mi, &len, NULL)) < 0 ||
	    (r = al_file_read(in->self_cgroup, 1 << 16, &selfcg, &len, NULL)) < 0)
		return r;
	for (line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mount m;

		if (parse_mount(line, &m) < 0 ||
		    (strcmp(m.fstype, "cgroup") && strcmp(m.fstype, "cgroup2")))
			continue;
		if (n == cap) {
			struct mount *grown =
			    reallocarray(mounts, cap ? cap * 2 : 16, sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			mounts = grown;
			cap = cap ? cap * 2 : 16;
		}
		mounts[n++] = m;
	}
	al_buf_init(&f.why, sizeof(ret->problems));
	for (size_t i = 0; i < n && !ret->version; i++)
		if (strcmp(mounts[i].fstype, "cgroup2") == 0)
			detect_v2(in, &mounts[i], selfcg, ret, &f);
	if (!ret->version)
		detect_v1(mounts, n, selfcg, ret, &f);
	if (ret->version)
		snprintf(ret->controllers, sizeof(ret->controllers), "memory pids cpu");
	else
		explain(ret, &f);
	al_buf_free(&f.why);
	return 0;
}
/* ---- this process's host ---- */

static struct al_cgroup_host host;
static int host_rc;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* Groups named after a runner that no longer exists; they are empty (their pid namespace
 * died with the runner), so rmdir is all they need. */
static void
sweep_base(const char *base)
{
	char path[PATH_MAX];
	DIR *d = opendir(base);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid;
		unsigned n;
		char end;

		if (sscanf(e->d_name, AL_CGROUP_RUN_PREFIX "%d-%u%c", &pid, &n, &end) != 2 ||
		    pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (al_cgroup_fmt(path, sizeof(path), "%s/%s", base, e->d_name) == 0)
			rmdir(path);
	}
	closedir(d);
}

void
al_cgroup_sweep(const struct al_cgroup_host *h)
{
	for (int c = 0; h->version && c < AL_CG_NCTRL; c++)
		if (c == 0 || strcmp(h->base[c], h->base[c - 1]) != 0)
			sweep_base(h->base[c]);
}

static void
host_detect(void)
{
	struct al_cgroup_probe in = {
	    .mountinfo = "/proc/self/mountinfo",
	    .self_cgroup = "/proc/self/cgroup",
	    .self = getpid(),
	};

	host_rc = al_cgroup_detect(&in, &host);
}

static pthread_once_t sweep_once = PTHREAD_ONCE_INIT;

static void
sweep_host(void)
{
	if (host_rc == 0)
		al_cgroup_sweep(&host);
}

void
al_cgroup_sweep_once(void)
{
	pthread_once(&host_once, host_detect);
	pthread_once(&sweep_once, sweep_host);
}

int
al_cgroup_host(const struct al_cgroup_host **ret, struct al_err *err)
{
	pthread_once(&host_once, host_detect);
	if (host_rc < 0)
		return al_err_set(err, host_rc, "cgroups: reading /proc/self: %s",
				  strerror(-host_rc));
	*ret = &host;
	return 0;
}

const char *
al_cgroup_profile(void)
{
	return "cgroup one fresh group per run below the runner's own (v2, or v1 memory pids "
	       "cpu), removed after\n"
	       "cgroup memory cap memory_bytes, swap 0\n"
	       "cgroup pids cap pids_max\n"
	       "cgroup cpu quota cpu_percent of one core per 100000us period\n"
	       "cgroup a kill at the memory cap makes the run OOM\n";
}
