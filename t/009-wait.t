# GET /runs/{id}?wait=SECONDS: held until the run is terminal or the wait
# ends, then the run as it is; 422 on a bad wait.

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

flow 'a wait returns when the run becomes terminal', 12, sub {
    my ($id, $lid) = run_in_state('running');
    my $c = hold('GET', "/runs/$id?wait=10");
    sleep 0.4;
    ok !$c->ready, 'held while running';
    my $t0 = time;
    launcher_event($id, 'completed', { launcher_id => $lid });
    my $r = collect($c, 5);
    is $r->{status}, 200, 'answers 200';
    is(($r->{json} || {})->{status}, 'completed', 'the run, completed');
    cmp_ok time - $t0, '<', Runs::tf(0.5), 'at once';

    # a stop of a pending run ends a wait too
    my ($p) = create_run(session_name => 'wait-stop');
    $c = hold('GET', "/runs/$p?wait=10");
    sleep 0.3;
    ok !$c->ready, 'held while pending';
    $t0 = time;
    stop_run($p);
    $r = collect($c, 5);
    is(($r->{json} || {})->{status}, 'stopped', 'answered stopped');
    cmp_ok time - $t0, '<', Runs::tf(0.5), 'at once';

    # failed, and several waiters on one run
    my ($f, $l2) = run_in_state('claimed');
    my @c = map { hold('GET', "/runs/$f?wait=10") } 1 .. 3;
    sleep 0.3;
    ok !grep({ $_->ready } @c), 'three waiters held';
    launcher_event($f, 'failed', { launcher_id => $l2, error => 'oops' });
    my @r = map { collect($_, 5) } @c;
    is scalar(grep { ($_->{json} || {})->{status} eq 'failed' } @r), 3,
        'all three answered failed';
    is(($r[0]{json} || {})->{error}, 'oops', 'with the error');

    # an intermediate transition does not end the wait
    my ($g, $l3) = run_in_state('claimed');
    $c = hold('GET', "/runs/$g?wait=1.5");
    sleep 0.3;
    launcher_event($g, 'started', { launcher_id => $l3 });
    $r = collect($c, 5);
    is(($r->{json} || {})->{status}, 'running', 'answered running, as it is');
    cmp_ok $r->{elapsed}, '>=', 1.3, 'only when the wait ended';
};

flow 'after the wait the run is answered as it is', 5, sub {
    my ($id) = create_run(session_name => 'wait-timeout');
    my $r = Runs::req('GET', "/runs/$id?wait=1", undef, undef, 10);
    is $r->{status}, 200, 'answers 200';
    is(($r->{json} || {})->{status}, 'pending', 'still pending');
    cmp_ok $r->{elapsed}, '>=', 0.9, 'after about one second';
    cmp_ok $r->{elapsed}, '<', Runs::tf(2.5), 'not much later';
    $r = Runs::req('GET', "/runs/$id?wait=0.5", undef, undef, 10);
    ok $r->{elapsed} >= 0.4 && $r->{elapsed} < Runs::tf(2), 'fractions of a second'
        or diag "elapsed $r->{elapsed}";
};

flow 'a terminal run or wait=0 answers at once', 6, sub {
    my ($id) = run_in_state('completed');
    my $r = Runs::req('GET', "/runs/$id?wait=3600");
    is $r->{status}, 200, 'terminal, wait=3600: 200';
    cmp_ok $r->{elapsed}, '<', Runs::tf(0.5), 'at once';
    is(($r->{json} || {})->{status}, 'completed', 'completed');
    my ($p) = create_run(session_name => 'wait-zero');
    $r = Runs::req('GET', "/runs/$p?wait=0");
    is $r->{status}, 200, 'wait=0: 200';
    cmp_ok $r->{elapsed}, '<', Runs::tf(0.5), 'at once';
    is(($r->{json} || {})->{status}, 'pending', 'pending');
};

flow 'a bad wait answers 422, an unknown run 404', 10, sub {
    my ($id) = create_run(session_name => 'wait-bad');
    for my $w ('abc', '-1', '3601', '1e3', '', '10000', '1,5', '0x10') {
        my $r = Runs::req('GET', "/runs/$id?wait=$w");
        is $r->{status}, 422, "wait=$w: 422";
    }
    my $r = Runs::req('GET', "/runs/run_000000000000?wait=5");
    is $r->{status}, 404, 'unknown run: 404';
    cmp_ok $r->{elapsed}, '<', Runs::tf(0.5), 'at once';
};

flow 'a waiting client that goes away is forgotten', 3, sub {
    my ($id, $lid) = run_in_state('running');
    for (1 .. 20) {
        my $c = hold('GET', "/runs/$id?wait=30");
        $c->close;
    }
    sleep 0.3;
    is launcher_event($id, 'completed', { launcher_id => $lid })->{status}, 200,
        'the run completes';
    is status_of($id), 'completed', 'completed';
    is Runs::req('GET', '/runs?limit=1')->{status}, 200, 'still answering';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a wait returns when the run becomes terminal
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 2: after the wait the run is answered as it is



=== TEST 3: a terminal run or wait=0 answers at once
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 4: a bad wait answers 422, an unknown run 404



=== TEST 5: a waiting client that goes away is forgotten
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 6: wait on an unknown run in one nginx lifetime
--- request eval
[
"GET /runs/run_000000000000?wait=2",
"GET /runs/run_000000000000?wait=0",
]
--- error_code eval
[404, 404]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
]
