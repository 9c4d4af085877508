/*
 * bench/baseline/hello.c - a plain libfcgi responder, the floor of bench/run.
 *
 * The same FastCGI transport as the service (libfcgi on fd 0 behind nginx, one
 * request at a time per process) doing the same work with nothing else:
 *
 *   GET  /api/hello      {"message": "Hello, World!"}
 *   GET  /api/protected  HS256 bearer token: signature, alg, exp and nbf only
 *                        (no type, no revocation list, no user lookup)
 *   POST /api/tasks      validate a flat JSON task (title 1..100, description
 *                        <= 500, priority 1..5, completed bool, nothing else)
 *                        and insert it into SQLite (WAL, synchronous=NORMAL);
 *                        no authentication, the row gets user_id 1
 *
 * No log, no request id, no rate limit, no CORS. Whatever a peer costs beyond
 * this is the price of what it does on top.
 *
 * Build:  cc -O2 -Wall -o hello-fcgi hello.c -lfcgi -lcrypto -lsqlite3
 * Run:    JWT_SECRET_KEY=... BENCH_DB=/path/to.sqlite \
 *             spawn-fcgi -s /path/to.sock -M 0660 -F 2 -- ./hello-fcgi
 */
#include <fcgiapp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *secret;
static sqlite3 *db;
static sqlite3_stmt *insert;

static void reply(FCGX_Request *r, const char *status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "Status: %s\r\n"
                     "Content-Type: application/json\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     status, strlen(body));
    FCGX_PutStr(head, n, r->out);
    FCGX_PutS(body, r->out);
}

/* base64url without padding into out; returns the length or -1. */
static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    unsigned int acc = 0;
    int bits = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len >= cap) return -1;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    return (int)len;
}

/* The number after "key": in a flat JSON object, or def when absent. */
static double number_claim(const char *json, const char *key, double def)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return def;
    p += strlen(pattern);
    while (*p == ' ' || *p == ':') p++;
    return strtod(p, NULL);
}

static int token_ok(const char *auth)
{
    if (!auth || strncmp(auth, "Bearer ", 7) != 0) return 0;
    const char *tok = auth + 7;
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.')) return 0;

    unsigned char buf[1024];
    int n = b64url_decode(tok, (size_t)(d1 - tok), buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = 0;
    if (!strstr((char *)buf, "\"alg\":\"HS256\"") && !strstr((char *)buf, "\"alg\": \"HS256\"")) return 0;

    unsigned char sig[64], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int siglen = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
    if (siglen != 32) return 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tok, (size_t)(d2 - tok), mac, &maclen);
    if (maclen != 32 || CRYPTO_memcmp(mac, sig, 32) != 0) return 0;

    n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = 0;
    double now = (double)time(NULL);
    if (now >= number_claim((char *)buf, "exp", 1e300)) return 0;
    if (now < number_claim((char *)buf, "nbf", 0)) return 0;
    return 1;
}

/* A JSON string value starting at *p (after the quote); unescaped into out. */
static int parse_string(const char **p, char *out, size_t cap, size_t *chars)
{
    size_t len = 0;
    *chars = 0;
    for (const char *s = *p; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            out[len] = 0;
            *p = s + 1;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            s++;
            switch (*s) {
            case '"': case '\\': case '/': c = (unsigned char)*s; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            default: return -1; /* \u escapes: not needed by the benchmark's bodies */
            }
        }
        if (len + 1 >= cap) return -1;
        out[len++] = (char)c;
        if ((c & 0xC0) != 0x80) (*chars)++;
    }
    return -1;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

/* Validates a task body; fills the columns. Returns NULL or the error body. */
static const char *parse_task(const char *body, char *title, char *description, long *priority, int *completed)
{
    static const char invalid[] = "{\"error\": \"Bad Request\", \"message\": \"Validation failed.\"}";
    const char *p = body;
    int have_title = 0;
    char key[32];
    size_t chars;
    *priority = 3;
    *completed = 0;
    description[0] = 0;
    skip_ws(&p);
    if (*p++ != '{') return invalid;
    skip_ws(&p);
    if (*p == '}') return invalid;
    for (;;) {
        skip_ws(&p);
        if (*p++ != '"' || parse_string(&p, key, sizeof key, &chars) != 0) return invalid;
        skip_ws(&p);
        if (*p++ != ':') return invalid;
        skip_ws(&p);
        if (strcmp(key, "title") == 0 || strcmp(key, "description") == 0) {
            int is_title = key[0] == 't';
            char *out = is_title ? title : description;
            if (*p++ != '"' || parse_string(&p, out, 2048, &chars) != 0) return invalid;
            if (is_title ? (chars < 1 || chars > 100) : chars > 500) return invalid;
            if (is_title) have_title = 1;
        } else if (strcmp(key, "priority") == 0) {
            char *end;
            if (*p < '0' || *p > '9') return invalid;
            *priority = strtol(p, &end, 10);
            if (*end == '.' || *end == 'e' || *end == 'E' || *priority < 1 || *priority > 5) return invalid;
            p = end;
        } else if (strcmp(key, "completed") == 0) {
            if (strncmp(p, "true", 4) == 0) { *completed = 1; p += 4; }
            else if (strncmp(p, "false", 5) == 0) { *completed = 0; p += 5; }
            else return invalid;
        } else {
            return invalid;
        }
        skip_ws(&p);
        if (*p == ',') { p++; continue; }
        if (*p++ != '}') return invalid;
        skip_ws(&p);
        return *p == 0 && have_title ? NULL : invalid;
    }
}

static void create_task(FCGX_Request *r)
{
    const char *ct = FCGX_GetParam("CONTENT_TYPE", r->envp);
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
    long length = cl ? strtol(cl, NULL, 10) : 0;
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        reply(r, "415 Unsupported Media Type", "{\"error\": \"Unsupported Media Type\"}");
        return;
    }
    if (length <= 0 || length > 65536) {
        reply(r, "400 Bad Request", "{\"error\": \"Bad Request\"}");
        return;
    }
    char body[65537], title[2048], description[2048], out[4096];
    int got = FCGX_GetStr(body, (int)length, r->in);
    body[got > 0 ? got : 0] = 0;
    long priority;
    int completed;
    const char *error = parse_task(body, title, description, &priority, &completed);
    if (error) {
        reply(r, "400 Bad Request", error);
        return;
    }
    sqlite3_bind_text(insert, 1, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, description, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 3, priority);
    sqlite3_bind_int(insert, 4, completed);
    int rc = sqlite3_step(insert);
    sqlite3_reset(insert);
    if (rc != SQLITE_DONE) {
        reply(r, "500 Internal Server Error", "{\"error\": \"Internal Server Error\"}");
        return;
    }
    /* The title goes back as received: the benchmark's titles need no escaping. */
    snprintf(out, sizeof out, "{\"id\": %lld, \"title\": \"%s\", \"priority\": %ld, \"completed\": %s}",
             (long long)sqlite3_last_insert_rowid(db), title, priority, completed ? "true" : "false");
    reply(r, "201 Created", out);
}

static int open_db(const char *path)
{
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
                     " title TEXT NOT NULL, description TEXT NOT NULL, priority INTEGER NOT NULL,"
                     " completed INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    return sqlite3_prepare_v2(db,
                              "INSERT INTO tasks (user_id, title, description, priority, completed, created_at,"
                              " updated_at) VALUES (1, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ'),"
                              " strftime('%Y-%m-%dT%H:%M:%fZ'))",
                              -1, &insert, NULL) == SQLITE_OK ? 0 : -1;
}

int main(void)
{
    FCGX_Request request;

    signal(SIGPIPE, SIG_IGN); /* a client that went away must not kill us */
    secret = getenv("JWT_SECRET_KEY");
    const char *path = getenv("BENCH_DB");
    if (!secret || !*secret || !path || open_db(path) != 0) {
        fprintf(stderr, "hello-fcgi: JWT_SECRET_KEY and a writable BENCH_DB are required\n");
        return 1;
    }
    if (FCGX_Init() != 0 || FCGX_InitRequest(&request, 0 /* fd 0 */, 0) != 0)
        return 1;

    while (FCGX_Accept_r(&request) >= 0) {
        const char *method = FCGX_GetParam("REQUEST_METHOD", request.envp);
        const char *uri = FCGX_GetParam("DOCUMENT_URI", request.envp);
        if (!uri) uri = FCGX_GetParam("SCRIPT_NAME", request.envp);
        method = method ? method : "";
        uri = uri ? uri : "";
        if (strcmp(uri, "/api/hello") == 0 && strcmp(method, "GET") == 0) {
            reply(&request, "200 OK", "{\"message\": \"Hello, World!\"}");
        } else if (strcmp(uri, "/api/protected") == 0 && strcmp(method, "GET") == 0) {
            if (token_ok(FCGX_GetParam("HTTP_AUTHORIZATION", request.envp)))
                reply(&request, "200 OK", "{\"msg\": \"Access granted to protected resource\"}");
            else
                reply(&request, "401 Unauthorized", "{\"error\": \"Unauthorized\"}");
        } else if (strcmp(uri, "/api/tasks") == 0 && strcmp(method, "POST") == 0) {
            create_task(&request);
        } else {
            reply(&request, "404 Not Found", "{\"error\": \"Not Found\"}");
        }
        FCGX_Finish_r(&request);
    }
    return 0;
}
