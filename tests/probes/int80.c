/* probe=int80, run by the probe suite: a system call through the i386 gate (int 0x80),
 * which a filter written for x86_64 numbers would misread. The filter must kill the
 * process (SIGSYS); a kernel without ia32 emulation faults it first (SIGSEGV). Either way
 * the probe never reaches its second line; if it does, it says "allowed". */
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
#if defined(__x86_64__)
	long ret;

	printf("probe=int80 result=calling syscall=getpid\n");
	fflush(stdout);
	/* getpid is 20 on i386 */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	printf("probe=int80 result=allowed ret=%ld\n", ret);
	return 1;
#else
	printf("probe=int80 result=blocked arch=not-x86_64\n");
	return 0;
#endif
}
