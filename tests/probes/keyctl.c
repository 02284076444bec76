/* probe=keyctl: the kernel keyrings, which are not namespaced, are out of reach: no lookup
 * of the user keyring (shared with every process of the same host uid) and no new key.
 * The key would go to this process's own keyring, which dies with it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_USER_KEYRING -4
#define KEY_SPEC_SESSION_KEYRING -3

int
main(void)
{
	long user = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	int user_err = user < 0 ? errno : 0;
	long session = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	int session_err = session < 0 ? errno : 0;
	long key = syscall(SYS_add_key, "user", "airlock-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	int key_err = key < 0 ? errno : 0;
	int reached = user >= 0 || session >= 0 || key >= 0;

	printf("probe=keyctl result=%s errno=%s session=%s add_key=%s\n",
	       reached ? "allowed" : "blocked", user_err ? strerrorname_np(user_err) : "0",
	       session_err ? strerrorname_np(session_err) : "0",
	       key_err ? strerrorname_np(key_err) : "0");
	return reached ? 1 : 0;
}
