# The zone survives "nginx -s reload" with its runs and launchers intact.
#
# HUP mode: nginx is started once for the first block, every later block
# reloads it (USR1 + HUP) with that block's configuration, which keeps the
# same runs_zone (name and size), so each block reads back what the earlier
# ones wrote.  Blocks run in file order (no_shuffle).

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    $ENV{TEST_NGINX_USE_HUP} = 1;
}

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

sub pid_file { Runs::server_root() . '/logs/nginx.pid' }

sub master_pid {
    open my $in, '<', pid_file() or return undef;
    my $pid = <$in>;
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# in HUP mode the harness leaves nginx running at the end: stop it
add_cleanup_handler(sub {
    my $pid = master_pid();
    if ($pid && kill 0, $pid) {
        kill 'QUIT', $pid;
        for (1 .. 100) {
            last if !kill 0, $pid;
            sleep 0.05;
        }
    }
});

flow 'held requests are answered at once when their worker shuts down', 10, sub {
    my $lid = register_launcher(hostname => 'survivor');
    my ($run) = create_run(session_name => 'held-over', prompt => 'wait on me');
    my $c_wait = hold('GET', "/runs/$run?wait=60");
    my $lid2 = register_launcher(hostname => 'poller');
    # claim nothing: the queue holds held-over and the two block-1 runs
    # are claimed below by $lid first
    my @claimed = map { claim($lid) } 1 .. 3;
    ok !grep({ !$_ } @claimed), 'three runs claimed';
    my $c_poll = hold('GET', "/launcher/runs?launcher_id=$lid2");
    sleep 0.5;
    ok !$c_poll->ready && !$c_wait->ready, 'a poll and a wait are held';

    my $pid = master_pid();
    ok $pid && kill('HUP', $pid), 'reload (SIGHUP to the master)';
    my $t0 = time;
    my $p = collect($c_poll, 10);
    my $w = collect($c_wait, 10);
    my $dt = time - $t0;
    is $p->{status}, 204, 'the held poll answers 204';
    is $w->{status}, 200, 'the held wait answers 200';
    is(($w->{json} || {})->{status}, 'claimed', 'with the run as it is');
    cmp_ok $dt, '<', Runs::tf(3), 'at once, not after the poll timeout';

    # the new generation serves the same zone
    my $ok = Runs::wait_for(5, sub {
        my $r = Runs::req('GET', '/launchers');
        $r->{status} == 200 ? $r : undef;
    });
    my @names = sort map { $_->{hostname} // '' }
                @{ (($ok || {})->{json} || {})->{launchers} || [] };
    is_deeply \@names, ['poller', 'survivor'], 'launchers survive the reload';
    is status_of($run), 'claimed', 'runs survive the reload';
    is launcher_event($run, 'started', { launcher_id => $lid })->{status}, 200,
        'and the old launcher can report on its run';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: write runs
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 30s;
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"keep-a","prompt":"before reload","agent_name":"agent-a","project_dir":"/srv/a"}',
"POST /runs\n" . '{"type":"start_session","session_name":"keep-b","prompt":"b \u00e9\u0000"}',
"GET /runs",
]
--- error_code eval
[201, 201, 200]
--- response_body_like eval
[
qr/"pending"/,
qr/"pending"/,
qr/^(?=(?:.*?"run_id"){2})(?!(?:.*?"run_id"){3})/s,
]



=== TEST 2: read them back after a reload
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 30s;
--- request eval
[
"GET /runs?session_name=keep-a",
"GET /runs?session_name=keep-b",
"POST /runs\n" . '{"type":"start_session","session_name":"keep-a","prompt":"again"}',
"POST /runs\n" . '{"type":"resume_session","session_name":"keep-a","prompt":"after reload"}',
"GET /runs?session_name=keep-a",
]
--- error_code eval
[200, 200, 409, 201, 200]
--- response_body_like eval
[
qr/^(?=.*"prompt"\s*:\s*"before reload")(?=.*"agent_name"\s*:\s*"agent-a")(?=.*"status"\s*:\s*"pending")/s,
qr/"prompt"\s*:\s*"b (?:\\u00e9|\x{c3}\x{a9})\\u0000"/s,
qr/"detail"/,
qr/"pending"/,
qr/^(?=(?:.*?"agent_name"\s*:\s*"agent-a"){2})(?=(?:.*?"project_dir"\s*:\s*"\/srv\/a"){2}).*"before reload".*"after reload"/s,
]



=== TEST 3: held requests are answered at once when their worker shuts down
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 30s;



=== TEST 4: tunables may change on reload, the zone stays
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 5s;
    runs_heartbeat_timeout 90s;
    runs_launcher_expiry 10m;
--- request eval
[
"GET /launchers",
"GET /runs?status=running",
"GET /runs?session_name=keep-b",
"POST /launcher/register",
]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[
qr/^(?=.*"hostname"\s*:\s*"survivor")(?=.*"hostname"\s*:\s*"poller")/s,
qr/"session_name"\s*:\s*"held-over"/,
qr/"status"\s*:\s*"claimed"/,
qr/"poll_timeout_seconds"\s*:\s*5\b/,
]
