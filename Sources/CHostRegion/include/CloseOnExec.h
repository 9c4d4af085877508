// Descriptors created close-on-exec in one call, so a child spawned meanwhile never inherits them.

#ifndef CHOSTREGION_CLOSEONEXEC_H
#define CHOSTREGION_CLOSEONEXEC_H

/// `accept4(fd, NULL, NULL, SOCK_CLOEXEC)`: the connection, or -1 with errno set.
int chr_accept_cloexec(int fd);

/// `pipe2(fds, O_CLOEXEC)`: 0, or -1 with errno set.
int chr_pipe_cloexec(int fds[2]);

#endif
