# vi:ft=perl
# HUP reload mode: the same master survives config changes between blocks
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }
use Test::Nginx::Socket;

plan tests => 4 + 5 + 4;
no_shuffle();

our $MasterPid;
sub master_pid {
    open my $in, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die $!;
    my $p = <$in>; chomp $p; return $p;
}

run_tests();

__DATA__

=== TEST 1: fresh start (4 tests: init + status + body + no_error_log)
--- http_config
    limit_req_zone $binary_remote_addr zone=z:1m rate=100r/s;
--- config
    location = /t { limit_req zone=z; return 200 "one"; }
--- init
$main::MasterPid = main::master_pid();
Test::More::ok($main::MasterPid, "got master pid $main::MasterPid");
--- request
GET /t
--- response_body chomp
one
--- no_error_log
[error]



=== TEST 2: changed config is HUP-reloaded, master pid unchanged
--- http_config
    limit_req_zone $binary_remote_addr zone=z:1m rate=100r/s;
--- config
    location = /t { limit_req zone=z; return 200 "two"; }
--- init
Test::More::is(main::master_pid(), $main::MasterPid, "same master after reload");
--- request
GET /t
--- response_body chomp
two
--- error_log
signal 1 (SIGHUP) received
reconfiguring



=== TEST 3: again
--- config
    location = /t { return 200 "three"; }
--- init
Test::More::is(main::master_pid(), $main::MasterPid, "same master after 2nd reload");
--- request
GET /t
--- response_body chomp
three
--- no_error_log
[emerg]
