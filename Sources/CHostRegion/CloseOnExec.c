// accept4 and pipe2 with close-on-exec, which Swift's Glibc module leaves out (GNU extensions).

#define _GNU_SOURCE
#include "CloseOnExec.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int chr_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int chr_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
