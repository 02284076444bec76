/* probe=sandbox_up, the gate the probe suite runs before anything else: this process sits
 * in namespaces other than the host's (whose inode numbers the harness passes in
 * HOST_NS_USER, HOST_NS_PID, ...), under a seccomp filter, with no_new_privs and no
 * effective capabilities. "blocked" means all of that holds. Run bare on the host it says
 * "allowed", which is how the harness shows the gate can fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *name, *env;
} namespaces[] = {
    {"user", "HOST_NS_USER"},	  {"pid", "HOST_NS_PID"}, {"net", "HOST_NS_NET"},
    {"mnt", "HOST_NS_MNT"},	  {"ipc", "HOST_NS_IPC"}, {"uts", "HOST_NS_UTS"},
    {"cgroup", "HOST_NS_CGROUP"},
};

/* The number after "name:" in /proc/self/status, or -1 when the line is missing. */
static long long
status_field(const char *name, int base)
{
	char line[256];
	size_t n = strlen(name);
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, base);
			break;
		}
	fclose(f);
	return v;
}

int
main(void)
{
	char shared[128] = "";
	size_t len = 0;
	long long seccomp, nnp, capeff;
	int n_shared = 0, up;

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
		const char *host = getenv(namespaces[i].env);
		char path[64], *end;
		unsigned long long ino;
		struct stat st;

		if (!host || !*host) {
			printf("probe=sandbox_up result=error step=env missing=%s\n",
			       namespaces[i].env);
			return 2;
		}
		errno = 0;
		ino = strtoull(host, &end, 10);
		if (errno || *end || ino == 0) {
			printf("probe=sandbox_up result=error step=env bad=%s\n",
			       namespaces[i].env);
			return 2;
		}
		snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i].name);
		if (stat(path, &st) < 0) {
			printf("probe=sandbox_up result=error step=stat ns=%s errno=%s\n",
			       namespaces[i].name, strerrorname_np(errno));
			return 2;
		}
		if ((unsigned long long)st.st_ino == ino) {
			n_shared++;
			len += (size_t)snprintf(shared + len, sizeof(shared) - len, "%s%s",
						len ? "," : "", namespaces[i].name);
		}
	}
	seccomp = status_field("Seccomp", 10);
	nnp = status_field("NoNewPrivs", 10);
	capeff = status_field("CapEff", 16);
	up = n_shared == 0 && seccomp == 2 && nnp == 1 && capeff == 0;
	printf("probe=sandbox_up result=%s shared_ns=%s seccomp=%lld no_new_privs=%lld "
	       "capeff=%llx\n",
	       up ? "blocked" : "allowed", n_shared ? shared : "none", seccomp, nnp,
	       (unsigned long long)capeff);
	return up ? 0 : 1;
}
