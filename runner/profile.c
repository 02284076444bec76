/* The sandbox profile: a canonical text of namespaces, mounts, environment, limits and
 * filter, spelled out from the very tables the set-up applies (al_mounts_plan,
 * al_sandbox_env_allow, al_child_rlimits, the cgroup and seccomp profiles). Its digest goes
 * into every grant, so a change to the sandbox changes what a grant vouches for. */
#include <pthread.h>
#include <stdio.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "runner/cgroup.h"
#include "runner/sandbox-int.h"

static char profile_text[16384];

static void
profile_step(size_t *len, const struct al_mount_step *s)
{
	const char *opt = s->flags & AL_MOUNT_OPTIONAL ? " if-present" : "";

	if (s->op == AL_MOUNT_BINDS) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				"mount the run's binds (at most %d), ro or rw, nosuid nodev, at "
				"absolute paths outside /proc\n",
				AL_SANDBOX_MAX_BINDS);
		return;
	}
	al_fixed_printf(profile_text, sizeof(profile_text), len, "mount %s %s",
			al_mounts_op_name(s->op), s->dest);
	if (s->op == AL_MOUNT_FILE) {
		al_fixed_printf(profile_text, sizeof(profile_text), len, " \"");
		for (const char *p = s->src; *p; p++)
			al_fixed_printf(profile_text, sizeof(profile_text), len,
					*p == '\n' ? "\\n" : "%c", *p);
		al_fixed_printf(profile_text, sizeof(profile_text), len, "\"\n");
	} else if (s->op == AL_MOUNT_DISK) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				" tmpfs size=<disk_bytes, default %zu> %s nosuid nodev; every "
				"write of the run counts against it\n",
				AL_SANDBOX_DEFAULT_DISK, s->src);
	} else if (s->op == AL_MOUNT_WORKSPACE) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				" overlay lowerdir=<the run's layers, top first (at most %d: a "
				"setup layer)>:<workspace> upperdir,workdir in the disk (a setup "
				"run: in its kept upper directory) userxattr nosuid nodev\n"
				"mount workspace /work rw-bind from <workspace> when not layered\n"
				"mount workspace /work disk-dir work when no workspace\n",
				AL_SANDBOX_MAX_LAYERS);
	} else if (s->op == AL_MOUNT_DISK_DIR) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				" from the disk's %s mode=%s nosuid nodev\n", s->src,
				s->flags & AL_MOUNT_STICKY ? "1777" : "0755");
	} else {
		al_fixed_printf(profile_text, sizeof(profile_text), len, "%s%s%s%s\n",
				s->src ? " from " : "", s->src ? s->src : "", opt,
				s->flags & AL_MOUNT_SYSTEM ? " (the image's, when the run has one)"
							   : "");
	}
}

static void
profile_build(void)
{
	size_t len = 0;

	al_fixed_printf(
	    profile_text, sizeof(profile_text), &len,
	    "airlock sandbox profile v1\n"
	    "namespaces user pid mount net ipc uts cgroup\n"
	    "ids 0 inside maps to one unprivileged host id; setgroups deny\n"
	    "hostname " AL_SANDBOX_HOSTNAME "\n"
	    "network none (loopback down); with egress (the policy's egress, in its "
	    "digest): loopback up, one listener at 127.0.0.1:3128 handed to the egress "
	    "proxy before the command starts, the proxy variables and its CA's bundle at "
	    "/etc/ssl/certs/ca-certificates.crt\n");
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"mount root tmpfs %s nosuid nodev, read-only once built\n",
			AL_SANDBOX_NEWROOT_OPTS);
	for (size_t i = 0; i < al_mounts_plan_len; i++)
		profile_step(&len, &al_mounts_plan[i]);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"pivot_root; old root detached\n"
			"binds keep their host's locked flags; ro binds nosuid nodev\n"
			"cwd /work\n");
	for (size_t i = 0; i < al_sandbox_env_allow_len; i++)
		al_fixed_printf(profile_text, sizeof(profile_text), &len, "env %s\n",
				al_sandbox_env_allow[i]);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"env plus the run's env_extra; nothing else from the host\n");
	for (size_t i = 0; i < al_child_rlimits_len; i++)
		al_fixed_printf(profile_text, sizeof(profile_text), &len, "rlimit %s %llu\n",
				al_child_rlimits[i].name,
				(unsigned long long)al_child_rlimits[i].value);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"caps none (bounding, ambient, inheritable, permitted, effective)\n"
			"securebits noroot noroot-locked\n"
			"no_new_privs 1\n"
			"session setsid\n"
			"fds 0=/dev/null 1=stdout-pipe 2=stderr-pipe, all others closed\n"
			"signals default dispositions, none blocked\n"
			"timeout wall clock, whole pid namespace killed\n"
			"output stdout and stderr each kept as head and tail within the cap\n");
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"%scgroup defaults memory %zu pids %u cpu %u%%\n"
			"cgroup namespace rooted at the run's group\n"
			"cgroup none usable: the run is refused\n",
			al_cgroup_profile(), AL_SANDBOX_DEFAULT_MEMORY, AL_SANDBOX_DEFAULT_PIDS,
			AL_SANDBOX_DEFAULT_CPU_PERCENT);
	al_fixed_printf(profile_text, sizeof(profile_text), &len, "%s", al_seccomp_profile());
}

const char *
al_profile_text(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, profile_build);
	return profile_text;
}
