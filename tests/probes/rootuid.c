/* probe=rootuid: being uid 0 inside is not being root. Our uid must map to a host uid other
 * than 0; after setuid(0) no capability is effective; no other uid or group list can be
 * taken; and a file that host root owns (the harness puts /work/rootfile there, else
 * /etc/passwd stands in) cannot be opened for writing or have its mode or owner changed.
 * Nothing is written, and mode and owner are set to what they are. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The host uid that our uid 0 maps to, or -1 when 0 is not mapped. */
static long
host_uid_of_root(void)
{
	long inside, outside, count, r = -1;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (!f)
		return -1;
	while (fscanf(f, "%ld %ld %ld", &inside, &outside, &count) == 3)
		if (inside == 0 && count > 0)
			r = outside;
	fclose(f);
	return r;
}

static unsigned long long
capeff(void)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

int
main(void)
{
	const char *target = access("/work/rootfile", F_OK) == 0 ? "/work/rootfile" : "/etc/passwd";
	long host = host_uid_of_root();
	int set0 = setuid(0) == 0;
	unsigned long long caps = capeff();
	int other_uid = setresuid(1000, 1000, 1000) == 0;
	int groups = setgroups(0, NULL) == 0;
	struct stat st;
	int fd, wr_err = 0, chmod_err = 0, chown_err = 0;

	if (stat(target, &st) < 0) {
		printf("probe=rootuid result=error step=stat errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	fd = open(target, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else
		wr_err = errno;
	chmod_err = chmod(target, st.st_mode & 07777) < 0 ? errno : 0;
	chown_err = chown(target, st.st_uid, st.st_gid) < 0 ? errno : 0;
	int root =
	    host == 0 || caps != 0 || other_uid || groups || !wr_err || !chmod_err || !chown_err;

	printf("probe=rootuid result=%s errno=%s host_uid=%ld setuid0=%s capeff=%llx "
	       "setresuid=%s setgroups=%s chmod=%s chown=%s file=%s\n",
	       root ? "allowed" : "blocked", wr_err ? strerrorname_np(wr_err) : "0", host,
	       set0 ? "ok" : "failed", caps, other_uid ? "ok" : "failed", groups ? "ok" : "failed",
	       chmod_err ? strerrorname_np(chmod_err) : "0",
	       chown_err ? strerrorname_np(chown_err) : "0", target);
	return root ? 1 : 0;
}
