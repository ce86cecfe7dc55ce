# Runner API (runs_launcher_api): register, poll, started / completed /
# failed / stopped, heartbeat; the transition table of docs/API.md.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $ZERO = 'lnch_000000000000';

flow 'register answers the documented object', 7, sub {
    my ($lid, $res) = register_launcher();
    is $res->{status}, 200, 'register answers 200';
    like $lid // '', qr/^lnch_[0-9a-f]{12}$/, 'launcher_id is lnch_ + 12 hex';
    my $j = $res->{json} || {};
    is $j->{poll_endpoint}, '/launcher/runs', 'poll_endpoint';
    is $j->{poll_timeout_seconds}, 1, 'poll_timeout_seconds follows runs_poll_timeout';
    is $j->{heartbeat_interval_seconds}, 60, 'heartbeat_interval_seconds default';
    like $res->{headers}{'content-type'} // '', qr{^application/json\b},
        'application/json';
    my $lid2 = register_launcher();
    ok defined $lid2 && defined $lid && $lid2 ne $lid, 'ids are unique';
};

flow 'a poll hands out a run, now claimed by that launcher', 10, sub {
    my $id = create_run(session_name => 'claim-me', prompt => 'do it',
                        agent_name => 'coder', project_dir => '/srv/x');
    my $lid = register_launcher(hostname => 'h', executor_type => 'test');
    my $res = poll_once($lid, 5);
    is $res->{status}, 200, 'poll answers 200';
    my $run = ($res->{json} && $res->{json}{run}) || {};
    is_deeply [sort keys %{ $res->{json} || {} }], ['run'], 'body is {"run": run}';
    is $run->{run_id}, $id, 'the pending run';
    is $run->{status}, 'claimed', 'status claimed in the answer';
    is $run->{launcher_id}, $lid, 'launcher_id in the answer';
    like $run->{claimed_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
        'claimed_at set';
    is_deeply [@$run{qw(session_name prompt agent_name project_dir type)}],
              ['claim-me', 'do it', 'coder', '/srv/x', 'start_session'],
              'the run fields';
    my $now = get_run($id) || {};
    is $now->{status}, 'claimed', 'GET shows claimed';
    is $now->{launcher_id}, $lid, 'GET shows the launcher';
    my $again = poll_once(register_launcher(), 5);
    is $again->{status}, 204, 'a claimed run is not handed out twice';
};

flow 'an idle poll answers 204 after runs_poll_timeout', 4, sub {
    my $lid = register_launcher();
    my $res = poll_once($lid, 10);
    is $res->{status}, 204, 'answers 204';
    is $res->{body}, '', 'no body';
    cmp_ok $res->{elapsed}, '>=', 0.9, 'held about runs_poll_timeout (1s)';
    cmp_ok $res->{elapsed}, '<', Runs::tf(3), 'not much longer';
};

flow 'a held poll answers the moment a run is created', 4, sub {
    my $lid = register_launcher();
    my $c = hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 0.3;
    ok !$c->ready, 'the poll is held';
    my $t0 = Time::HiRes::time();
    my $id = create_run(session_name => 'wake');
    my $res = collect($c, 10);
    my $dt = Time::HiRes::time() - $t0;
    is $res->{status}, 200, 'answered 200';
    is(($res->{json} && $res->{json}{run}) ? $res->{json}{run}{run_id} : undef,
       $id, 'with the new run');
    cmp_ok $dt, '<', Runs::tf(0.5), 'at once';
};

flow 'started then completed', 9, sub {
    my ($id, $lid) = run_in_state('claimed');
    ok defined $id, 'a claimed run';
    my $r = launcher_event($id, 'started', { launcher_id => $lid });
    is $r->{status}, 200, 'started: 200';
    is_deeply $r->{json}, { ok => JSON::PP::true() }, 'body {"ok": true}';
    my $run = get_run($id) || {};
    is $run->{status}, 'running', 'running';
    like $run->{started_at} // '', qr/Z$/, 'started_at set';
    $r = launcher_event($id, 'completed', { launcher_id => $lid, status => 'completed' });
    is $r->{status}, 200, 'completed (with status "completed"): 200';
    $run = get_run($id) || {};
    is $run->{status}, 'completed', 'completed';
    like $run->{completed_at} // '', qr/Z$/, 'completed_at set';
    ok !defined $run->{error}, 'no error';
};

flow 'completed with a status other than "completed" answers 422', 3, sub {
    my ($id, $lid) = run_in_state('running');
    my $r = launcher_event($id, 'completed', { launcher_id => $lid, status => 'failed' });
    is $r->{status}, 422, 'answers 422';
    like $r->{body}, qr/"detail"/, 'detail';
    is status_of($id), 'running', 'unchanged';
};

flow 'failed stores the error', 8, sub {
    my ($id, $lid) = run_in_state('running');
    my $r = launcher_event($id, 'failed', { launcher_id => $lid,
                                            error => "exit 3: \x{e9}chec \"x\"\n" });
    is $r->{status}, 200, 'failed from running: 200';
    my $run = get_run($id) || {};
    is $run->{status}, 'failed', 'failed';
    is $run->{error}, "exit 3: \x{e9}chec \"x\"\n", 'error stored as sent';
    like $run->{completed_at} // '', qr/Z$/, 'completed_at set';

    my ($id2, $lid2) = run_in_state('claimed');
    $r = launcher_event($id2, 'failed', { launcher_id => $lid2, error => 'no exec' });
    is $r->{status}, 200, 'failed from claimed: 200';
    is status_of($id2), 'failed', 'failed';

    my ($id3, $lid3) = run_in_state('running');
    $r = launcher_event($id3, 'failed', { launcher_id => $lid3 });
    is $r->{status}, 422, 'failed without error: 422';
    is status_of($id3), 'running', 'unchanged';
};

flow 'failed with a bad error type answers 422', 2, sub {
    my ($id, $lid) = run_in_state('running');
    my $r = launcher_event($id, 'failed', { launcher_id => $lid, error => 5 });
    is $r->{status}, 422, 'answers 422';
    is status_of($id), 'running', 'unchanged';
};

flow 'stopped with or without a signal', 6, sub {
    my ($id, $lid) = run_in_state('running');
    my $r = launcher_event($id, 'stopped', { launcher_id => $lid, signal => 'SIGTERM' });
    is $r->{status}, 200, 'stopped (signal string) from running: 200';
    is status_of($id), 'stopped', 'stopped';
    my ($id2, $lid2) = run_in_state('stopping');
    $r = launcher_event($id2, 'stopped', { launcher_id => $lid2, signal => 9 });
    is $r->{status}, 200, 'stopped (signal number) from stopping: 200';
    is status_of($id2), 'stopped', 'stopped';
    my ($id3, $lid3) = run_in_state('claimed');
    $r = launcher_event($id3, 'stopped', { launcher_id => $lid3 });
    is $r->{status}, 200, 'stopped (no signal) from claimed: 200';
    is status_of($id3), 'stopped', 'stopped';
};

flow 'events: 401 unknown launcher, 404 unknown run, 422 bad body', 12, sub {
    my ($id, $lid) = run_in_state('claimed');
    for my $ev (qw(started completed failed stopped)) {
        my $r = launcher_event($id, $ev, { launcher_id => $ZERO, error => 'e' });
        is $r->{status}, 401, "$ev by an unknown launcher: 401";
    }
    for my $ev (qw(started completed failed stopped)) {
        my $r = launcher_event('run_000000000000', $ev,
                               { launcher_id => $lid, error => 'e' });
        is $r->{status}, 404, "$ev on an unknown run: 404";
    }
    my $r = launcher_event($id, 'started', {});
    is $r->{status}, 422, 'no launcher_id: 422';
    $r = launcher_event($id, 'started', { launcher_id => 17 });
    is $r->{status}, 422, 'launcher_id not a string: 422';
    $r = launcher_event($id, 'started', '{"launcher_id":');
    is $r->{status}, 400, 'malformed JSON: 400';
    is status_of($id), 'claimed', 'nothing changed';
};

# the whole transition table: every (state, event) pair
my @STATES = qw(pending claimed running stopping completed failed stopped);
my @EVENTS = qw(started completed failed stopped);
my %ACCEPT = (
    'claimed started'    => 'running',
    'stopping started'   => 'stopping',
    'running completed'  => 'completed',
    'stopping completed' => 'completed',
    'claimed failed'     => 'failed',
    'running failed'     => 'failed',
    'stopping failed'    => 'failed',
    'claimed stopped'    => 'stopped',
    'running stopped'    => 'stopped',
    'stopping stopped'   => 'stopped',
);

# the same report from the run's launcher again: recorded already
my %REPEATED = map { $_ => 1 } ('running started', 'completed completed',
                                'failed failed', 'stopped stopped');

flow 'every (state, event) pair follows the transition table', 2 * 7 * 4 + 7, sub {
    for my $state (@STATES) {
        for my $ev (@EVENTS) {
            my ($id, $lid) = run_in_state($state);
            if (!defined $id) {
                fail("could not set up a $state run");
                fail("(skipped $state $ev)");
                next;
            }
            my $before = get_run($id);
            my $r = launcher_event($id, $ev, { launcher_id => $lid,
                                               error => 'boom' });
            my $after = get_run($id);
            my $want = $ACCEPT{"$state $ev"};
            if ($want) {
                is $r->{status}, 200, "$ev on a $state run: 200";
                is $after->{status}, $want, "$ev on a $state run: now $want";
            } elsif ($REPEATED{"$state $ev"}) {
                # a report sent again after its answer was lost
                is $r->{status}, 200, "$ev again on a $state run: 200";
                is_deeply $after, $before, "$ev again on a $state run: nothing changed";
            } else {
                is $r->{status}, 409, "$ev on a $state run: 409";
                is_deeply $after, $before, "$ev on a $state run: nothing changed";
            }
            stop_run($id) if $state eq 'pending';
        }
    }
    # started on a stopping run records started_at and stays stopping
    my ($id, $lid) = run_in_state('stopping');
    ok !defined((get_run($id) || {})->{started_at}), 'stopping, not started';
    my $r = launcher_event($id, 'started', { launcher_id => $lid });
    is $r->{status}, 200, 'started on stopping: 200';
    my $run = get_run($id) || {};
    is $run->{status}, 'stopping', 'still stopping';
    like $run->{started_at} // '', qr/Z$/, 'started_at recorded';
    # stop on a terminal run stays 409 and completed_at does not move
    my ($cid) = run_in_state('completed');
    my $b = get_run($cid);
    is stop_run($cid)->{status}, 409, 'stop on completed: 409';
    is_deeply scalar(get_run($cid)), $b, 'unchanged';
    ok defined $b->{completed_at}, 'completed_at kept';
};

flow 'another launcher\'s run answers 409 and changes nothing', 2 * 3 * 4, sub {
    my $other = register_launcher();
    for my $state (qw(claimed running stopping)) {
        for my $ev (@EVENTS) {
            my ($id, $lid) = run_in_state($state);
            my $before = get_run($id);
            my $r = launcher_event($id // 'run_000000000000', $ev,
                                   { launcher_id => $other, error => 'x' });
            is $r->{status}, 409, "$ev by another launcher on a $state run: 409";
            is_deeply scalar(get_run($id)), $before, 'nothing changed';
        }
    }
};

flow 'heartbeat', 5, sub {
    my $lid = register_launcher();
    my $r = Runs::req('POST', '/launcher/heartbeat', { launcher_id => $lid });
    is $r->{status}, 200, 'heartbeat: 200';
    is_deeply $r->{json}, { ok => JSON::PP::true() }, '{"ok": true}';
    $r = Runs::req('POST', '/launcher/heartbeat', { launcher_id => $ZERO });
    is $r->{status}, 401, 'unknown launcher: 401';
    like $r->{body}, qr/^\{\s*"detail"\s*:\s*"Launcher not registered"\s*\}\s*$/,
        'Launcher not registered';
    $r = Runs::req('POST', '/launcher/heartbeat', {});
    is $r->{status}, 422, 'no launcher_id: 422';
};

flow 'a heartbeat refreshes last_heartbeat', 3, sub {
    my $lid = register_launcher();
    sleep 1.2;
    my ($l) = grep { $_->{launcher_id} eq $lid }
              @{ (Runs::req('GET', '/launchers')->{json} || {})->{launchers} || [] };
    cmp_ok $l->{seconds_since_heartbeat} // 0, '>=', 1, 'silent for a second';
    Runs::req('POST', '/launcher/heartbeat', { launcher_id => $lid });
    ($l) = grep { $_->{launcher_id} eq $lid }
           @{ (Runs::req('GET', '/launchers')->{json} || {})->{launchers} || [] };
    cmp_ok $l->{seconds_since_heartbeat} // 99, '<', Runs::tf(0.5), 'fresh after the heartbeat';
    is $l->{status}, 'online', 'online';
};

flow 'more held polls than runs_max_waiters answer 503', 5, sub {
    my @c = map { hold('GET', '/launcher/runs?launcher_id=' . register_launcher()) } 1 .. 2;
    sleep 0.3;
    ok !grep({ $_->ready } @c), 'two polls held (runs_max_waiters 2)';
    my $r = poll_once(register_launcher(), 5);
    is $r->{status}, 503, 'a third poll answers 503';
    cmp_ok $r->{elapsed}, '<', Runs::tf(0.5), 'at once';
    my @r = map { collect($_, 5) } @c;
    is scalar(grep { $_->{status} == 204 } @r), 2, 'the held polls end normally';
    is poll_once(register_launcher(), 5)->{status}, 204,
        'once they are gone a poll is held again';
};

flow 'a poll whose client went away does not take a run', 4, sub {
    my $gone = register_launcher();
    my $c = hold('GET', "/launcher/runs?launcher_id=$gone");
    sleep 0.3;
    $c->close;
    sleep 0.3;
    my $id = create_run(session_name => 'after-disconnect');
    sleep 0.3;
    is status_of($id), 'pending', 'the run stays pending';
    my $lid = register_launcher();
    my $run = claim($lid);
    is $run && $run->{run_id}, $id, 'a live launcher gets it';
    is $run && $run->{launcher_id}, $lid, 'claimed by the live launcher';
    is Runs::req('GET', '/runs?limit=1')->{status}, 200, 'still answering';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: register with an empty body
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- request
POST /launcher/register
--- error_code: 200
--- response_body_like: ^(?=.*"launcher_id"\s*:\s*"lnch_[0-9a-f]{12}")(?=.*"poll_endpoint"\s*:\s*"/launcher/runs")(?=.*"poll_timeout_seconds"\s*:\s*1\b)(?=.*"heartbeat_interval_seconds"\s*:\s*60\b)



=== TEST 2: register answers the documented object
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- request
POST /launcher/register
{}
--- error_code: 200
--- response_body_like: "launcher_id"



=== TEST 3: register with fields, listed in GET /launchers
--- request eval
[
"POST /launcher/register\n" . '{"hostname":"host-1","project_dir":"/srv/app","executor_type":"claude","unknown":[1]}',
"POST /launcher/register\n" . '{"hostname":null}',
"GET /launchers",
]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[
qr/"launcher_id"\s*:\s*"lnch_[0-9a-f]{12}"/,
qr/"launcher_id"\s*:\s*"lnch_[0-9a-f]{12}"/,
qr/^(?=.*"hostname"\s*:\s*"host-1")(?=.*"project_dir"\s*:\s*"\/srv\/app")(?=.*"executor_type"\s*:\s*"claude")(?=.*"hostname"\s*:\s*null)(?!.*"unknown")/s,
]



=== TEST 4: register with bad types answers 422, malformed JSON 400
--- request eval
[
"POST /launcher/register\n" . '{"hostname":5}',
"POST /launcher/register\n" . '{"project_dir":["/srv"]}',
"POST /launcher/register\n" . '{"executor_type":{"a":1}}',
"POST /launcher/register\n" . '{"hostname":true}',
"POST /launcher/register\n" . '[]',
"POST /launcher/register\n" . '"host"',
"POST /launcher/register\n" . '{"hostname":',
"POST /launcher/register\n" . 'hostname=x',
"GET /launchers",
]
--- error_code eval
[422, 422, 422, 422, 422, 422, 400, 400, 200]
--- response_body_like eval
[
(qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/) x 6,
qr/^\{\s*"detail"\s*:\s*"Malformed JSON: .+"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Malformed JSON: .+"\s*\}\s*$/,
qr/^\{\s*"launchers"\s*:\s*\[\s*\]\s*\}\s*$/,
]



=== TEST 5: poll by an unknown launcher answers 401, without launcher_id 422
--- request eval
[
"GET /launcher/runs?launcher_id=lnch_000000000000",
"GET /launcher/runs?launcher_id=lnch_ffffffffffff",
"GET /launcher/runs",
"GET /launcher/runs?launcherid=lnch_000000000000",
]
--- error_code eval
[401, 401, 422, 422]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Launcher not registered"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Launcher not registered"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/,
]



=== TEST 6: wrong methods and unknown paths
--- request eval
[
"GET /launcher/register",
"POST /launcher/runs\n{}",
"GET /launcher/heartbeat",
"GET /launcher/runs/run_000000000000/started",
"DELETE /launcher/runs/run_000000000000/failed",
"GET /launcher/nothing",
"POST /launcher/runs/run_000000000000/exploded\n{}",
"POST /launcher/runs/run_000000000000\n{}",
]
--- error_code eval
[405, 405, 405, 405, 405, 404, 404, 404]
--- response_body_like eval
[
(qr/^\{\s*"detail"\s*:\s*"Method not allowed"\s*\}\s*$/) x 5,
(qr/^\{\s*"detail"\s*:\s*"Not found"\s*\}\s*$/) x 3,
]



=== TEST 7: a poll hands out a run, now claimed by that launcher
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 8: an idle poll answers 204 after runs_poll_timeout
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 9: a held poll answers the moment a run is created
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 5s;



=== TEST 10: started then completed
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 11: completed with a status other than "completed" answers 422
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 12: failed stores the error
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 13: failed with a bad error type answers 422
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 14: stopped with or without a signal
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 15: events: 401 unknown launcher, 404 unknown run, 422 bad body
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 16: every (state, event) pair follows the transition table
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 17: another launcher's run answers 409 and changes nothing
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 18: heartbeat
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 19: a heartbeat refreshes last_heartbeat
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 20: more held polls than runs_max_waiters answer 503
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_max_waiters 2;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 21: a poll whose client went away does not take a run
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 5s;
