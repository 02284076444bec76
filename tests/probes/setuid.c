/* probe=setuid: executing a set-user-ID-root program gains nothing. The probe picks the
 * first such program under /usr/bin (passwd, su, mount, ... on Debian), runs it as an
 * unprivileged user, stops it once exec is done and reads its credentials from /proc
 * before killing it: its effective uid must stay what it was and its effective
 * capabilities empty.
 *
 * The stop cannot come too late: the program's stdout and stderr are a pipe filled to the
 * brim that nobody reads, so its usage text (or any error) blocks it before it can exit.
 * SIGSTOP lands either before its first instruction or in that write (passwd, the first
 * candidate, changes no credential before printing its usage). ptrace would not do: a
 * traced exec ignores the set-uid bit, and the sandbox's filter refuses ptrace anyway. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const candidates[] = {
    "/usr/bin/passwd", "/usr/bin/su",	   "/usr/bin/mount",  "/usr/bin/chsh",
    "/usr/bin/chfn",   "/usr/bin/gpasswd", "/usr/bin/newgrp", "/usr/bin/umount",
};

/* Effective uid and CapEff of pid from /proc; 0 on success. */
static int
read_creds(pid_t pid, long *ret_euid, unsigned long long *ret_capeff)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %*s %ld", ret_euid) == 1)
			found |= 1;
		else if (sscanf(line, "CapEff: %llx", ret_capeff) == 1)
			found |= 2;
	}
	fclose(f);
	return found == 3 ? 0 : -1;
}

/* The child: drop to an id the set-uid bit would lift when we are root (on the host),
 * tell the parent the euid it execs with, exec with its output going to the full pipe. */
static _Noreturn void
child(const char *prog, int report, int full)
{
	int null = open("/dev/null", O_RDWR);
	long me;

	dup2(null, 0);
	dup2(full, 1);
	dup2(full, 2);
	if (geteuid() == 0 && setgid(65534) == 0)
		(void)!setuid(65534);
	me = (long)geteuid();
	if (write(report, &me, sizeof(me)) == (ssize_t)sizeof(me))
		execl(prog, prog, "--help", (char *)NULL);
	_exit(127);
}

/* A pipe with no room left, not even for one byte; its write end blocks from then on.
 * 0 on success. */
static int
full_pipe(int ret_fds[2])
{
	static const char page[4096];

	if (pipe2(ret_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	while (write(ret_fds[1], page, sizeof(page)) > 0)
		;
	/* a page-sized write can fail where a smaller one still fits */
	while (write(ret_fds[1], page, 1) > 0)
		;
	if (errno != EAGAIN)
		return -1;
	return fcntl(ret_fds[1], F_SETFL, 0);
}

static int
fail(pid_t p, const char *step)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	printf("probe=setuid result=error step=%s\n", step);
	return 2;
}

int
main(void)
{
	const char *prog = NULL;
	struct statvfs sv;
	struct stat st;
	unsigned long long capeff = 0;
	long before = -1, euid = -1;
	int fds[2], out[2], status, nosuid = 0, gained;
	char c;
	pid_t p;

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !prog; i++)
		if (stat(candidates[i], &st) == 0 && (st.st_mode & S_ISUID))
			prog = candidates[i];
	if (!prog) {
		printf("probe=setuid result=error step=find none-setuid\n");
		return 2;
	}
	if (statvfs(prog, &sv) == 0)
		nosuid = (sv.f_flag & ST_NOSUID) != 0;
	if (full_pipe(out) < 0 || pipe2(fds, O_CLOEXEC) < 0 || (p = fork()) < 0) {
		printf("probe=setuid result=error step=fork errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	if (p == 0)
		child(prog, fds[1], out[1]);
	close(fds[1]);
	close(out[1]);
	/* end of file on the pipe: exec has replaced the child; stop it right there, or in
	 * its first write at the latest (out[0] stays open and unread until it is killed) */
	if (read(fds[0], &before, sizeof(before)) != (ssize_t)sizeof(before) ||
	    read(fds[0], &c, 1) != 0 || kill(p, SIGSTOP) < 0)
		return fail(p, "exec");
	close(fds[0]);
	if (waitpid(p, &status, WUNTRACED) != p || !WIFSTOPPED(status))
		return fail(p, "stop");
	if (read_creds(p, &euid, &capeff) < 0)
		return fail(p, "creds");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	close(out[0]);
	gained = euid != before || capeff != 0;
	printf("probe=setuid result=%s prog=%s euid=%ld->%ld capeff=%llx nosuid=%s\n",
	       gained ? "allowed" : "blocked", prog, before, euid, capeff, nosuid ? "yes" : "no");
	return gained ? 1 : 0;
}
