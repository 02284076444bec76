/* probe=otherws: another sandbox running at the same time is out of reach. Run as
 * "otherws hold MARKER" it is that other sandbox: it leaves /tmp/otherws-MARKER in its own
 * /tmp, says it is ready in its workspace and waits (at most 20 s) for the harness to put
 * "stop" there. Run plainly it is the probe: the holder's workspace by its host path
 * (PROBE_OTHER_WS, where the harness left secret.txt), the holder's /tmp file and the
 * holder's processes (any command line with "hold" and PROBE_OTHER_MARKER, or any
 * otherws holder when the marker is not given) must all be invisible. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *
errname(int e)
{
	return e ? strerrorname_np(e) : "0";
}

static int
hold(const char *marker)
{
	struct timespec tick = {.tv_nsec = 20 * 1000 * 1000};
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/tmp/otherws-%s", marker);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) < 0 ||
	    (fd = open("ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		printf("probe=otherws result=error step=hold errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	close(fd);
	for (int i = 0; i < 1000 && access("stop", F_OK) < 0; i++)
		nanosleep(&tick, NULL);
	printf("probe=otherws result=held marker=%s\n", marker);
	return 0;
}

/* Visible processes whose command line holds both "hold" and marker (any marker when
 * NULL). */
static int
holders(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, "otherws hold") && (!marker || strstr(buf, marker)))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	const char *ws = getenv("PROBE_OTHER_WS"), *marker = getenv("PROBE_OTHER_MARKER");
	char path[512];
	int ws_err = -1, tmp_seen = 0, procs, fd;

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2]);
	if (ws && *ws) {
		snprintf(path, sizeof(path), "%s/secret.txt", ws);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ws_err = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}
	if (marker && *marker) {
		snprintf(path, sizeof(path), "/tmp/otherws-%s", marker);
		tmp_seen = access(path, F_OK) == 0;
	}
	procs = holders(marker && *marker ? marker : NULL);
	int reached = ws_err == 0 || tmp_seen || procs;

	printf("probe=otherws result=%s errno=%s other_tmp=%s other_procs=%d\n",
	       reached ? "allowed" : "blocked", ws_err < 0 ? "unset" : errname(ws_err),
	       tmp_seen ? "visible" : "hidden", procs);
	return reached ? 1 : 0;
}
