# POST /runs/{id}/stop: pending -> stopped at once; claimed / running ->
# stopping and the owning launcher's poll gets stop_runs; stopping again:
# 200; terminal: 409.

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

my $TRUE = JSON::PP::true();

flow 'a pending run is stopped at once', 9, sub {
    my ($id) = create_run(session_name => 'st-pending', prompt => 'p');
    my $r = stop_run($id);
    is $r->{status}, 200, 'stop: 200';
    my $j = $r->{json} || {};
    is $j->{ok}, $TRUE, 'ok true';
    is $j->{run_id}, $id, 'run_id';
    is $j->{session_name}, 'st-pending', 'session_name';
    is $j->{status}, 'stopped', 'status stopped';
    ok exists $j->{message}, 'message present';
    my $run = get_run($id) || {};
    is $run->{status}, 'stopped', 'GET: stopped';
    like $run->{completed_at} // '', qr/Z$/, 'completed_at set';
    ok !defined $run->{launcher_id}, 'never claimed';
};

flow 'a claimed run goes to stopping; the next poll gets stop_runs', 9, sub {
    my ($id, $lid) = run_in_state('claimed');
    my $r = stop_run($id);
    is $r->{status}, 200, 'stop: 200';
    is(($r->{json} || {})->{status}, 'stopping', 'status stopping');
    is status_of($id), 'stopping', 'GET: stopping';
    my $p = poll_once($lid, 5);
    is $p->{status}, 200, 'poll: 200';
    is_deeply $p->{json}, { stop_runs => [$id] }, '{"stop_runs": [id]}';
    is status_of($id), 'stopping', 'still stopping until the runner reports';
    is poll_once($lid, 5)->{status}, 204, 'the stop is delivered once';
    is launcher_event($id, 'stopped', { launcher_id => $lid, signal => 'SIGTERM' })->{status},
        200, 'stopped: 200';
    is status_of($id), 'stopped', 'stopped';
};

flow 'a running run goes to stopping; the held poll gets stop_runs at once', 8, sub {
    my ($id, $lid) = run_in_state('running');
    my $c = hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 0.3;
    ok !$c->ready, 'poll held';
    my $t0 = time;
    my $r = stop_run($id);
    is $r->{status}, 200, 'stop: 200';
    is(($r->{json} || {})->{status}, 'stopping', 'status stopping');
    my $p = collect($c, 5);
    is $p->{status}, 200, 'held poll answered';
    is_deeply $p->{json}, { stop_runs => [$id] }, 'with stop_runs';
    cmp_ok time - $t0, '<', Runs::tf(0.5), 'at once';
    is launcher_event($id, 'completed', { launcher_id => $lid })->{status}, 200,
        'a stopping run may still complete';
    is status_of($id), 'completed', 'completed';
};

flow 'stopping again answers 200 and queues the stop again', 6, sub {
    my ($id, $lid) = run_in_state('running');
    is stop_run($id)->{status}, 200, 'first stop';
    is_deeply poll_once($lid, 5)->{json}, { stop_runs => [$id] }, 'delivered';
    my $r = stop_run($id);
    is $r->{status}, 200, 'second stop: 200';
    is(($r->{json} || {})->{status}, 'stopping', 'still stopping');
    is_deeply poll_once($lid, 5)->{json}, { stop_runs => [$id] }, 'delivered again';
    is status_of($id), 'stopping', 'stopping';
};

flow 'stop on a terminal run answers 409 and changes nothing', 9, sub {
    for my $state (qw(completed failed stopped)) {
        my ($id) = run_in_state($state);
        my $before = get_run($id);
        my $r = stop_run($id);
        is $r->{status}, 409, "stop on $state: 409";
        like $r->{body}, qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/, 'detail';
        is_deeply scalar(get_run($id)), $before, 'unchanged';
    }
};

flow 'stop_runs is answered before a claimable run, and batches stops', 6, sub {
    my $lid = register_launcher();
    my ($a) = run_in_state('claimed', $lid);
    my ($b) = run_in_state('running', $lid);
    my ($p) = create_run(session_name => 'waiting-run');
    stop_run($a);
    stop_run($b);
    my $r = poll_once($lid, 5);
    is $r->{status}, 200, 'poll: 200';
    is_deeply [sort @{ ($r->{json} || {})->{stop_runs} || [] }], [sort $a, $b],
        'both stops in one answer';
    ok !exists(($r->{json} || {})->{run}), 'no run with it';
    is status_of($p), 'pending', 'the pending run is still pending';
    my $run = claim($lid);
    is $run && $run->{run_id}, $p, 'the next poll gets the run';
    is status_of($p), 'claimed', 'claimed';
};

flow 'a stop wakes only the owning launcher', 5, sub {
    my ($id, $owner) = run_in_state('running');
    my $other = register_launcher();
    my $co = hold('GET', "/launcher/runs?launcher_id=$other");
    my $cw = hold('GET', "/launcher/runs?launcher_id=$owner");
    sleep 0.3;
    stop_run($id);
    my $pw = collect($cw, 5);
    is_deeply $pw->{json}, { stop_runs => [$id] }, 'owner gets the stop';
    sleep 0.3;
    ok !$co->ready, 'the other launcher stays held';
    my $po = collect($co, 5);
    is $po->{status}, 204, 'and times out with 204';
    cmp_ok $po->{elapsed}, '>=', 1.5, 'after runs_poll_timeout (2s)';
    is status_of($id), 'stopping', 'stopping';
};

flow 'a poll with claim=0 takes no run but gets the stop at once', 6, sub {
    my ($id, $owner) = run_in_state('running');
    my $new = create_run(type => 'start_session', session_name => 'noclaim-b',
                         prompt => 'waiting');
    my $c = hold('GET', "/launcher/runs?launcher_id=$owner&claim=0");
    sleep 0.3;
    ok !$c->ready, 'held although a run is claimable';
    is status_of($new), 'pending', 'the claimable run is not taken';
    stop_run($id);
    my $p = collect($c, 5);
    is_deeply $p->{json}, { stop_runs => [$id] }, 'the stop arrives';
    cmp_ok $p->{elapsed}, '<', 1, 'at once';
    my $b = req('GET', "/launcher/runs?launcher_id=$owner&claim=2");
    is $b->{status}, 422, 'claim must be 0 or 1';
    my $q = req('GET', "/launcher/runs?launcher_id=$owner&claim=1");
    is $q->{json}{run}{run_id}, $new, 'claim=1 claims as usual';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a pending run is stopped at once



=== TEST 2: a claimed run goes to stopping; the next poll gets stop_runs
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 3: a running run goes to stopping; the held poll gets stop_runs at once
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 5s;



=== TEST 4: stopping again answers 200 and queues the stop again
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 5: stop on a terminal run answers 409 and changes nothing
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 6: stop_runs is answered before a claimable run, and batches stops
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 7: a stop wakes only the owning launcher
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;



=== TEST 8: a poll with claim=0 takes no run but gets the stop at once
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;



=== TEST 9: stop in one nginx lifetime without ids: unknown run 404, wrong method 405
--- request eval
[
"POST /runs/run_000000000000/stop",
"GET /runs/run_000000000000/stop",
"POST /runs/run_000000000000/stop\n{\"ignored\":true}",
]
--- error_code eval
[404, 405, 404]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Method not allowed"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
]
