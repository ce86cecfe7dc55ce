# vi:ft=perl
# must_die + error_log.  Debian's nginx is built with --error-log-path=stderr,
# so config-parse errors only reach servroot/logs/error.log with "-e
# <servroot>/logs/error.log", which the fallback passes by default, as
# Test::Nginx 0.33 does (TEST_NGINX_FALLBACK_STARTUP_ERRLOG=0 drops it).
BEGIN { delete $ENV{TEST_NGINX_FALLBACK_STARTUP_ERRLOG} }
use Test::Nginx::Socket;

repeat_each(2);
plan tests => repeat_each() * blocks() * 3;

run_tests();

__DATA__

=== TEST 1: bad "return" directive
--- config
    location = /t {
        return a b c;
    }
--- request
    GET /t
--- must_die
--- error_log
invalid number of arguments in "return" directive
--- no_error_log
[error]



=== TEST 2: unknown directive, numeric exit code
--- config
    location = /t { bogus_directive; }
--- request
    GET /t
--- must_die: 1
--- error_log eval
qr/\[emerg\] .*unknown directive "bogus_directive"/
--- no_error_log
[alert]
