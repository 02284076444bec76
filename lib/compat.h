/* What glibc has and musl (the lean front's libc, see the Makefile) lacks, for both. */
#pragma once

/* renameat2's flag, which musl's stdio.h does not define */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* errno's symbolic name ("EPERM"), the way messages and records name a failed call:
 * e's name, or NULL for a number that is no errno: Linux's names, as glibc's
 * strerrorname_np gives them (check_lib holds the two together); musl has no such call. */
const char *al_errno_name(int e);

/* close_range(2), which musl's headers do not declare: 0 or -1 with errno. */
int al_close_range(unsigned first, unsigned last, int flags);

/* renameat2(2), which musl's headers do not declare: 0 or -1 with errno. */
int al_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		 unsigned flags);
