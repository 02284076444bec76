/* probe=tiocsti: nothing can be typed into a terminal. The sandbox has no controlling
 * terminal and none of its stdio is one; the ioctl is refused even on a terminal the
 * probe makes for itself (a new pty it owns, in a session it leads), which is the one
 * place the kernel would otherwise allow it. Input is only ever pushed into that private
 * pty: a terminal the probe did not make is never written to. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* The steps of own_pty, for the report. */
static const char *const steps[] = {"none", "setsid", "ptmx", "grantpt", "pts", "tiocsti"};

/* In the child: a new session, a new pty as its controlling terminal, one byte pushed
 * into it. Reports the errno and the step that failed (0, 0 when the byte went in). */
static _Noreturn void
pty_child(int report)
{
	int res[2] = {0, 0}, m, s;
	char c = 'x';

	if (setsid() < 0)
		res[0] = errno, res[1] = 1;
	else if ((m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		res[0] = errno, res[1] = 2;
	else if (grantpt(m) < 0 || unlockpt(m) < 0 || !ptsname(m))
		res[0] = errno, res[1] = 3;
	else if ((s = open(ptsname(m), O_RDWR | O_CLOEXEC)) < 0)
		res[0] = errno, res[1] = 4;
	else if (ioctl(s, TIOCSTI, &c) < 0)
		res[0] = errno, res[1] = 5;
	_exit(write(report, res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1);
}

/* 0 when a byte went into a pty of our own, else the errno; the failing step goes to
 * *ret_step. */
static int
own_pty(const char **ret_step)
{
	int fds[2], res[2] = {EIO, 0};
	pid_t p;

	if (pipe2(fds, O_CLOEXEC) < 0 || (p = fork()) < 0)
		return errno;
	if (p == 0)
		pty_child(fds[1]);
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != (ssize_t)sizeof(res))
		res[0] = EIO, res[1] = 0;
	close(fds[0]);
	waitpid(p, NULL, 0);
	*ret_step = steps[res[1]];
	return res[0];
}

int
main(void)
{
	const char *step = "", *tty_fd = NULL;
	int pty = own_pty(&step), stdio_err = 0, ctty_err = 0, fd;
	char c = 'x';

	/* stdio that is a terminal is itself the finding: never type into it */
	for (int i = 0; i <= 2; i++) {
		if (isatty(i)) {
			tty_fd = (const char *[]){"0", "1", "2"}[i];
			continue;
		}
		if (ioctl(i, TIOCSTI, &c) < 0 && !stdio_err)
			stdio_err = errno;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		close(fd);
	else
		ctty_err = errno;
	int reached = pty == 0 || tty_fd || fd >= 0;

	printf("probe=tiocsti result=%s errno=%s pty=%s%s%s ctty=%s stdio=%s\n",
	       reached ? "allowed" : "blocked", stdio_err ? strerrorname_np(stdio_err) : "0",
	       pty ? strerrorname_np(pty) : "typed", pty ? "@" : "", pty ? step : "",
	       ctty_err ? strerrorname_np(ctty_err) : "present", tty_fd ? tty_fd : "no-tty");
	return reached ? 1 : 0;
}
