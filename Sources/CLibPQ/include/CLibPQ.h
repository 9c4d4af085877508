// The part of libpq the PostgreSQL stores use, loaded only when the service uses PostgreSQL.
#ifndef CLIBPQ_H
#define CLIBPQ_H

#include <postgresql/libpq-fe.h>

/// Loads libpq (`libpq.so.5`) the first time; later calls return the first answer. NULL
/// when it is loaded, else the dynamic loader's message. Every PQ function declared above
/// may be called only after this returned NULL.
const char *CLibPQ_load(void);

#endif
