/* One file descriptor over a unix socket (SCM_RIGHTS), with a short message. Neither call
 * allocates, so a sandbox init may use them between clone and exec. */
#pragma once

#include <stddef.h>

/* Sends msg (len bytes, at least 1) with fd. 0, or -errno (-EIO when cut short). */
int al_fd_send(int sock, const void *msg, size_t len, int fd);
/* Receives a message of at most cap bytes and the fd it carries (close-on-exec), with
 * recvmsg's flags (MSG_DONTWAIT, ...). *ret_len bytes are in buf. -EPIPE at the end of the
 * stream; -EBADMSG when no single fd came or the message was cut; else -errno. */
int al_fd_recv(int sock, void *buf, size_t cap, int flags, size_t *ret_len, int *ret_fd);
