/* The sandbox's options checked before anything is made: binds and the environment's
 * directories (al_sandbox_run refuses a run whose options fail here). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/sandbox-int.h"

/* Inside paths: absolute, no "." or ".." parts, not the root itself, nothing of /proc
 * (the kernel's view of the sandbox must stay the kernel's). */
static int
check_inside_path(const char *path)
{
	size_t parts = 0;

	if (path[0] != '/' || strlen(path) >= PATH_MAX - sizeof(AL_SANDBOX_NEWROOT))
		return -EINVAL;
	for (const char *p = path; *p;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (parts++ == 0 && len == 4 && memcmp(p, "proc", 4) == 0)
			return -EINVAL;
		p = end;
	}
	return parts ? 0 : -EINVAL;
}

int
al_sandbox_check_binds(const struct al_sandbox_opts *o, struct al_err *err)
{
	if (o->n_binds > AL_SANDBOX_MAX_BINDS)
		return al_err_set(err, -E2BIG, "sandbox: more than %d binds", AL_SANDBOX_MAX_BINDS);
	if (o->n_binds && !o->binds)
		return al_err_set(err, -EINVAL, "sandbox: binds missing");
	for (size_t i = 0; i < o->n_binds; i++) {
		const struct al_bind *b = &o->binds[i];
		const char *dst = b->dst ? b->dst : b->src;
		struct stat st;

		if (!b->src || b->src[0] != '/')
			return al_err_set(err, -EINVAL, "bind: source '%s' is not absolute",
					  b->src ? b->src : "");
		if (check_inside_path(dst) < 0)
			return al_err_set(err, -EINVAL,
					  "bind: '%s' is not an absolute path below / (without "
					  ". or .. parts) outside /proc",
					  dst);
		if (stat(b->src, &st) < 0)
			return al_err_set(err, -errno, "bind: %s: %s", b->src, strerror(errno));
	}
	return 0;
}

static int
check_dir(const char *what, const char *path, struct al_err *err)
{
	struct stat st;

	if (!path || path[0] != '/')
		return al_err_set(err, -EINVAL, "sandbox: %s '%s' is not absolute", what,
				  path ? path : "");
	if (stat(path, &st) < 0)
		return al_err_set(err, -errno, "sandbox: %s %s: %s", what, path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return al_err_set(err, -ENOTDIR, "sandbox: %s %s: not a directory", what, path);
	return 0;
}

/* The environment's directories: each a directory; layers and a kept upper only over an
 * overlaid workspace. */
int
al_sandbox_check_environment(const struct al_sandbox_opts *o, struct al_err *err)
{
	int r = 0;

	if (o->n_layers > AL_SANDBOX_MAX_LAYERS)
		return al_err_set(err, -E2BIG, "sandbox: more than %d layers",
				  AL_SANDBOX_MAX_LAYERS);
	if ((o->n_layers || o->upper_dir) && !(o->workspace && o->workspace_overlay))
		return al_err_set(err, -EINVAL,
				  "sandbox: layers and an upper directory need an overlaid "
				  "workspace");
	if (o->root_image)
		r = check_dir("image", o->root_image, err);
	for (size_t i = 0; r == 0 && i < o->n_layers; i++)
		r = check_dir("layer", o->layers ? o->layers[i] : NULL, err);
	if (r == 0 && o->upper_dir)
		r = check_dir("upper directory", o->upper_dir, err);
	return r;
}
