#!/usr/bin/env bash
# deploy/spawn-fcgi.sh [SOCKET] [WORKERS]
#
# Local testing without systemd and without the `tasks-api serve` master:
# spawn-fcgi binds the unix socket and forks WORKERS copies of
# `tasks-api worker`, each with the socket as fd 0 (the FastCGI convention).
# Point nginx at it (nginx.conf rendered with the same SOCKET):
#
#   deploy/spawn-fcgi.sh run/tasks-api.sock 2
#   RUN_DIR=$PWD/run SOCKET=$PWD/run/tasks-api.sock scripts/render-nginx-conf nginx.conf run/nginx.conf
#   nginx -p run -c "$PWD/run/nginx.conf" -e run/error.log
#
#   SOCKET   default: <repo>/run/tasks-api.sock
#   WORKERS  default: number of CPUs
#
# Environment:
#   TASKS_API      the binary (default: <repo>/.build/release/tasks-api, else
#                  <repo>/.build/debug/tasks-api)
#   INSTANCE_PATH  default <repo>/instance; passed to the workers with the
#                  rest of the environment (DATABASE_URL, SECRET_KEY, ...)
#   SOCKET_GROUP   as root: the socket's group, one that nginx's user is in
#                  (default tasks-api-fcgi if that group exists, else
#                  www-data with a warning; NGINX_GROUP is the old name)
#   FCGI_USER      as root: the user the workers run as (spawn-fcgi -u/-g).
#                  Unset: they stay root (a warning says so). That user must
#                  be able to write INSTANCE_PATH.
#   MIGRATE=0      skip `tasks-api migrate` before spawning
#   LOG_FILE       the workers' log (default: SOCKET without .sock, plus .log:
#                  run/tasks-api.log). spawn-fcgi points a forked worker's
#                  stdout and stderr at /dev/null, so each worker appends its
#                  lines to this file itself (`tasks-api worker --log-file`;
#                  created 0640, owned by FCGI_USER when set). SIGUSR1 makes
#                  the workers reopen it after a rotation:
#                    kill -USR1 $(cat SOCKET.pids)
#
# Socket permissions (spawn-fcgi would otherwise make it 0640, owned by the
# workers' user, and nginx could not connect):
#   - not root: mode 0660 (-M). nginx run by you (nginx.conf without a
#     `user` line) is the owner, so it may connect; nobody else may.
#   - root: mode 0660, owner FCGI_USER (-U; else root), group SOCKET_GROUP
#     (-G): nginx, which drops to www-data when started as root, may connect
#     if www-data is in that group. (-U/-G exist only for root.)
# Anything that can connect speaks raw FastCGI to the workers and so sets
# REMOTE_ADDR and identity headers as it likes: use a group of its own
# (groupadd --system tasks-api-fcgi; usermod -a -G tasks-api-fcgi www-data).
# Each worker drops a connection silent for FCGI_READ_TIMEOUT seconds (10).
#
# spawn-fcgi forks the workers and exits: they are orphans, nothing restarts
# them, and nothing stops them but a signal. The script prints their PIDs
# and writes them to SOCKET.pids; stop them with
#   kill $(cat SOCKET.pids)
# (SIGTERM; a libfcgi worker exits at once, between requests or in one).
# For supervision (restart on crash, graceful stop, recycling) use
# `tasks-api serve` or systemd (deploy/tasks-api.service) instead.
set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

socket=${1:-$root_dir/run/tasks-api.sock}
workers=${2:-$(nproc 2>/dev/null || echo 2)}
[[ $socket == /* ]] || socket=$PWD/$socket
[[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "spawn-fcgi.sh: WORKERS must be a positive number: $workers" >&2; exit 2; }

command -v spawn-fcgi >/dev/null || { echo "spawn-fcgi.sh: spawn-fcgi is not installed (apt-get install spawn-fcgi)" >&2; exit 1; }

binary=${TASKS_API:-}
if [[ -z $binary ]]; then
    for candidate in "$root_dir/.build/release/tasks-api" "$root_dir/.build/debug/tasks-api"; do
        if [[ -x $candidate ]]; then binary=$candidate; break; fi
    done
fi
[[ -n $binary && -x $binary ]] || { echo "spawn-fcgi.sh: no tasks-api binary (swift build, or set TASKS_API)" >&2; exit 1; }
[[ $binary == /* ]] || binary=$PWD/$binary     # spawn-fcgi exec()s it as given

export INSTANCE_PATH=${INSTANCE_PATH:-$root_dir/instance}
mkdir -p "$INSTANCE_PATH" "$(dirname "$socket")"

log_file=${LOG_FILE:-${socket%.sock}.log}
[[ $log_file == /* ]] || log_file=$PWD/$log_file     # the workers run in $root_dir
mkdir -p "$(dirname "$log_file")"
[[ -e $log_file ]] || (umask 027 && : >>"$log_file")

args=(-s "$socket" -M 0660 -F "$workers" -d "$root_dir")
as_user=()
if [[ $(id -u) -eq 0 ]]; then
    nginx_group=${SOCKET_GROUP:-${NGINX_GROUP:-}}
    if [[ -z $nginx_group ]]; then
        if getent group tasks-api-fcgi >/dev/null; then
            nginx_group=tasks-api-fcgi
        else
            nginx_group=www-data
            echo "spawn-fcgi.sh: warning: no group tasks-api-fcgi; socket group www-data lets everything running as www-data talk FastCGI to the workers" >&2
        fi
    fi
    getent group "$nginx_group" >/dev/null || { echo "spawn-fcgi.sh: no group $nginx_group (set SOCKET_GROUP)" >&2; exit 1; }
    if [[ -n ${FCGI_USER:-} ]]; then
        id "$FCGI_USER" >/dev/null || exit 1
        args+=(-u "$FCGI_USER" -g "$(id -gn "$FCGI_USER")" -U "$FCGI_USER" -G "$nginx_group")
        as_user=(runuser -u "$FCGI_USER" --)
        chown "$FCGI_USER" "$log_file"
    else
        echo "spawn-fcgi.sh: warning: workers run as root; set FCGI_USER=<user> to drop privileges" >&2
        args+=(-G "$nginx_group")
    fi
    # nginx's workers (www-data) must be able to reach the socket's directory.
    chmod o+x "$(dirname "$socket")" 2>/dev/null || true
fi

if [[ ${MIGRATE:-1} != 0 ]]; then
    (cd "$root_dir" && "${as_user[@]}" "$binary" migrate)
fi

# spawn-fcgi refuses a socket that something still listens on, and replaces
# a stale one.
output=$(spawn-fcgi "${args[@]}" -- "$binary" worker --log-file "$log_file" 2>&1) || {
    printf '%s\n' "$output" >&2
    echo "spawn-fcgi.sh: spawn-fcgi failed" >&2
    exit 1
}
printf '%s\n' "$output" >&2

pids=$(printf '%s\n' "$output" | sed -n 's/.*child spawned successfully: PID: \([0-9][0-9]*\).*/\1/p' | tr '\n' ' ')
pids=${pids% }
[[ -n $pids ]] || { echo "spawn-fcgi.sh: no worker started" >&2; exit 1; }
tr ' ' '\n' <<<"$pids" >"$socket.pids"

echo "socket:  $socket ($(stat -c '%A %U:%G' "$socket"))"
echo "workers: $pids"
echo "log:     $log_file    (reopen after rotating: kill -USR1 $pids)"
echo "stop:    kill $pids    # or: kill \$(cat $socket.pids)"
