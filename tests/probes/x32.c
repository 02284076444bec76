/* probe=x32, run by the probe suite: a system call with the x32 bit set (0x40000000), the
 * other ABI an x86_64 filter must not let through. The filter must kill the process
 * (SIGSYS) whether or not the kernel has x32 (without it the kernel would only say ENOSYS).
 * If the call returns at all, the probe says "allowed". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
#if defined(__x86_64__)
	long ret;

	printf("probe=x32 result=calling syscall=getpid\n");
	fflush(stdout);
	ret = syscall(0x40000000L | SYS_getpid);
	printf("probe=x32 result=allowed ret=%ld errno=%s\n", ret,
	       ret < 0 ? strerrorname_np(errno) : "0");
	return 1;
#else
	printf("probe=x32 result=blocked arch=not-x86_64\n");
	return 0;
#endif
}
