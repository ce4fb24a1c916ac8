#!/bin/sh
# Installs what building and testing kairo needs, if it is missing.
# Debian/Ubuntu only; elsewhere it says what to install and fails.
set -e
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
# The io_uring driver (optional: without liburing kairo builds epoll only).
want_uring=""
[ -f /usr/include/liburing.h ] || want_uring=" liburing-dev"
# kairo-redis's tests and benchmark (optional: without them those tests
# skip): Debian's redis-server (the reference of the differential suite),
# redis-cli and redis-benchmark, hiredis (the C client test), python3-redis
# for /usr/bin/python3, tmux (drives redis-cli for its hint test, and
# kairo-console for its screen test, tests/console/screen_test.py).
want=""
command -v redis-server >/dev/null 2>&1 || want="$want redis-server"
command -v redis-cli >/dev/null 2>&1 || want="$want redis-tools"
[ -f /usr/include/hiredis/hiredis.h ] || want="$want libhiredis-dev"
[ -x /usr/bin/python3 ] || want="$want python3"
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || want="$want python3-redis"
command -v tmux >/dev/null 2>&1 || want="$want tmux"
# kairo-http (apps/kairo-http: not built without http_parser) and its tests
# (curl; wrk for the 1,000-connection case and make bench-http).
[ -f /usr/include/http_parser.h ] || want="$want libhttp-parser-dev"
command -v curl >/dev/null 2>&1 || want="$want curl"
command -v wrk >/dev/null 2>&1 || want="$want wrk"
[ -z "$need$want$want_uring" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    [ -n "$need" ] || {
        [ -z "$want_uring" ] ||
            echo "kairo's io_uring driver wants:$want_uring (epoll only without)" >&2
        [ -z "$want" ] ||
            echo "kairo-redis's tests want:$want (they skip without)" >&2
        exit 0
    }
    echo "kairo needs:$need (install them with your package manager)" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq || true
if [ -n "$need" ]; then
    echo "installing:$need"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
if [ -n "$want_uring" ]; then
    echo "installing (for the io_uring driver):$want_uring"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $want_uring \
        >/dev/null ||
        echo "could not install$want_uring: kairo builds with epoll only" >&2
fi
if [ -n "$want" ]; then
    echo "installing (for kairo-redis, kairo-http and their tests):$want"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $want \
        >/dev/null ||
        echo "could not install$want: kairo-redis's tests will skip" \
            "(kairo-http is not built without libhttp-parser-dev)" >&2
fi
exit 0
