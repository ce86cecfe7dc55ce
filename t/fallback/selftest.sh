#!/bin/sh
# Smoke-tests the fallback Test::Nginx::Socket against a real nginx.
#   t/fallback/selftest.sh              # nginx from PATH (e.g. /usr/sbin/nginx)
#   TEST_NGINX_BINARY=/path/to/nginx t/fallback/selftest.sh
#   TEST_NGINX_USE_VALGRIND=1 ...       # copy t/valgrind.suppress to ./
# Runs in a scratch server root so the checkout stays clean.
set -e
here=$(cd "$(dirname "$0")" && pwd)
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tn-selftest.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
export PATH
export TEST_NGINX_SERVROOT="$scratch/servroot"
# stay off the default port 1984, which the product suites use
if [ -z "$TEST_NGINX_PORT$TEST_NGINX_SERVER_PORT" ]; then
    TEST_NGINX_PORT=$(perl -MIO::Socket::INET -e 'for (1..200) { my $p = 20000 + int rand 30000; if (IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $p, Listen => 1)) { print $p; exit } } print 1984')
    export TEST_NGINX_PORT
fi
PERL5LIB="$here${PERL5LIB:+:$PERL5LIB}" prove "$@" "$here"/selftest/*.t
