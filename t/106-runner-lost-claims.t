# agent-runner executes a run only once the coordinator confirmed its
# claim: a runner whose "started" is delayed past runs_claim_timeout (here
# by a proxy in front of it) finds the run taken back and given to another
# runner, is refused, and never starts the executor; the run is executed
# once, by the other runner.

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

runner_flow 'a runner whose claim was taken back does not execute the run', 8, sub {
    my $p = start_proxy(rules => [{ match => qr{^/launcher/runs/run_\w+/started$},
                                    delay => 4 }]);
    my $slow = start_runner(name => 'slow', url => $p->{url}, stop_wait => 15,
                            args => ['--max-concurrent', '1']);
    my $slow_id = runner_launcher($slow);
    ok $slow_id, 'a runner behind a proxy that delays started by 4 s';
    my $id = create_run(session_name => 'taken-1', prompt => 'hello');
    ok wait_status($id, 'claimed', 5), 'it claims the run';
    is((get_run($id) || {})->{launcher_id}, $slow_id, 'the slow runner holds it');

    my $fast = start_runner(name => 'fast', stop_wait => 15);
    my $fast_id = runner_launcher($fast);
    my $run = wait_terminal($id, 15) || {};
    is $run->{status} . ' ' . ($run->{launcher_id} // ''), "completed $fast_id",
        'taken back after runs_claim_timeout and completed by the other runner';
    ok Runs::wait_for(8, sub { runner_log($slow) =~ /\Q$id\E not executed: the coordinator refused the claim/ }),
        'the slow runner is refused and says it did not execute it';
    ok !exists runner_pids($slow)->{$id}, 'it never started an executor for it';
    is scalar(keys %{ runner_pids($fast) }), 1, 'the other runner started one';
};

runner_flow 'a runner leaves on SIGTERM while a claim is still being confirmed', 5, sub {
    my $p = start_proxy(rules => [{ match => qr{^/launcher/runs/run_\w+/started$},
                                    delay => 40 }]);
    my $h = start_runner(name => 'stuck', url => $p->{url});
    ok runner_launcher($h), 'a runner whose started reports get no answer';
    my $id = create_run(session_name => 'taken-2', prompt => 'hello');
    ok wait_status($id, 'claimed', 5), 'it claims a run';
    sleep 0.3;
    my $t0 = time;
    my $rc = runner_stop($h, 20);
    ok defined $rc && time - $t0 < 15,
        sprintf('SIGTERM: it gives up on the coordinator and exits (%.1f s)', time - $t0);
    ok !exists runner_pids($h)->{$id}, 'without ever starting the executor';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a runner whose claim was taken back does not execute the run
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 2s;
    runs_poll_timeout 5s;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a runner leaves on SIGTERM while a claim is still being confirmed
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 60s;
--- no_error_log
[error]
[alert]
[crit]
