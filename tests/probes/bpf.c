/* probe=bpf: no BPF program or map can be made, not even the smallest socket filter
 * ("return 0") or a one-slot array. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fd or -errno */
static long
bpf_call(int cmd, union bpf_attr *attr)
{
	long r = syscall(SYS_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : r;
}

int
main(void)
{
	struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	long p, m;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = sizeof(prog) / sizeof(prog[0]);
	attr.license = (uint64_t)(uintptr_t) "GPL";
	p = bpf_call(BPF_PROG_LOAD, &attr);
	if (p >= 0)
		close((int)p);
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	m = bpf_call(BPF_MAP_CREATE, &attr);
	if (m >= 0)
		close((int)m);
	printf("probe=bpf result=%s errno=%s map=%s\n", p >= 0 || m >= 0 ? "allowed" : "blocked",
	       p < 0 ? strerrorname_np((int)-p) : "0", m < 0 ? strerrorname_np((int)-m) : "0");
	return p >= 0 || m >= 0 ? 1 : 0;
}
