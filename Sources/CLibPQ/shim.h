// The part of libpq the PostgreSQL stores use: connections, parameterised statements, results.
#include <libpq-fe.h>
