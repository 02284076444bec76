/* probe=kcore: nothing reveals kernel memory or its layout: /proc/kcore, /proc/kmsg and the
 * page-frame tables cannot be opened, /proc/kallsyms and /proc/modules show only zero
 * addresses, and our own /proc/self/pagemap hides physical frame numbers (the rowhammer
 * defence). Files are opened, never read, except kallsyms, modules and our own pagemap. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 1 when some line of path has a nonzero address in the given column (0 for
 * /proc/kallsyms; 5 for /proc/modules: name size refs deps state address). */
static int
nonzero_address(const char *path, int column)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	for (int n = 0; n < 2000 && !found && fgets(line, sizeof(line), f); n++) {
		char *p = line;
		unsigned long long a = 0;

		for (int c = 0; c < column && p; c++)
			p = strchr(p + 1, ' ');
		/* %llx takes the 0x that /proc/modules puts before its addresses */
		if (p && sscanf(p, " %llx", &a) == 1 && a != 0)
			found = 1;
	}
	fclose(f);
	return found;
}

/* 1 when our own pagemap shows a physical frame for a page we touched. */
static int
pfn_visible(void)
{
	static volatile char page[4096] __attribute__((aligned(4096)));
	uint64_t entry = 0;
	long psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)page / (uintptr_t)psz * sizeof(entry));

	page[0] = 1;
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), off) != (ssize_t)sizeof(entry))
		entry = 0;
	close(fd);
	return (entry >> 63) && (entry & ((1ULL << 55) - 1)) != 0;
}

int
main(void)
{
	static const char *const files[] = {"/proc/kcore", "/proc/kmsg", "/proc/kpagecount",
					    "/proc/kpageflags", "/proc/kpagecgroup"};
	const char *opened = NULL;
	int n = 0, first_err = 0, syms, mods, pfn;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = open(files[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				opened = files[i];
		} else if (!first_err && errno != ENOENT) {
			first_err = errno;
		}
	}
	syms = nonzero_address("/proc/kallsyms", 0);
	mods = nonzero_address("/proc/modules", 5);
	pfn = pfn_visible();
	int leak = n || syms || mods || pfn;

	printf("probe=kcore result=%s errno=%s opened=%d kallsyms=%s modules=%s pagemap=%s%s%s\n",
	       leak ? "allowed" : "blocked", first_err ? strerrorname_np(first_err) : "0", n,
	       syms ? "addresses" : "zeroed", mods ? "addresses" : "zeroed",
	       pfn ? "frames" : "hidden", opened ? " first=" : "", opened ? opened : "");
	return leak ? 1 : 0;
}
