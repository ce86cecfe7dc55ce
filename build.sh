#!/usr/bin/env bash
# Build, test and run the agent-runs coordinator.
#
#   ./build.sh deps     install the Debian packages everything needs (root)
#   ./build.sh build    build build/ngx_http_runs_module.so for Debian's nginx,
#                       and agent-runner, runsctl and the echo executor in
#                       build/bin (build/asan: the same under ASan/UBSan)
#   ./build.sh test     build, then run every Test::Nginx suite in t/
#   ./build.sh start    build, then run a coordinator on 127.0.0.1:8765 and
#                       one agent-runner with the echo executor in the
#                       foreground (Ctrl+C stops both)
#   ./build.sh bench    build, then benchmark (under 5 minutes; writes
#                       build/bench/results.{json,md}; docs/PERFORMANCE.md)
#   ./build.sh clean    remove build/
#
# Environment:
#   NGINX_SRC           nginx source tree to build against
#                       (default: /usr/share/nginx/src from nginx-dev)
#   NGINX_BIN           nginx binary to run (default: /usr/sbin/nginx)
#   RUNS_PORT           port for "start" (default: 8765)
#   RUNS_RUNNER=0       "start" runs the coordinator without a runner
#   TEST_VALGRIND=0     skip the valgrind pass of "test"

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$ROOT/build
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
MODULE=$BUILD/ngx_http_runs_module.so

DEBIAN_PACKAGES=(
    nginx nginx-dev build-essential libjansson-dev libpcre2-dev libssl-dev
    zlib1g-dev libcurl4-openssl-dev valgrind curl
    libtest-base-perl libtext-diff-perl libtest-longstring-perl libwww-perl
    libipc-run-perl liblist-moreutils-perl libjson-pp-perl
    wrk
)

CFLAGS_MODULE="-g -O2 -fstack-protector-strong -Wformat \
-Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 \
-Wall -Wextra -Wno-unused-parameter -Werror"

CC=${CC:-cc}
CFLAGS_TOOLS="-std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror -Wshadow \
-Wstrict-prototypes -Wmissing-prototypes -fstack-protector-strong"
CFLAGS_ASAN="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

need_packages() {
    local missing=()
    for p in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$p")
    done
    printf '%s\n' "${missing[@]}"
}

cmd_deps() {
    local missing
    missing=$(need_packages)
    if [ -z "$missing" ]; then
        say "all Debian packages present"
        return
    fi
    [ "$(id -u)" = 0 ] || die "installing packages needs root: sudo $0 deps"
    say "installing: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
    # Debian starts its own nginx on port 80 when installed; ours never
    # touches it, so leave it as the operator configured it.
}

# configure flags of the nginx the module must load into: the nginx-dev
# tree records them in conf_flags, an upstream tree gets --with-compat
nginx_conf_flags() {
    if [ -f "$NGINX_SRC/conf_flags" ]; then
        # shellcheck disable=SC1091
        . "$NGINX_SRC/conf_flags"
        printf '%s\n' "${NGX_CONF_FLAGS[@]}"
    else
        printf '%s\n' --with-compat --with-threads
    fi
}

cmd_build() {
    [ -x "$NGINX_SRC/configure" ] || [ -f "$NGINX_SRC/configure" ] \
        || die "no nginx source tree at $NGINX_SRC: run ./build.sh deps"
    command -v pkg-config >/dev/null 2>&1 || true
    [ -f /usr/include/jansson.h ] || die "jansson headers missing: run ./build.sh deps"

    local tree=$BUILD/nginx
    local stamp=$BUILD/.configured
    local sig
    sig=$(cat "$ROOT/config" "$NGINX_SRC/conf_flags" 2>/dev/null | md5sum | cut -d' ' -f1)

    mkdir -p "$BUILD"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sig" ]; then
        say "configuring against $NGINX_SRC"
        rm -rf "$tree"
        cp -a "$NGINX_SRC" "$tree"
        local flags=()
        mapfile -t flags < <(nginx_conf_flags)
        (cd "$tree" && ./configure "${flags[@]}" \
            --with-cc-opt="$CFLAGS_MODULE" \
            --add-dynamic-module="$ROOT" >"$BUILD/configure.log" 2>&1) \
            || { tail -30 "$BUILD/configure.log"; die "configure failed (see $BUILD/configure.log)"; }
        echo "$sig" >"$stamp"
    fi

    say "compiling ngx_http_runs_module.so"
    make -s -C "$tree" -f objs/Makefile modules >"$BUILD/make.log" 2>&1 \
        || { cat "$BUILD/make.log"; die "compilation failed"; }
    # a new file, not an overwrite: a running nginx keeps its mapping
    cp "$tree/objs/ngx_http_runs_module.so" "$MODULE.new"
    mv -f "$MODULE.new" "$MODULE"
    say "built $MODULE"

    build_tools
}

# one program from the .c files of its directories; rebuilt when any
# source or header of src/ is newer than the binary
build_program() {
    local out=$1 flags=$2 libs=$3; shift 3
    local srcs=() d
    [ -d "$ROOT/$1" ] || return 0           # the program's own directory
    for d in "$@"; do
        [ -d "$ROOT/$d" ] && srcs+=("$ROOT/$d"/*.c)
    done
    [ -e "${srcs[0]}" ] || return 0
    if [ -f "$out" ] && [ -z "$(find "$ROOT/src" -newer "$out" \( -name '*.c' -o -name '*.h' \) -not -path '*/ngx_*' | head -1)" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$out")"
    # shellcheck disable=SC2086
    $CC $flags -I"$ROOT/src" -o "$out.new" "${srcs[@]}" $libs \
        || die "compiling $(basename "$out") failed"
    mv -f "$out.new" "$out"
}

build_tools() {
    local v flags
    for v in bin asan; do
        flags=$CFLAGS_TOOLS
        [ "$v" = asan ] && flags=$CFLAGS_ASAN
        build_program "$BUILD/$v/agent-runner" "$flags" "-lcurl -ljansson" \
            src/runner src/common
        build_program "$BUILD/$v/runsctl" "$flags" "-lcurl -ljansson" \
            src/runsctl src/common
        build_program "$BUILD/$v/agent-executor-echo" "$flags" "-ljansson" \
            src/executors/echo
    done
    [ -x "$BUILD/bin/agent-runner" ] && say "built agent-runner, runsctl, agent-executor-echo in $BUILD/bin and $BUILD/asan"
    return 0
}

# the real Test::Nginx::Socket when installed, else the fallback in t/
test_env() {
    export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$NGINX_BIN}
    export TEST_NGINX_RUNS_MODULE=$MODULE
    # the end-to-end suites run the sanitizer builds of the programs
    export TEST_RUNS_BIN=$BUILD/asan
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
        say "using the installed Test::Nginx::Socket"
    else
        say "Test::Nginx::Socket not installed: using the fallback in t/fallback"
        export PERL5LIB=$ROOT/t/fallback${PERL5LIB:+:$PERL5LIB}
    fi
}

cmd_test() {
    cmd_build
    test_env
    cd "$ROOT"
    say "Test::Nginx suites"
    prove -j1 t/*.t

    if [ "${TEST_VALGRIND:-1}" != 0 ]; then
        valgrind_pass
    fi
}

# nginx's workers (master off, as Test::Nginx runs them) under memcheck;
# valgrind writes its reports to stderr, which is kept and checked here so
# the pass means the same under the real Test::Nginx and the fallback
valgrind_pass() {
    command -v valgrind >/dev/null || die "valgrind missing: run ./build.sh deps"
    local log=$BUILD/valgrind.log
    say "Test::Nginx suites with nginx under valgrind"
    cp "$ROOT/t/valgrind.suppress" "$ROOT/valgrind.suppress"
    TEST_NGINX_USE_VALGRIND=1 prove -j1 t/002-client-api.t t/003-launcher-api.t \
        t/006-stop.t t/013-json.t 2>"$log" || { tail -50 "$log"; die "suites failed under valgrind"; }
    rm -f "$ROOT/valgrind.suppress"
    if grep -E '^==[0-9]+== ' "$log" >/dev/null; then
        grep -E -A12 '^==[0-9]+== ' "$log" | head -80
        die "valgrind reported errors (full output: $log)"
    fi
    say "valgrind: no errors"
}

write_conf() {
    local prefix=$1 port=$2 listen6=""
    # "localhost", the clients' default, may resolve to ::1 first
    if grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then
        listen6="listen [::1]:$port;"
    fi
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp"
    cat >"$prefix/conf/nginx.conf" <<EOF
# generated by build.sh start
load_module $MODULE;

daemon off;
master_process on;
worker_processes 2;
error_log stderr warn;
pid logs/nginx.pid;

events {
    worker_connections 4096;
}

http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

    runs_zone runs 16m;

    server {
        listen 127.0.0.1:$port;
        $listen6

        location /runs      { runs_api runs; }
        location /launcher  { runs_launcher_api runs; }
        location /launchers { runs_launchers_api runs; }
    }
}
EOF
}

cmd_start() {
    cmd_build
    local prefix=$BUILD/run port=${RUNS_PORT:-8765}
    local runner=$BUILD/bin/agent-runner
    [ -x "$runner" ] || die "agent-runner was not built"
    write_conf "$prefix" "$port"
    "$NGINX_BIN" -p "$prefix/" -c conf/nginx.conf -t -q \
        || die "generated configuration rejected"

    # own sessions: Ctrl+C reaches this script only, which stops the
    # runner first (it deregisters) and nginx last
    local nginx_pid runner_pid
    setsid "$NGINX_BIN" -p "$prefix/" -c conf/nginx.conf &
    nginx_pid=$!

    # Ctrl+C: the runner stops its runs and deregisters, then nginx quits
    stop_all() {
        trap - INT TERM EXIT
        [ -n "${runner_pid:-}" ] && kill -TERM "$runner_pid" 2>/dev/null \
            && wait "$runner_pid" 2>/dev/null
        kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
        say "stopped"
    }
    trap 'stop_all; exit 0' INT TERM
    trap stop_all EXIT

    local i
    for i in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/launchers" && break
        kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start"
        sleep 0.1
    done

    if [ "${RUNS_RUNNER:-1}" = 0 ]; then
        say "coordinator on http://127.0.0.1:$port, no runner (RUNS_RUNNER=0); Ctrl+C stops it"
        wait "$nginx_pid" || true
        return
    fi

    mkdir -p "$prefix/projects"
    setsid "$runner" --url "http://127.0.0.1:$port" --project-dir "$prefix/projects" &
    runner_pid=$!

    say "coordinator on http://127.0.0.1:$port, one agent-runner with the echo executor"
    say "try: $BUILD/bin/runsctl --url http://127.0.0.1:$port start hello 'Say hello' --wait"
    say "Ctrl+C stops both"
    wait -n "$nginx_pid" "$runner_pid" || true
}

# the benchmark, not part of "test": src/bench/bench.sh does the runs
cmd_bench() {
    cmd_build
    # shellcheck disable=SC2086
    $CC $CFLAGS_TOOLS -o "$BUILD/bin/runs-bench.new" \
        "$ROOT/src/bench/runs-bench.c" || die "compiling runs-bench failed"
    mv -f "$BUILD/bin/runs-bench.new" "$BUILD/bin/runs-bench"
    BUILD=$BUILD MODULE=$MODULE NGINX_BIN=$NGINX_BIN exec "$ROOT/src/bench/bench.sh"
}

cmd_clean() {
    rm -rf "$BUILD" "$ROOT/t/servroot"
}

case "${1:-}" in
    deps)  cmd_deps ;;
    build) cmd_deps; cmd_build ;;
    test)  cmd_deps; cmd_test ;;
    start) cmd_deps; cmd_start ;;
    bench) cmd_deps; cmd_bench ;;
    clean) cmd_clean ;;
    *)     sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
