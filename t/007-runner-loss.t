# Runner loss: a silent launcher turns stale after runs_heartbeat_timeout
# and is removed after runs_launcher_expiry, on a timer, with no request
# needed: its claimed runs go back to the head of the queue, its running
# and stopping runs fail with "launcher lost".

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

sub launcher {
    my ($lid) = @_;
    my $r = Runs::req('GET', '/launchers');
    my ($l) = grep { ($_->{launcher_id} // '') eq $lid }
              @{ ($r->{json} || {})->{launchers} || [] };
    return $l;
}

flow 'a lost launcher: stale, removed, its runs requeued or failed', 17, sub {
    my $lost = register_launcher(hostname => 'lost');
    my ($older) = create_run(session_name => 'loss-older', prompt => 'o');
    my $keep = register_launcher(hostname => 'keep');
    my $run = claim($keep);
    is $run && $run->{run_id}, $older, 'an older run is claimed by a live launcher';

    my ($claimed) = run_in_state('claimed', $lost, session_name => 'loss-claimed');
    my ($running) = run_in_state('running', $lost, session_name => 'loss-running');
    my ($stopping) = run_in_state('stopping', $lost, session_name => 'loss-stopping');
    ok defined $claimed && defined $running && defined $stopping,
       'the lost launcher holds a claimed, a running and a stopping run';
    my ($newer) = create_run(session_name => 'loss-newer', prompt => 'n');

    # keep the other launcher alive with heartbeats while the first goes silent
    my $t0 = time;
    my $stale_seen;
    while (time - $t0 < 1.8) {
        Runs::req('POST', '/launcher/heartbeat', { launcher_id => $keep });
        my $l = launcher($lost);
        $stale_seen = 1 if $l && $l->{status} eq 'stale';
        sleep 0.2;
    }
    ok $stale_seen, 'the silent launcher turned stale (runs_heartbeat_timeout 1s)';
    is((launcher($keep) || {})->{status}, 'online', 'the heartbeating one stays online');

    # then just wait: no request is needed for the expiry
    my $until = $t0 + 4.5;
    while (time < $until) {
        Runs::req('POST', '/launcher/heartbeat', { launcher_id => $keep });
        sleep 0.5;
    }
    ok !launcher($lost), 'removed after runs_launcher_expiry (2s)';
    ok launcher($keep), 'the live launcher is kept';
    is poll_once($lost, 5)->{status}, 401, 'the lost launcher is not registered any more';

    my $c = get_run($claimed) || {};
    is $c->{status}, 'pending', 'its claimed run is pending again';
    ok !defined $c->{launcher_id}, 'without a launcher';
    my $r = get_run($running) || {};
    is $r->{status}, 'failed', 'its running run failed';
    is $r->{error}, 'launcher lost', 'error "launcher lost"';
    like $r->{completed_at} // '', qr/Z$/, 'completed_at set';
    my $s = get_run($stopping) || {};
    is $s->{status}, 'failed', 'its stopping run failed';
    is $s->{error}, 'launcher lost', 'error "launcher lost"';

    my $other = register_launcher(hostname => 'other');
    my $next = claim($other);
    is $next && $next->{run_id}, $claimed,
        'the requeued run is handed out before newer runs';
    is $next && $next->{launcher_id}, $other, 'to the new launcher';
    $next = claim($other);
    is $next && $next->{run_id}, $newer, 'then the newer run';
};

flow 'a launcher with a held poll is alive', 3, sub {
    my $lid = register_launcher();
    # runs_poll_timeout 5s > runs_launcher_expiry 2s: the poll is held
    # through the whole expiry period
    my $c = hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 4;
    ok launcher($lid), 'still registered while its poll is held';
    isnt((launcher($lid) || {})->{status}, undef, 'listed');
    my $res = collect($c, 5);
    is $res->{status}, 204, 'the held poll ends with 204';
};

flow 'heartbeats keep a launcher and its runs', 3, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('running', $lid, session_name => 'hb-alive');
    for (1 .. 8) {
        Runs::req('POST', '/launcher/heartbeat', { launcher_id => $lid });
        sleep 0.5;
    }
    is((launcher($lid) || {})->{status}, 'online', 'online');
    is status_of($id), 'running', 'its run still running';
    is launcher_event($id, 'completed', { launcher_id => $lid })->{status}, 200,
        'and it can complete it';
};

flow 'a lost launcher\'s runs change with no request at all', 5, sub {
    my $lid = register_launcher();
    my ($c) = run_in_state('claimed', $lid, session_name => 'quiet-c');
    my ($r) = run_in_state('running', $lid, session_name => 'quiet-r');
    ok defined $c && defined $r, 'a claimed and a running run';
    sleep 4.5;    # not a single request meanwhile
    is status_of($c), 'pending', 'claimed run back to pending';
    my $run = get_run($r) || {};
    is $run->{status}, 'failed', 'running run failed';
    is $run->{error}, 'launcher lost', 'launcher lost';
    ok !launcher($lid), 'launcher removed';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a lost launcher: stale, removed, its runs requeued or failed
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;



=== TEST 2: a launcher with a held poll is alive
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 5s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;



=== TEST 3: heartbeats keep a launcher and its runs
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;



=== TEST 4: a lost launcher's runs change with no request at all
--- http_config
    runs_zone runs 4m;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;
