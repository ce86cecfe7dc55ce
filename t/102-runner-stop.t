# agent-runner and stops: a pending run stopped before any runner sees
# it, a running executor stopped by SIGTERM to its process group, one that
# ignores SIGTERM killed by SIGKILL after --stop-grace, one that exits 0
# on SIGTERM reported completed, stops that reach a runner whose slots are
# all busy; the runner's own way out: SIGTERM (executors stopped and
# reported, self-deregistration, exit 0), SIGINT then SIGTERM (SIGKILL,
# exit at once), and an external deregistration (exit 0).

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

# a process that no longer runs (gone, or a zombie nobody reaped yet)
sub gone {
    my ($pid) = @_;
    return 1 if !kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 1;
    my $s = <$in> // '';
    close $in;
    return $s =~ /\)\s+Z\s/ ? 1 : 0;
}

runner_flow 'stops: pending, running (SIGTERM), ignoring SIGTERM (SIGKILL), ending first', 13, sub {
    my $h = start_runner(args => ['--stop-grace', '0.5']);
    ok runner_launcher($h), 'registered';

    # pending: the session's first run holds it
    my ($first) = create_run(session_name => 'st-a', prompt => 'sleep=30');
    is wait_status($first, 'running'), 'running', 'a run is running';
    my ($queued) = create_run(type => 'resume_session', session_name => 'st-a',
                              prompt => 'never');
    my $s = stop_run($queued);
    is(($s->{json} || {})->{status}, 'stopped', 'a pending run is stopped at once');

    # running: SIGTERM ends it
    my $t0 = time;
    stop_run($first);
    my $run = wait_terminal($first, 5) || {};
    is $run->{status}, 'stopped', 'a running run is stopped';
    cmp_ok time - $t0, '<', 2, 'promptly, by SIGTERM';
    like runner_log($h), qr/INFO \Q$first\E stopped signal=SIGTERM /,
        'reported with signal SIGTERM';

    # ignoring SIGTERM: SIGKILL after the grace
    my ($stubborn) = create_run(session_name => 'st-b', prompt => 'sleep=30 ignore-term');
    wait_status($stubborn, 'running');
    sleep 0.2;                      # let it install its SIG_IGN
    $t0 = time;
    stop_run($stubborn);
    $run = wait_terminal($stubborn, 5) || {};
    my $dt = time - $t0;
    is $run->{status}, 'stopped', 'a run ignoring SIGTERM is stopped';
    ok $dt >= 0.45 && $dt < 3, sprintf('after the 0.5s grace (%.2fs)', $dt);
    like runner_log($h), qr/INFO \Q$stubborn\E stopped signal=SIGKILL /,
        'reported with signal SIGKILL';

    # ends with status 0 when signalled: what really happened is reported
    my ($quick) = create_run(session_name => 'st-c', prompt => 'sleep=30 term-exit=0');
    wait_status($quick, 'running');
    sleep 0.2;
    stop_run($quick);
    $run = wait_terminal($quick, 5) || {};
    is $run->{status}, 'completed', 'an executor that exits 0 on the stop: completed';

    unlike runner_log($h), qr/\Q$queued\E started/, 'the pending run never ran';
    is runner_stop($h), 0, 'exit status 0';
};

runner_flow 'stops reach a runner whose slots are all busy', 5, sub {
    my $h = start_runner(args => ['--max-concurrent', '1', '--stop-grace', '0.5']);
    ok runner_launcher($h), 'registered';
    my ($busy) = create_run(session_name => 'full-a', prompt => 'sleep=30');
    wait_status($busy, 'running');
    my ($next) = create_run(session_name => 'full-b', prompt => 'sleep=0.1');
    sleep 0.5;
    is status_of($next), 'pending', 'one slot, busy: the next run is not claimed';
    my $t0 = time;
    stop_run($busy);
    my $run = wait_terminal($busy, 8) || {};
    ok $run->{status} eq 'stopped' && time - $t0 < 1,
       sprintf('the busy run is stopped (%.2fs)', time - $t0);
    is((wait_terminal($next, 10) || {})->{status}, 'completed',
       'then the next run is claimed and completes');
};

runner_flow 'SIGTERM: executors stopped and reported, self-deregistration, exit 0', 8, sub {
    my $h = start_runner(args => ['--stop-grace', '0.7', '--max-concurrent', '3']);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    my @ids = map { scalar create_run(session_name => "term-$_", prompt => 'sleep=30') } 1 .. 2;
    push @ids, scalar create_run(session_name => 'term-3', prompt => 'sleep=30 ignore-term');
    ok !grep({ !wait_status($_, 'running') } @ids), 'three runs running';
    sleep 0.2;
    my $pids = runner_pids($h);
    my $t0 = time;
    my $rc = runner_stop($h);
    is $rc, 0, sprintf('exit status 0 (%.2fs)', time - $t0);
    is_deeply [map { status_of($_) } @ids], [qw(stopped stopped stopped)],
        'all three reported stopped';
    like runner_log($h), qr/\Q$ids[2]\E stopped signal=SIGKILL/,
        'the one ignoring SIGTERM by SIGKILL after the grace';
    ok !launcher_info($lid), 'deregistered itself';
    ok !grep({ !gone($_) } values %$pids), 'no executor left';
};

runner_flow 'a second SIGINT/SIGTERM kills the executors and exits at once', 4, sub {
    my $h = start_runner(args => ['--stop-grace', '30']);
    ok runner_launcher($h), 'registered';
    my ($id) = create_run(session_name => 'twice', prompt => 'sleep=30 ignore-term');
    wait_status($id, 'running');
    sleep 0.2;
    my $pid = runner_pids($h)->{$id};
    runner_signal($h, 'INT');        # SIGINT first: the same way out
    Runs::wait_for(5, sub { runner_log($h) =~ /\Q$id\E stopping signal=SIGTERM/ });
    runner_signal($h, 'TERM');
    my $t0 = time;
    my $rc = runner_wait($h, 5);
    is $rc, 143, sprintf('exit status 143 (128 + SIGTERM), in %.2fs', time - $t0);
    ok $pid && Runs::wait_for(3, sub { gone($pid) }), 'the executor was killed';
};

runner_flow 'deregistered by the coordinator: runs stopped, exit 0', 5, sub {
    my $h = start_runner(args => ['--stop-grace', '0.5']);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    my ($id) = create_run(session_name => 'dereg', prompt => 'sleep=30');
    wait_status($id, 'running');
    # the runner's "started pid=" line may come just after its report
    my $pid;
    Runs::wait_for(3, sub { $pid = runner_pids($h)->{$id} });
    is deregister($lid)->{status}, 200, 'DELETE /launchers/{id}';
    is runner_wait($h, 10), 0, 'the runner exits 0';
    my $st = status_of($id);
    # its SIGKILL may still be on its way when the runner has exited
    ok $pid && Runs::wait_for(3, sub { gone($pid) })
       && $st =~ /^(failed|stopped)$/,
       "its executor was stopped (the run: $st)";
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: stops: pending, running (SIGTERM), ignoring SIGTERM (SIGKILL), ending first
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: stops reach a runner whose slots are all busy
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: SIGTERM: executors stopped and reported, self-deregistration, exit 0
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: a second SIGINT/SIGTERM kills the executors and exits at once
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 5: deregistered by the coordinator: runs stopped, exit 0
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]
