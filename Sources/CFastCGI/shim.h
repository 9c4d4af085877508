// The part of libfcgi the worker uses: the reentrant FCGX_ request API only, never fcgi_stdio.
#include <fcgiapp.h>
#include <signal.h>
#include <sys/prctl.h>

// prctl is variadic and so not callable from Swift: a worker started by the master asks
// for SIGTERM when the master dies.
static inline int cfastcgi_set_parent_death_signal(void) {
    return prctl(PR_SET_PDEATHSIG, SIGTERM);
}

// accept4 is declared only under _GNU_SOURCE, which Swift's Glibc module is not built with;
// the worker accepts its connections itself, close-on-exec from the start.
#include <sys/socket.h>
extern int accept4(int fd, struct sockaddr *addr, socklen_t *length, int flags);
static inline int cfastcgi_accept_cloexec(int fd, struct sockaddr *addr, socklen_t *length) {
    return accept4(fd, addr, length, SOCK_CLOEXEC);
}

// ppoll is likewise GNU-only in glibc's headers. The worker waits with the control signals
// let in for the wait only, in one call: poll between two sigprocmask calls costs two
// system calls more on every turn of its loop.
#include <poll.h>
#include <time.h>
extern int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask);
static inline int cfastcgi_poll_with_mask(struct pollfd *fds, nfds_t count, int milliseconds, const sigset_t *mask) {
    struct timespec timeout = {milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L};
    return ppoll(fds, count, milliseconds < 0 ? NULL : &timeout, mask);
}
