// The part of libfcgi the worker uses: the reentrant FCGX_ request API only, never fcgi_stdio.
#include <fcgiapp.h>
#include <signal.h>
#include <sys/prctl.h>

// prctl is variadic and so not callable from Swift: a worker started by the master asks
// for SIGTERM when the master dies.
static inline int cfastcgi_set_parent_death_signal(void) {
    return prctl(PR_SET_PDEATHSIG, SIGTERM);
}
