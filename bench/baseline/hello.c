/*
 * bench/baseline/hello.c - the smallest useful libfcgi responder.
 *
 * The yardstick for bench/run: the same FastCGI transport as the service
 * (libfcgi on fd 0 behind nginx, one request at a time per process), with no
 * framework, routing, JSON encoding, logging or database. Whatever the service
 * costs beyond this is the price of the application itself.
 *
 * Every request, whatever its method or path, is answered with
 *     Status: 200 OK
 *     Content-Type: application/json
 *     Content-Length: 28
 *     {"message": "Hello, World!"}
 *
 * Build:  cc -O2 -Wall -o hello-fcgi hello.c -lfcgi
 * Run:    spawn-fcgi -s /path/to.sock -M 0660 -F 2 -- ./hello-fcgi
 *
 * The listening socket is fd 0 (FCGI_LISTENSOCK_FILENO), as spawn-fcgi and
 * `tasks-api serve` provide it. SIGTERM ends the process between or during
 * requests; that is fine for a benchmark baseline.
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>

static const char body[] = "{\"message\": \"Hello, World!\"}";

int main(void)
{
    FCGX_Request request;

    signal(SIGPIPE, SIG_IGN);   /* a client that went away must not kill us */

    if (FCGX_Init() != 0)
        return 1;
    if (FCGX_InitRequest(&request, 0 /* fd 0 */, 0) != 0)
        return 1;

    /* The whole response is the same every time: build it once. */
    char response[256];
    int rlen = snprintf(response, sizeof response,
                        "Status: 200 OK\r\n"
                        "Content-Type: application/json\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Content-Length: %zu\r\n"
                        "\r\n"
                        "%s",
                        sizeof body - 1, body);
    if (rlen < 0 || (size_t)rlen >= sizeof response)
        return 1;

    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(response, rlen, request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
