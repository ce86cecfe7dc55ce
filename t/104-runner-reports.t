# agent-runner's reports (started, completed, ...): those of different runs
# go out concurrently, those of one run in order, and no more are in
# flight than two per slot.
#
# The runner talks to the coordinator through RunsRunner::start_proxy,
# which logs when each request arrives and when its answer is in hand:
# a run's next report must arrive only after the answer to the one before.
# One flow has the proxy hold a run's "started" for 8 s and then
# answer 503: the other runs' reports must not wait for it, and that run's
# "completed" must wait for its "started" to be delivered.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $HOLD = 8;       # seconds the proxy holds the slow run's first "started"

# the proxy's events for the reports of run $id: "in:started",
# "out:started:200", ... in time order
sub report_trail {
    my ($events, $id) = @_;
    return join ' ', map {
        my ($event) = $_->[3] =~ m{/(\w+)$};
        "$_->[1]:$event" . ($_->[1] eq 'out' ? ":$_->[4]" : '');
    } grep { $_->[3] =~ m{^/launcher/runs/\Q$id\E/\w+$} } @$events;
}

# the most report requests the proxy had open at once
sub max_open_reports {
    my ($events) = @_;
    my ($open, $max) = (0, 0);
    for my $e (grep { $_->[3] =~ m{^/launcher/runs/\w+/\w+$} } @$events) {
        $open += $e->[1] eq 'in' ? 1 : -1;
        $max = $open if $open > $max;
    }
    return $max;
}

runner_flow 'a run whose report is held does not delay the others; its next report waits for it', 9, sub {
    my ($slow) = create_run(session_name => 'rep-slow', prompt => 'x');
    my $p = start_proxy(rules => [{ match => qr{^/launcher/runs/\Q$slow\E/started$},
                                    fail => 1, hold => $HOLD }]);
    my $h = start_runner(url => $p->{url}, args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'registered through the proxy';
    ok Runs::wait_for(10, sub {
        report_trail(proxy_events($p), $slow) eq 'in:started';
    }), "the slow run's started is held by the proxy";

    # one at a time, their reports would wait behind the held one: $HOLD s
    my $t0 = time;
    my @fast = map { scalar create_run(session_name => "rep-fast-$_", prompt => 'x') } 1 .. 6;
    my $deadline = $t0 + $HOLD - 2;
    my @st = map {
        my $left = $deadline - time;
        (wait_terminal($_, $left > 0 ? $left : 0) || {})->{status} // '';
    } @fast;
    my $took = time - $t0;
    my $slow_then = status_of($slow);
    ok 6 == grep({ $_ eq 'completed' } @st),
       sprintf('six other runs completed meanwhile (%.2fs)', $took)
        or diag join "\n", map { "$_: " . report_trail(proxy_events($p), $_) } @fast;
    is $slow_then, 'claimed', 'while the held run is still claimed';

    my $r = wait_terminal($slow, $HOLD + 10) || {};
    is $r->{status}, 'completed', 'the held run completes once its started is retried';
    ok $r->{started_at} && $r->{completed_at} && $r->{started_at} le $r->{completed_at},
       'started_at <= completed_at' or diag explain $r;
    # the coordinator can record a report before the proxy logs its
    # answer; once the runner has exited, every answer it had is logged
    runner_stop($h);
    like report_trail(proxy_events($p), $slow),
         qr/^in:started out:started:503 in:started out:started:2\d\d in:completed out:completed:2\d\d$/,
         'its reports in order: started refused, started again, then completed';
    like runner_log($h), qr/WARN \Q$slow\E report not delivered event=started status=503 .*retry_in=/,
         'the 503 is logged and retried';
};

runner_flow 'a burst of 30 runs: reports in flight together, two per slot, each run in order', 7, sub {
    # every report slow, as over a slow network: runs end faster than
    # their reports are answered, so as many go out as the runner allows
    # (two per slot: 4); one at a time, the 60 reports would take 30 s
    my $p = start_proxy(rules => [{ match => qr{^/launcher/runs/\w+/\w+$}, delay => 0.5 }]);
    my $h = start_runner(url => $p->{url}, args => ['--max-concurrent', '2']);
    ok runner_launcher($h), 'registered through the proxy';
    my $t0 = time;
    my @ids = map { scalar create_run(session_name => "rep-burst-$_", prompt => 'x') } 1 .. 30;
    my @runs = map { wait_terminal($_, 30) || {} } @ids;
    is scalar(grep { $_->{status} eq 'completed' } @runs), 30,
       sprintf('thirty runs completed (%.1fs)', time - $t0);
    my @bad = grep {
        !($_->{started_at} && $_->{completed_at} && $_->{started_at} le $_->{completed_at})
    } @runs;
    ok !@bad, 'every one with started_at <= completed_at' or diag explain \@bad;

    # after the runner exited, every answer it had is in the proxy's log
    is runner_stop($h), 0, 'exit status 0';
    my $events = proxy_events($p);
    my @disorder = grep {
        report_trail($events, $_) !~ /^in:started out:started:2\d\d in:completed out:completed:2\d\d$/
    } @ids;
    ok !@disorder, "each run's completed sent after its started was answered"
        or diag join "\n", map { "$_: " . report_trail($events, $_) } @disorder;
    is max_open_reports($events), 4, 'four reports in flight at most, and four at once';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a run whose report is held does not delay the others; its next report waits for it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: a burst of 30 runs: reports in flight together, two per slot, each run in order
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]
