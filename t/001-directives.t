# Configuration: what "nginx -t" refuses, and that each refusal names the
# directive; plus configurations that must load.

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    require Runs;
    Runs::route_startup_log();
}

use Test::Nginx::Socket;
use Runs;

repeat_each(1);
no_long_string();

add_block_preprocessor(sub { Runs::preprocess(shift) });

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: runs_zone with a bad size
--- http_config
    runs_zone runs 4x;
--- must_die
--- error_log
invalid size "4x" in "runs_zone"
--- no_error_log
[alert]
[crit]



=== TEST 2: runs_zone smaller than 8 pages
--- http_config
    runs_zone runs 8k;
--- must_die
--- error_log eval
qr/runs_zone "runs" is too small/
--- no_error_log
[alert]
[crit]



=== TEST 3: runs_zone without a size
--- http_config
    runs_zone runs;
--- must_die
--- error_log
invalid number of arguments in "runs_zone" directive
--- no_error_log
[alert]
[crit]



=== TEST 4: runs_zone declared twice with the same name
--- http_config
    runs_zone runs 4m;
    runs_zone runs 8m;
--- must_die
--- error_log eval
qr/runs_zone.*"runs"|"runs_zone".*runs/
--- no_error_log
[alert]
[crit]



=== TEST 5: runs_poll_timeout with a bad time value
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout abc;
--- must_die
--- error_log eval
qr/"runs_poll_timeout" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 6: runs_heartbeat_interval with a bad time value
--- http_config
    runs_zone runs 4m;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; runs_heartbeat_interval 10parsecs; }
--- must_die
--- error_log eval
qr/"runs_heartbeat_interval" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 7: runs_heartbeat_timeout with a bad time value
--- http_config
    runs_zone runs 4m;
    runs_heartbeat_timeout 1x;
--- must_die
--- error_log eval
qr/"runs_heartbeat_timeout" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 8: runs_launcher_expiry with a bad time value
--- http_config
    runs_zone runs 4m;
    runs_launcher_expiry -5s;
--- must_die
--- error_log eval
qr/"runs_launcher_expiry" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 9: runs_retention with a bad time value
--- http_config
    runs_zone runs 4m;
    runs_retention forever;
--- must_die
--- error_log eval
qr/"runs_retention" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 10: runs_max_waiters not a number
--- http_config
    runs_zone runs 4m;
    runs_max_waiters lots;
--- must_die
--- error_log eval
qr/"runs_max_waiters" directive invalid/
--- no_error_log
[alert]
[crit]



=== TEST 11: runs_max_waiters of zero
--- http_config
    runs_zone runs 4m;
    runs_max_waiters 0;
--- must_die
--- error_log eval
qr/"runs_max_waiters" directive/
--- no_error_log
[alert]
[crit]



=== TEST 12: runs_api naming an unknown zone
--- config
    location /runs { runs_api nosuchzone; }
--- must_die
--- error_log eval
qr/"runs_api".*"nosuchzone"/
--- no_error_log
[alert]
[crit]



=== TEST 13: runs_launcher_api naming an unknown zone
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api other; }
--- must_die
--- error_log eval
qr/"runs_launcher_api".*"other"/
--- no_error_log
[alert]
[crit]



=== TEST 14: runs_launchers_api naming an unknown zone, no runs_zone at all
--- http_config
--- config
    location /launchers { runs_launchers_api runs; }
--- must_die
--- error_log eval
qr/"runs_launchers_api".*"runs"/
--- no_error_log
[alert]
[crit]



=== TEST 15: runs_api without an argument
--- config
    location /runs { runs_api; }
--- must_die
--- error_log
invalid number of arguments in "runs_api" directive
--- no_error_log
[alert]
[crit]



=== TEST 16: runs_launcher_api without an argument
--- config
    location /launcher { runs_launcher_api; }
--- must_die
--- error_log
invalid number of arguments in "runs_launcher_api" directive
--- no_error_log
[alert]
[crit]



=== TEST 17: runs_launchers_api without an argument
--- config
    location /launchers { runs_launchers_api; }
--- must_die
--- error_log
invalid number of arguments in "runs_launchers_api" directive
--- no_error_log
[alert]
[crit]



=== TEST 18: runs_api in a regex location
--- config
    location ~ ^/runs { runs_api runs; }
--- must_die
--- error_log eval
qr/"runs_api" cannot be used in the regex location/
--- no_error_log
[alert]
[crit]



=== TEST 19: runs_launcher_api in a case-insensitive regex location
--- config
    location ~* ^/launcher { runs_launcher_api runs; }
--- must_die
--- error_log eval
qr/"runs_launcher_api" cannot be used in the regex location/
--- no_error_log
[alert]
[crit]



=== TEST 20: runs_zone inside a server block
--- http_config
--- config
    runs_zone runs 4m;
    location /runs { runs_api runs; }
--- must_die
--- error_log eval
qr/"runs_zone" directive is not allowed here/
--- no_error_log
[alert]
[crit]



=== TEST 21: runs_heartbeat_timeout inside a location
--- config
    location /runs { runs_api runs; runs_heartbeat_timeout 10s; }
--- must_die
--- error_log eval
qr/"runs_heartbeat_timeout" directive is not allowed here/
--- no_error_log
[alert]
[crit]



=== TEST 22: runs_retention inside a server block
--- config
    runs_retention 10s;
    location /runs { runs_api runs; }
--- must_die
--- error_log eval
qr/"runs_retention" directive is not allowed here/
--- no_error_log
[alert]
[crit]



=== TEST 23: runs_api outside a location
--- config
    runs_api runs;
--- must_die
--- error_log eval
qr/"runs_api" directive is not allowed here/
--- no_error_log
[alert]
[crit]



=== TEST 24: runs_launcher_expiry shorter than runs_heartbeat_timeout
--- http_config
    runs_zone runs 4m;
    runs_heartbeat_timeout 60s;
    runs_launcher_expiry 10s;
--- must_die
--- error_log eval
qr/"runs_launcher_expiry"/
--- no_error_log
[alert]
[crit]



=== TEST 25: two runs handlers in one location
--- config
    location /runs { runs_api runs; runs_launcher_api runs; }
--- must_die
--- error_log eval
qr/"runs_launcher_api"/
--- no_error_log
[alert]
[crit]



=== TEST 26: every tunable at every level it is allowed at
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1m;
    runs_heartbeat_timeout 90s;
    runs_launcher_expiry 5m;
    runs_retention 2h;
    runs_max_waiters 100;
--- config
    runs_poll_timeout 3s;
    runs_heartbeat_interval 45s;
    location /runs { runs_api runs; }
    location /launcher {
        runs_launcher_api runs;
        runs_poll_timeout 7s;
        runs_heartbeat_interval 20s;
    }
    location /launchers { runs_launchers_api runs; }
--- request
POST /launcher/register
{}
--- error_code: 200
--- response_body_like: ^\{.*"poll_timeout_seconds":\s*7\b.*\}$



=== TEST 27: heartbeat_interval_seconds follows runs_heartbeat_interval
--- config
    runs_heartbeat_interval 45s;
    location /launcher { runs_launcher_api runs; }
--- request
POST /launcher/register
--- error_code: 200
--- response_body_like: "heartbeat_interval_seconds":\s*45\b



=== TEST 28: defaults: 30 s poll, 60 s heartbeat interval
--- request
POST /launcher/register
--- error_code: 200
--- response_body_like: ^(?=.*"poll_timeout_seconds":\s*30\b)(?=.*"heartbeat_interval_seconds":\s*60\b)(?=.*"poll_endpoint":\s*"/launcher/runs").*$



=== TEST 29: a handler may name a zone declared later in the file
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        server_name other.example;
        location /runs { runs_api late; }
    }
    runs_zone late 1m;
--- config
    location /runs { runs_api late; }
--- request
GET /runs
--- error_code: 200
--- response_body_like: ^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$



=== TEST 30: two zones are independent
--- http_config
    runs_zone one 1m;
    runs_zone two 1m;
--- config
    location /one/runs { runs_api one; }
    location /two/runs { runs_api two; }
--- request eval
[
"POST /one/runs\n" . '{"type":"start_session","session_name":"zones","prompt":"in one"}',
"GET /one/runs",
"GET /two/runs",
]
--- error_code eval
[201, 200, 200]
--- response_body_like eval
[
qr/"status":\s*"pending"/,
qr/"session_name":\s*"zones"/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
]



=== TEST 31: the smallest zone nginx allows (8 pages) starts
--- http_config
    runs_zone runs 32k;
--- request
POST /runs
{"type":"start_session","session_name":"tiny","prompt":"hello"}
--- error_code: 201
--- response_body_like: "run_id":\s*"run_[0-9a-f]{12}"



=== TEST 32: runs_claim_timeout with a bad time value
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout soon;
--- must_die
--- error_log eval
qr/"runs_claim_timeout" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 33: runs_max_polls of zero
--- http_config
    runs_zone runs 4m;
    runs_max_polls 0;
--- must_die
--- error_log eval
qr/"runs_max_polls" directive must be between 1 and 1000000/
--- no_error_log
[alert]
[crit]



=== TEST 34: runs_max_waits not a number
--- http_config
    runs_zone runs 4m;
    runs_max_waits many;
--- must_die
--- error_log eval
qr/"runs_max_waits" directive invalid number/
--- no_error_log
[alert]
[crit]



=== TEST 35: runs_max_polls_per_launcher inside a location
--- config
    location /runs { runs_api runs; runs_max_polls_per_launcher 2; }
--- must_die
--- error_log eval
qr/"runs_max_polls_per_launcher" directive is not allowed here/
--- no_error_log
[alert]
[crit]



=== TEST 36: the limits on held requests and the claim timeout load
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 0;
    runs_max_polls 10;
    runs_max_waits 10;
    runs_max_polls_per_launcher 2;
--- request
GET /runs
--- response_body_like: "runs"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 37: runs_result_max below 1k
--- http_config
    runs_zone runs 4m;
    runs_result_max 100;
--- must_die
--- error_log eval
qr/"runs_result_max" directive must be between 1k and 64m/
--- no_error_log
[alert]
[crit]



=== TEST 38: runs_result_max not a size
--- http_config
    runs_zone runs 4m;
    runs_result_max lots;
--- must_die
--- error_log eval
qr/"runs_result_max" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 39: runs_log_size above 64m
--- http_config
    runs_zone runs 4m;
    runs_log_size 65m;
--- must_die
--- error_log eval
qr/"runs_log_size" directive must be between 1k and 64m/
--- no_error_log
[alert]
[crit]



=== TEST 40: runs_log_size not a size
--- http_config
    runs_zone runs 4m;
    runs_log_size big;
--- must_die
--- error_log eval
qr/"runs_log_size" directive invalid value/
--- no_error_log
[alert]
[crit]



=== TEST 41: runs_max_follows 0
--- http_config
    runs_zone runs 4m;
    runs_max_follows 0;
--- must_die
--- error_log eval
qr/"runs_max_follows" directive must be between 1 and 1000000/
--- no_error_log
[alert]
[crit]



=== TEST 42: runs_sessions_api naming an unknown zone
--- http_config
    runs_zone runs 4m;
--- config
    location /sessions { runs_sessions_api other; }
--- must_die
--- error_log eval
qr/"runs_sessions_api".*"other"/
--- no_error_log
[alert]
[crit]



=== TEST 43: runs_log_size, runs_max_follows and runs_sessions_api accepted
--- http_config
    runs_zone runs 4m;
    runs_log_size 1m;
    runs_max_follows 10;
--- config
    location /s { runs_sessions_api runs; }
--- request
GET /s
--- response_body
{"sessions":[]}



=== TEST 44: runs_name_pattern that does not compile
--- http_config
    runs_zone runs 4m;
    runs_name_pattern "^([a-z]+$";
--- must_die
--- error_log eval
qr/"runs_name_pattern": pcre2_compile\(\) failed: missing closing parenthesis/
--- no_error_log
[alert]
[crit]



=== TEST 45: runs_name_pattern twice in one block
--- http_config
    runs_zone runs 4m;
    runs_name_pattern "^[a-z]+$";
    runs_name_pattern "^[a-z]*$";
--- must_die
--- error_log
"runs_name_pattern" directive is duplicate
--- no_error_log
[alert]
[crit]



=== TEST 46: runs_launcher_auth, runs_name_pattern and runs_demand_timeout accepted
--- http_config
    runs_zone runs 4m;
    runs_demand_timeout 0;
    runs_name_pattern "^[a-z][a-z0-9-]*$";
--- config
    location /launcher { runs_launcher_api runs; runs_launcher_auth off; runs_name_pattern off; }
    location /runs { runs_api runs; }
--- request
GET /runs
--- response_body
{"runs":[]}



=== TEST 47: runs_launcher_auth takes on or off
--- http_config
    runs_zone runs 4m;
    runs_launcher_auth maybe;
--- must_die
--- error_log
invalid value "maybe" in "runs_launcher_auth" directive, it must be "on" or "off"
--- no_error_log
[alert]
[crit]



=== TEST 48: runs_zone events= too large for the zone
--- http_config
    runs_zone runs 64k events=100000;
--- must_die
--- error_log eval
qr/invalid "events=100000" in runs_zone "runs": from 16 to \d+ events fit in 64k/
--- no_error_log
[alert]
[crit]



=== TEST 49: runs_zone with an unknown parameter
--- http_config
    runs_zone runs 4m ring=5;
--- must_die
--- error_log
invalid parameter "ring=5"
--- no_error_log
[alert]
[crit]



=== TEST 50: runs_dashboard with an unknown parameter
--- config
    location /dashboard/ { runs_dashboard api=/x; }
--- must_die
--- error_log
invalid parameter "api=/x": expected runs=, sessions=, launchers=, events= or agents=
--- no_error_log
[alert]
[crit]



=== TEST 51: runs_dashboard with a path that is not absolute or has a quote
--- config
    location /dashboard/ { runs_dashboard runs=/ok "events=/a\"b"; }
--- must_die
--- error_log
invalid path in "events=/a"b": an absolute path without spaces, quotes, "?" or "#"
--- no_error_log
[alert]
[crit]



=== TEST 52: runs_dashboard and an API in one location
--- config
    location /dashboard/ { runs_dashboard; runs_api runs; }
--- must_die
--- error_log
"runs_api" conflicts with another runs handler in this location
--- no_error_log
[alert]
[crit]



=== TEST 53: runs_events_api, runs_max_streams, runs_events_heartbeat, events= accepted
--- http_config
    runs_zone runs 4m events=4096;
    runs_max_streams 5000;
    runs_events_heartbeat 30s;
--- config
    location /events { runs_events_api runs; }
    location /runs { runs_api runs; }
    location /dashboard/ { runs_dashboard runs=/runs sessions=/s launchers=/l events=/events; }
--- request
GET /dashboard/config.json
--- response_body chomp
{"runs":"/runs","sessions":"/s","launchers":"/l","events":"/events","agents":"/agents"}
