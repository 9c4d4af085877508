// The part of libpq the bench uses: a connection, prepared statements, results.
#include <libpq-fe.h>
