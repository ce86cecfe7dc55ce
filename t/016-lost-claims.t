# A claim whose answer never reached its runner is not lost: a run the
# launcher does not confirm with "started" within runs_claim_timeout goes
# back to the queue (one being stopped is stopped), and the launcher's
# late "started" is refused, so the run is still executed once.  Reports
# repeated after a lost answer are accepted and change nothing.

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

# runs_claim_timeout 2s, checked by the 1 s maintenance timer
my $BOUND = 2 + 1.5;

# the poll is sent and the connection closed before its answer is read
sub poll_and_vanish {
    my ($lid) = @_;
    my $c = Runs::Conn->new;
    my $auth = "Authorization: Bearer " . (Runs::token_of($lid) // '') . "\r\n";
    $c->send_raw("GET /launcher/runs?launcher_id=$lid HTTP/1.1\r\nHost: x\r\n$auth\r\n", 'GET');
    $c->close;
}

flow 'a claim whose answer was lost is requeued and executed once', 11, sub {
    my $l1 = register_launcher(hostname => 'gone');
    my $l2 = register_launcher(hostname => 'live');
    my $id = create_run(session_name => 'lost-1');
    poll_and_vanish($l1);
    ok wait_for(2, sub { status_of($id) eq 'claimed' }), 'the run was claimed for the poll that left';
    my $t0 = time;
    ok wait_for(Runs::tf($BOUND + 1), sub { status_of($id) eq 'pending' }),
        'then taken back';
    my $took = time - $t0;
    cmp_ok $took, '<', Runs::tf($BOUND), sprintf('within runs_claim_timeout and a tick (%.1fs)', $took);
    my $run = get_run($id);
    ok !defined $run->{launcher_id} && !defined $run->{claimed_at}, 'held by no launcher';
    my $early = launcher_event($id, 'started', { launcher_id => $l1 });
    is $early->{status}, 409, 'a started from the launcher it was taken from: 409';
    like $early->{body}, qr/taken back from this launcher.*do not execute it/,
        'saying it was taken back and must not be run';

    my $got = claim($l2);
    is $got && $got->{run_id}, $id, 'the next poll gets it';
    my $late = launcher_event($id, 'started', { launcher_id => $l1 });
    is $late->{status}, 409, "the first launcher's late started: 409";
    like $late->{body}, qr/held by another launcher: do not execute it/, 'saying it must not run it';
    is launcher_event($id, 'started', { launcher_id => $l2 })->{status}, 200,
        'the new holder starts it';
    launcher_event($id, 'completed', { launcher_id => $l2 });
    is status_of($id), 'completed', 'and completes it';
};

flow 'a poll whose client is gone when the run arrives', 3, sub {
    my $l1 = register_launcher(hostname => 'gone');
    my $l2 = register_launcher(hostname => 'live');
    my $c = Runs::hold('GET', "/launcher/runs?launcher_id=$l1");
    sleep 0.2;
    $c->close;
    sleep 0.2;
    my $t0 = time;
    my $held = Runs::hold('GET', "/launcher/runs?launcher_id=$l2");
    sleep 0.2;
    my $id = create_run(session_name => 'lost-2');
    # the live poll gets it, at once or once a lost claim is taken back
    my $got;
    while (!$got && time - $t0 < Runs::tf($BOUND + 3)) {
        my $r = Runs::collect($held, 10);
        $got = $r->{json}{run} if $r->{status} == 200 && $r->{json} && $r->{json}{run};
        $held = Runs::hold('GET', "/launcher/runs?launcher_id=$l2") if !$got;
    }
    is $got && $got->{run_id}, $id, 'the live runner gets the run';
    cmp_ok time - $t0, '<', Runs::tf($BOUND + 0.5), 'within the bound';
    is launcher_event($id, 'started', { launcher_id => $l2 })->{status}, 200,
        'and starts it';
};

flow 'a claim stopped before it was confirmed ends stopped', 4, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('claimed', $lid, session_name => 'lost-3');
    is stop_run($id)->{json}{status}, 'stopping', 'stopping';
    ok wait_for(Runs::tf($BOUND + 1), sub { status_of($id) eq 'stopped' }),
        'stopped once its claim expires unconfirmed';
    is launcher_event($id, 'started', { launcher_id => $lid })->{status}, 409,
        'a late started: 409';
    is launcher_event($id, 'stopped', { launcher_id => $lid })->{status}, 200,
        'its stopped report is taken as already recorded';
};

flow 'a confirmed claim is never taken back', 2, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('running', $lid, session_name => 'lost-4');
    sleep Runs::tf($BOUND + 0.5);
    is status_of($id), 'running', 'still running after the claim timeout';
    is((get_run($id) || {})->{launcher_id}, $lid, 'held by its launcher');
};

flow 'reports repeated after a lost answer change nothing', 6, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('claimed', $lid, session_name => 'lost-5');
    is launcher_event($id, 'started', { launcher_id => $lid })->{status}, 200, 'started';
    my $before = get_run($id);
    is launcher_event($id, 'started', { launcher_id => $lid })->{status}, 200, 'started again: 200';
    is_deeply scalar(get_run($id)), $before, 'nothing changed';
    is launcher_event($id, 'completed', { launcher_id => $lid })->{status}, 200, 'completed';
    is launcher_event($id, 'completed', { launcher_id => $lid })->{status}, 200,
        'completed again: 200';
    is launcher_event($id, 'failed', { launcher_id => $lid, error => 'x' })->{status}, 409,
        'but failed after completed: 409';
};

flow 'the error log names each claim taken back', 1, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('claimed', $lid, session_name => 'lost-6');
    ok wait_for(Runs::tf($BOUND + 1), sub {
        my $l = Runs::error_log_lines(qr/run $id was claimed by launcher $lid, which did not confirm it within runs_claim_timeout/);
        $l && @$l;
    }), 'one warning naming the run and the launcher';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a claim whose answer was lost is requeued and executed once
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
    runs_poll_timeout 5s;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a poll whose client is gone when the run arrives
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
    runs_poll_timeout 5s;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a claim stopped before it was confirmed ends stopped
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a confirmed claim is never taken back
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: reports repeated after a lost answer change nothing
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the error log names each claim taken back
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
--- no_error_log
[error]
[alert]
[crit]
