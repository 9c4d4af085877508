// libpq's functions, resolved from libpq.so.5 with dlopen on first use instead of at start-up.
//
// Linking libpq loads it and the libraries it needs (OpenSSL, GnuTLS, Kerberos, LDAP, ...)
// into every process at start-up: about 5 MiB of resident memory per worker, of which
// 0.8 MiB private, even when the service runs on SQLite. Here each PQ function the stores
// call is defined in the executable, hidden (never exported, so libpq's own calls never
// reach these), and forwards to libpq's definition, looked up once.

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "CLibPQ.h"

#define HIDDEN __attribute__((visibility("hidden")))

static void *library;
static const char *load_error;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *message = dlerror();
        load_error = message ? message : "libpq.so.5 cannot be loaded";
    }
}

HIDDEN const char *CLibPQ_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

// Only reached after CLibPQ_load succeeded: a function missing from libpq.so.5 is a broken
// installation, not an error a request could recover from.
static void *symbol(const char *name) {
    if (CLibPQ_load() != NULL) {
        fprintf(stderr, "tasks-api: %s called without libpq loaded\n", name);
        abort();
    }
    void *found = dlsym(library, name);
    if (!found) {
        fprintf(stderr, "tasks-api: libpq.so.5 has no %s\n", name);
        abort();
    }
    return found;
}

// The address of libpq's `name`, of type `returns (*) parameters`, looked up at the first
// call and kept.
#define RESOLVED(returns, name, parameters)                                              \
    static returns(*function) parameters;                                                \
    returns(*found) parameters = __atomic_load_n(&function, __ATOMIC_ACQUIRE);           \
    if (!found) {                                                                        \
        found = (returns(*) parameters)symbol(#name);                                    \
        __atomic_store_n(&function, found, __ATOMIC_RELEASE);                            \
    }

#define FORWARD(returns, name, parameters, arguments)                                    \
    HIDDEN returns name parameters {                                                     \
        RESOLVED(returns, name, parameters)                                              \
        return found arguments;                                                          \
    }

// C has no `return` of a void expression.
#define FORWARD_VOID(name, parameters, arguments)                                        \
    HIDDEN void name parameters {                                                        \
        RESOLVED(void, name, parameters)                                                 \
        found arguments;                                                                 \
    }

FORWARD(PGconn *, PQconnectdbParams,
        (const char *const *keywords, const char *const *values, int expand_dbname),
        (keywords, values, expand_dbname))
FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn))
FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn))
FORWARD_VOID(PQfinish, (PGconn *conn), (conn))
FORWARD(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg), (conninfo, errmsg))
FORWARD_VOID(PQconninfoFree, (PQconninfoOption *options), (options))
FORWARD(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))
FORWARD(PGresult *, PQprepare,
        (PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes),
        (conn, stmtName, query, nParams, paramTypes))
FORWARD(PGresult *, PQexecPrepared,
        (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
         const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res))
FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
FORWARD_VOID(PQclear, (PGresult *res), (res))
FORWARD(char *, PQcmdTuples, (PGresult *res), (res))
FORWARD(int, PQntuples, (const PGresult *res), (res))
FORWARD(int, PQnfields, (const PGresult *res), (res))
FORWARD(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
FORWARD(Oid, PQftype, (const PGresult *res, int field_num), (res, field_num))
FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))

