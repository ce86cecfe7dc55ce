#!/usr/bin/env bash
# Build, test and run the agent-runs coordinator.
#
#   ./build.sh deps     install the Debian packages everything needs (root)
#   ./build.sh build    build build/ngx_http_runs_module.so for Debian's nginx,
#                       and agent-runner, runsctl and the echo executor in
#                       build/bin (build/asan: the same under ASan/UBSan)
#   ./build.sh test     build, then run every Test::Nginx suite in t/
#                       and a short fuzz run (FUZZ_SECONDS)
#   ./build.sh start    build, then run a coordinator on 127.0.0.1:8765 and
#                       one agent-runner with the echo executor in the
#                       foreground (Ctrl+C stops both)
#   ./build.sh bench    build, then benchmark (about 10 minutes; writes
#                       build/bench/results.{json,md}; docs/PERFORMANCE.md)
#   ./build.sh designs [ARGS]
#                       build and run the journal's design comparison alone
#                       (build/bin/journal-designs, files in build/designs;
#                       ~30 s; docs/adr/0011-journal.md)
#   ./build.sh fuzz [SECONDS]
#                       fuzz the JSON reader against jansson (libFuzzer,
#                       ASan/UBSan; default 600 s; docs/FUZZING.md)
#   ./build.sh clean    remove build/
#
# Environment:
#   NGINX_SRC           nginx source tree to build against
#                       (default: /usr/share/nginx/src from nginx-dev)
#   NGINX_BIN           nginx binary to run (default: /usr/sbin/nginx)
#   RUNS_PORT           port for "start" (default: 8765)
#   RUNS_RUNNER=0       "start" runs the coordinator without a runner
#   TEST_VALGRIND=0     skip the valgrind pass of "test" (the UBSan pass
#                       of the module always runs)
#   FUZZ_SECONDS        length of the fuzz run of "test" (default: 60; 0 skips)

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
    wrk clang libclang-rt-14-dev
    # t/029-metrics.t reads runs_metrics with the official client's parser
    python3-prometheus-client
    # t/301-dashboard.t drives the dashboard in a real browser, headless
    chromium
    # only src/bench/journal_designs.c (./build.sh bench, designs)
    libsqlite3-dev liblmdb-dev
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

    mkdir -p "$BUILD"
    build_module "$BUILD/nginx" "$CFLAGS_MODULE" "" "$MODULE"
    build_tools
}

# build_module TREE CC_OPT LD_OPT OUT: the module configured in a copy of
# the nginx tree (again when config or the flags change), compiled to OUT
build_module() {
    local tree=$1 ccopt=$2 ldopt=$3 out=$4
    local stamp=$tree.configured log=$tree.log
    local sig
    sig=$(cat "$ROOT/config" "$NGINX_SRC/conf_flags" 2>/dev/null \
          | cat - <(echo "$ccopt $ldopt") | md5sum | cut -d' ' -f1)

    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sig" ]; then
        say "configuring $(basename "$tree") against $NGINX_SRC"
        rm -rf "$tree"
        cp -a "$NGINX_SRC" "$tree"
        local flags=()
        mapfile -t flags < <(nginx_conf_flags)
        (cd "$tree" && ./configure "${flags[@]}" \
            --with-cc-opt="$ccopt" ${ldopt:+--with-ld-opt="$ldopt"} \
            --add-dynamic-module="$ROOT" >"$log" 2>&1) \
            || { tail -30 "$log"; die "configure failed (see $log)"; }
        echo "$sig" >"$stamp"
    fi

    # the dashboard's files, again: written only when they changed
    sh "$ROOT/src/ngx_http_runs_dashboard_embed.sh" "$ROOT/src/dashboard" \
        "$tree/objs/runs/ngx_http_runs_dashboard_files.c"

    say "compiling $(basename "$out") ($(basename "$tree"))"
    make -s -C "$tree" -f objs/Makefile modules >"$log" 2>&1 \
        || { cat "$log"; die "compilation failed"; }
    mkdir -p "$(dirname "$out")"
    # a new file, not an overwrite: a running nginx keeps its mapping
    cp "$tree/objs/ngx_http_runs_module.so" "$out.new"
    mv -f "$out.new" "$out"
    say "built $out"
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
        build_program "$BUILD/$v/agent-executor-claude" "$flags" "-ljansson" \
            src/executors/claude src/common
    done
    [ -x "$BUILD/bin/agent-runner" ] && say "built agent-runner, runsctl, agent-executor-echo, agent-executor-claude in $BUILD/bin and $BUILD/asan"
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

# Claude Code's CLI for t/111-runner-claude-cli.t, its version pinned in
# t/claude-cli/package-lock.json: npm ci, then the package's own install
# step, which only links the native program of the platform's package
# (npm here runs no install scripts)
claude_cli() {
    local dir=$ROOT/t/claude-cli
    if [ ! -x "$dir/node_modules/.bin/claude" ] \
       || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        command -v npm >/dev/null || die "npm missing: install Node.js and npm"
        say "installing Claude Code's CLI (npm ci in t/claude-cli)"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
            || die "npm ci in t/claude-cli failed"
        node "$dir/node_modules/@anthropic-ai/claude-code/install.cjs" \
            || die "Claude Code's install step failed"
    fi
    "$dir/node_modules/.bin/claude" --version >/dev/null \
        || die "Claude Code's CLI in t/claude-cli does not run"
    export TEST_CLAUDE_CLI=$dir/node_modules/.bin/claude TEST_CLAUDE_CLI_REQUIRED=1
}

# puppeteer-core for t/301-dashboard.t, pinned in t/browser's lockfile; it
# drives Debian's chromium (a package above) and downloads no browser
browser_driver() {
    local dir=$ROOT/t/browser
    if [ ! -d "$dir/node_modules/puppeteer-core" ] \
       || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        command -v npm >/dev/null || die "npm missing: install Node.js and npm"
        say "installing puppeteer-core (npm ci in t/browser)"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
            || die "npm ci in t/browser failed"
    fi
    command -v chromium >/dev/null || die "chromium missing: run ./build.sh deps"
    export TEST_DASHBOARD_REQUIRED=1
}

# the official MCP TypeScript SDK for t/115-mcp-sdk.t, pinned in
# t/mcp-client's lockfile: a client only, it downloads nothing at run time
mcp_sdk() {
    local dir=$ROOT/t/mcp-client
    if [ ! -f "$dir/node_modules/@modelcontextprotocol/sdk/package.json" ] \
       || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        command -v npm >/dev/null || die "npm missing: install Node.js and npm"
        say "installing the MCP TypeScript SDK (npm ci in t/mcp-client)"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
            || die "npm ci in t/mcp-client failed"
    fi
    export TEST_MCP_SDK_REQUIRED=1
}

cmd_test() {
    cmd_build
    test_env
    claude_cli
    browser_driver
    mcp_sdk
    cd "$ROOT"
    say "the module's layout rules (t/layout.pl)"
    perl t/layout.pl || die "the module's layout rules are broken"
    say "Test::Nginx suites"
    prove -j1 t/*.t

    if [ "${TEST_VALGRIND:-1}" != 0 ]; then
        valgrind_pass
    fi

    ubsan_pass

    fuzz_short
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
        t/006-stop.t t/013-json.t t/014-http-edges.t t/015-full-zone-reports.t \
        t/020-logs.t t/022-sessions-api.t t/023-callbacks.t t/027-routing.t \
        t/028-access.t t/030-scopes.t t/032-events.t t/033-dashboard-files.t \
        t/034-mcp.t 2>"$log" || { tail -50 "$log"; die "suites failed under valgrind"; }
    rm -f "$ROOT/valgrind.suppress"
    if grep -E '^==[0-9]+== ' "$log" >/dev/null; then
        grep -E -A12 '^==[0-9]+== ' "$log" | head -80
        die "valgrind reported errors (full output: $log)"
    fi
    say "valgrind: no errors"
}

# the module built with UBSan (nginx itself as Debian ships it): the suites
# that feed it the most kinds of input; any report fails the pass
ubsan_pass() {
    local dir=$BUILD/ubsan
    build_module "$BUILD/nginx-ubsan" \
        "-g -O1 -fPIC -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter -Werror" \
        "-fsanitize=undefined" "$dir/ngx_http_runs_module.so"
    rm -f "$dir"/report.*
    say "Test::Nginx suites with the module under UBSan"
    TEST_NGINX_RUNS_MODULE=$dir/ngx_http_runs_module.so \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$dir/report \
        prove -j1 t/002-client-api.t t/003-launcher-api.t t/005-sessions.t \
        t/013-json.t t/014-http-edges.t t/015-full-zone-reports.t \
        t/018-reference-launcher.t t/019-results.t t/020-logs.t \
        t/021-log-follow.t t/022-sessions-api.t t/023-callbacks.t \
        t/032-events.t t/033-dashboard-files.t t/034-mcp.t t/035-agents.t \
        || die "suites failed with the module under UBSan"
    if ls "$dir"/report.* >/dev/null 2>&1; then
        head -40 "$dir"/report.*
        die "UBSan reported undefined behaviour in the module ($dir/report.*)"
    fi
    say "UBSan: no report"
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
        location /launcher  { runs_launcher_api runs; client_body_buffer_size 32k; }
        location /launchers { runs_launchers_api runs; }
        location /sessions  { runs_sessions_api runs; }
        location /agents    { runs_agents_api runs; }
        location /events    { runs_events_api runs; }
        # the MCP server: agents start and resume sub-agents as tool calls
        location /mcp       { runs_mcp runs; }
        # the dashboard (docs/DASHBOARD.md): on localhost only, as here;
        # put auth_basic or auth_request in front of it and of the APIs
        # before you listen anywhere else
        location /dashboard/ { runs_dashboard; }
        # the figures "runsctl status" shows (docs/METRICS.md)
        location = /metrics { runs_metrics runs; }
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
        say "dashboard: open http://127.0.0.1:$port/dashboard/ in a browser"
        wait "$nginx_pid" || true
        return
    fi

    mkdir -p "$prefix/projects"
    setsid "$runner" --url "http://127.0.0.1:$port" --project-dir "$prefix/projects" &
    runner_pid=$!

    say "coordinator on http://127.0.0.1:$port, one agent-runner with the echo executor"
    say "dashboard: open http://127.0.0.1:$port/dashboard/ in a browser"
    say "try: $BUILD/bin/runsctl --url http://127.0.0.1:$port start hello 'Say hello' --wait"
    say "Ctrl+C stops both"
    wait -n "$nginx_pid" "$runner_pid" || true
}

# build/bin/journal-designs: the journal's commit protocols compared
# (src/bench/journal_designs.c, SQLite and LMDB among them)
build_designs() {
    local out=$BUILD/bin/journal-designs src=$ROOT/src/bench/journal_designs.c
    [ -f "$out" ] && [ "$out" -nt "$src" ] && return 0
    [ -f /usr/include/sqlite3.h ] && [ -f /usr/include/lmdb.h ] \
        || die "SQLite or LMDB headers missing: run ./build.sh deps"
    mkdir -p "$BUILD/bin"
    # shellcheck disable=SC2086
    $CC $CFLAGS_TOOLS -pthread -o "$out.new" "$src" -lsqlite3 -llmdb \
        || die "compiling journal-designs failed"
    mv -f "$out.new" "$out"
}

cmd_designs() {
    build_designs
    "$BUILD/bin/journal-designs" "$BUILD/designs" "$@"
}

# the benchmark, not part of "test": src/bench/bench.sh does the runs
cmd_bench() {
    cmd_build
    build_designs
    # shellcheck disable=SC2086
    $CC $CFLAGS_TOOLS -o "$BUILD/bin/runs-bench.new" \
        "$ROOT/src/bench/runs-bench.c" "$ROOT/src/bench/bench_logs.c" \
        "$ROOT/src/bench/bench_stall.c" "$ROOT/src/bench/bench_route.c" \
        "$ROOT/src/bench/bench_events.c" "$ROOT/src/bench/bench_mcp.c" \
        || die "compiling runs-bench failed"
    mv -f "$BUILD/bin/runs-bench.new" "$BUILD/bin/runs-bench"
    BUILD=$BUILD MODULE=$MODULE NGINX_BIN=$NGINX_BIN exec "$ROOT/src/bench/bench.sh"
}

# fuzzing: src/fuzz/json_fuzz.c, a libFuzzer target for the module's JSON
# reader, differential against jansson (docs/FUZZING.md)
FUZZ=$BUILD/fuzz
FUZZ_CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined \
-fno-sanitize-recover=all -fno-omit-frame-pointer \
-Wall -Wextra -Wno-unused-parameter -Werror"

# a variable of build/nginx/objs/Makefile (paths relative to build/nginx)
nginx_make_var() {
    make -s --no-print-directory -C "$BUILD/nginx" -f objs/Makefile -f - \
        "fuzz-print-$1" <<'EOF'
fuzz-print-%:
	@echo $($*)
EOF
}

# nginx's own .c files, which nginx-dev does not ship: NGINX_SRC when it is
# a full tree, else Debian's source package of that nginx, fetched with
# apt-get source through deb-src twins of this machine's apt sources, in a
# private apt state under build/fuzz (the system's apt state is untouched)
fuzz_nginx_src() {
    if [ -f "$NGINX_SRC/src/core/ngx_palloc.c" ]; then
        FUZZ_NGINX_SRC=$NGINX_SRC
        return 0
    fi
    FUZZ_NGINX_SRC=$FUZZ/nginx-src
    [ -f "$FUZZ_NGINX_SRC/src/core/ngx_palloc.c" ] && return 0

    command -v dpkg-source >/dev/null || die "dpkg-source missing: run ./build.sh deps"
    local apt=$FUZZ/apt f v want got=""
    say "fetching the nginx source package (the fuzz target links nginx's core)"
    rm -rf "$apt" "$FUZZ_NGINX_SRC" "$FUZZ_NGINX_SRC.new"
    mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/get"
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list \
        >"$apt/sources.list" 2>/dev/null || true
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/${f##*/}"
    done
    for f in /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >"$apt/parts/${f##*/}"
    done
    local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list"
        -o "Dir::Etc::SourceParts=$apt/parts" -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || true
    # the installed version first, then the others the archive has
    want=$(dpkg-query -W -f='${source:Version}' nginx-dev 2>/dev/null || true)
    for v in $want $(apt-cache "${opts[@]}" showsrc nginx 2>/dev/null \
                     | sed -n 's/^Version: //p' | sort -urV); do
        if (cd "$apt/get" && apt-get "${opts[@]}" source --download-only "nginx=$v") \
            >>"$apt/source.log" 2>&1; then
            got=$v
            break
        fi
    done
    [ -n "$got" ] || { tail -20 "$apt/update.log" "$apt/source.log"; die "could not fetch nginx's source package"; }
    dpkg-source -x "$apt/get/nginx_${got#*:}.dsc" "$FUZZ_NGINX_SRC.new" \
        >"$apt/extract.log" 2>&1 || { cat "$apt/extract.log"; die "could not unpack nginx $got"; }
    # the .c files must go with the headers the module is built with
    for f in "$FUZZ_NGINX_SRC.new"/src/{core,event,os/unix}/*.h; do
        cmp -s "$f" "$NGINX_SRC/${f#"$FUZZ_NGINX_SRC.new/"}" \
            || die "nginx $got's ${f#"$FUZZ_NGINX_SRC.new/"} differs from $NGINX_SRC's"
    done
    mv "$FUZZ_NGINX_SRC.new" "$FUZZ_NGINX_SRC"
    rm -rf "$apt"
    say "nginx $got source in $FUZZ_NGINX_SRC${want:+ (installed: $want)}"
}

# nginx's core and unix objects (all but nginx.o), compiled by nginx's own
# compiler and CFLAGS from build/nginx/objs/Makefile, one section per
# function so that the link keeps only what the reader reaches
fuzz_nginx_lib() {
    local lib=$FUZZ/libngx.a dir=$FUZZ/ngx cc cflags incs o n=0
    [ -f "$lib" ] && [ "$lib" -nt "$BUILD/nginx/objs/Makefile" ] && return 0
    fuzz_nginx_src
    cc=$(nginx_make_var CC)
    cflags=$(nginx_make_var CFLAGS)
    incs=$(nginx_make_var CORE_INCS)
    say "compiling nginx's core for the fuzz target"
    rm -rf "$dir"
    mkdir -p "$dir"
    local objs
    objs=$(grep -oE '^objs/src/(core|os/unix)/[a-z0-9_]+\.o' "$BUILD/nginx/objs/Makefile" \
           | grep -v '/nginx\.o$')
    for o in $objs; do
        o=${o#objs/}
        # shellcheck disable=SC2086
        (cd "$BUILD/nginx" && $cc -c $cflags -ffunction-sections -fdata-sections \
            $incs -o "$dir/$(basename "$o")" "$FUZZ_NGINX_SRC/${o%.o}.c") &
        n=$((n + 1))
        if [ "$n" -ge "$(nproc)" ]; then
            wait -n || true
            n=$((n - 1))
        fi
    done
    wait
    for o in $objs; do
        [ -f "$dir/$(basename "$o")" ] || die "compiling nginx's ${o#objs/} failed"
    done
    rm -f "$lib.new"
    ar rcs "$lib.new" "$dir"/*.o
    mv -f "$lib.new" "$lib"
}

# build/fuzz/json_fuzz: the JSON reader's harness and the reader under
# clang's sanitizers and coverage, nginx's objects as they are (gcc),
# jansson; build/fuzz/journal_fuzz: the journal reader's harness and the
# store's files (src/ngx_http_runs_store_*.c)
fuzz_build() {
    [ -f "$BUILD/nginx/objs/Makefile" ] || cmd_build
    command -v clang >/dev/null || die "clang missing: run ./build.sh deps"
    mkdir -p "$FUZZ"
    fuzz_nginx_lib
    fuzz_target json_fuzz -ljansson -- "$ROOT/src/fuzz/json_fuzz.c" \
        "$ROOT/src/ngx_http_runs_json_in.c" "$ROOT/src/ngx_http_runs_demands.c"
    # shellcheck disable=SC2046
    fuzz_target journal_fuzz -- "$ROOT/src/fuzz/journal_fuzz.c" \
        $(ls "$ROOT"/src/ngx_http_runs_store_*.c)
}

# fuzz_target NAME [LIBS...] -- SOURCES...: built again when a source, a
# header of the module or nginx's objects are newer than it
fuzz_target() {
    local name=$1 bin=$FUZZ/$1 libs=() srcs f incs stale=0
    shift
    while [ "$1" != -- ]; do libs+=("$1"); shift; done
    shift
    srcs=("$@")
    if [ -x "$bin" ]; then
        for f in "${srcs[@]}" "$ROOT"/src/*.h "$FUZZ/libngx.a"; do
            [ "$f" -nt "$bin" ] && stale=1
        done
        [ "$stale" = 0 ] && return 0
    fi
    incs=$(nginx_make_var ALL_INCS)
    say "compiling $bin"
    # (-ffunction-sections: with --gc-sections, only what the harness
    # reaches is linked)
    # shellcheck disable=SC2086
    (cd "$BUILD/nginx" && clang $FUZZ_CFLAGS -ffunction-sections \
        -fdata-sections $incs -o "$bin.new" "${srcs[@]}" "$FUZZ/libngx.a" \
        "${libs[@]}" -Wl,--gc-sections) \
        || die "compiling the fuzz target $name failed"
    mv -f "$bin.new" "$bin"
}

# one fuzz run of a target for $2 seconds on build/fuzz/corpus-NAME
# (seeded from src/fuzz/corpus/NAME, which stays as it is); a crash or a
# disagreement fails it with the saved input's path
fuzz_run() {
    local name=$1 secs=$2 maxlen=$3 what=$4 bin=$FUZZ/${1}_fuzz corpus=$FUZZ/corpus-$1
    local log=$FUZZ/$1-fuzz.log f rc=0 execs rate crash dict=()
    mkdir -p "$corpus" "$FUZZ/artifacts"
    for f in "$ROOT"/src/fuzz/corpus/"$name"/*; do
        [ -e "$corpus/${f##*/}" ] || cp "$f" "$corpus/"
    done
    [ -f "$ROOT/src/fuzz/$name.dict" ] && dict=(-dict="$ROOT/src/fuzz/$name.dict")
    say "fuzzing $what for ${secs}s (log: $log)"
    "$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 \
        -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$FUZZ/artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ "$rc" != 0 ]; then
        grep -E -A3 '_fuzz: DISAGREEMENT|ERROR: |SUMMARY: ' "$log" | head -40 >&2
        crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        [ -n "$crash" ] || { tail -30 "$log" >&2; die "fuzzing failed (exit $rc, see $log)"; }
        say "reproduce: $bin $crash"
        die "fuzzing found a problem (exit $rc): $crash"
    fi
    say "fuzz: ${execs:-?} executions in ${secs}s (${rate:-?}/s), $(find "$corpus" -type f | wc -l) inputs in $corpus, no disagreement"
}

# both targets: two thirds of the time to the JSON reader, a third to the
# journal's
fuzz_both() {
    local secs=$1 jsecs
    jsecs=$(( secs / 3 ))
    [ "$jsecs" -gt 0 ] || jsecs=1
    fuzz_run json $(( secs - jsecs > 0 ? secs - jsecs : 1 )) 4096 \
        "the JSON reader against jansson"
    fuzz_run journal "$jsecs" 8192 \
        "the journal's reader (what it builds, written out and read back, is the same)"
}

fuzz_seconds_ok() {
    case $1 in
        ''|*[!0-9]*) die "fuzz: seconds must be a positive number, not '$1'" ;;
    esac
    # libFuzzer takes -max_total_time=0 for "no limit"
    [ "$((10#$1))" -gt 0 ] || die "fuzz: seconds must be a positive number, not '$1'"
}

cmd_fuzz() {
    fuzz_seconds_ok "$1"
    fuzz_build
    fuzz_both "$1"
}

# the short run of "test"
fuzz_short() {
    local secs=${FUZZ_SECONDS:-60}
    if [ "$secs" = 0 ]; then
        say "fuzzing skipped (FUZZ_SECONDS=0)"
        return 0
    fi
    fuzz_seconds_ok "$secs"
    fuzz_build
    fuzz_both "$secs"
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
    designs) cmd_deps; cmd_designs "${@:2}" ;;
    fuzz)  cmd_deps; cmd_fuzz "${2:-600}" ;;
    clean) cmd_clean ;;
    *)     sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
