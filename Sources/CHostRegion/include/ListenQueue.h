// The backlog of a listening socket, read from the kernel.

#ifndef CHOSTREGION_LISTENQUEUE_H
#define CHOSTREGION_LISTENQUEUE_H

#include <stdint.h>

/// The connections waiting in the accept queue of listening socket `fd` and the queue's
/// limit: for a unix socket by `sock_diag` (AF_NETLINK, UDIAG_SHOW_RQLEN), for TCP by
/// `TCP_INFO`. 0, or -1 with errno set.
int chr_listen_queue(int fd, uint32_t *queued, uint32_t *limit);

#endif
