# agent-runner when things go wrong: executors that fail (exit status,
# signal, long stderr: the tail of stderr becomes the run's error), an
# executor or project dir that cannot be used, a runner killed with
# SIGKILL (its run fails "launcher lost" after the expiry, another runner
# takes the pending runs), a coordinator that is not there yet, and one
# restarted under a live runner (the runner registers again and carries on;
# reports about runs the new coordinator does not know are dropped).
#
# The coordinator restart: SIGQUIT to the nginx Test::Nginx::Socket
# started, then the same binary with the same -p/-c (RunsRunner::
# restart_nginx).  A new nginx process has a new, empty runs_zone, so the
# runner sees both a refused connection and a 401; both harnesses (the
# real Test::Nginx::Socket and t/fallback) find the new nginx through
# logs/nginx.pid and stop it after the block.  A HUP with a changed zone
# size would need a rewritten nginx.conf behind the harness's back.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use IO::Socket::INET ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

runner_flow 'failing executors: exit status, signal, the tail of stderr as error', 9, sub {
    my $h = start_runner();
    ok runner_launcher($h), 'registered';
    my ($f) = create_run(session_name => 'fail-code', prompt => 'fail=3 stderr=it-broke');
    my ($c) = create_run(session_name => 'fail-crash', prompt => 'crash');
    my ($l) = create_run(session_name => 'fail-long',
                         prompt => 'spew=10000 stderr=LAST-WORDS fail');
    my ($d) = create_run(session_name => 'fail-dir', prompt => 'x',
                         project_dir => '/nonexistent/agent-runs-dir');
    my %r = map { $_ => (wait_terminal($_, 10) || {}) } $f, $c, $l, $d;
    is $r{$f}{status}, 'failed', 'exit status 3: failed';
    is $r{$f}{error}, "it-broke\nagent-executor-echo: failing with exit status 3 as asked",
       'error: its stderr';
    is $r{$c}{status}, 'failed', 'killed by SIGABRT: failed';
    like runner_log($h), qr/\Q$c\E failed how="killed by SIGABRT"/, 'logged with the signal';
    my $e = $r{$l}{error} // '';
    ok $r{$l}{status} eq 'failed' && length($e) <= 2048 + 3 && length($e) > 1500
       && $e =~ /^\.\.\.x*\n/ && $e =~ /LAST-WORDS\nagent-executor-echo: failing with exit status 1 as asked$/,
       sprintf('long stderr: its last 2 KB (%d bytes)', length $e);
    is $r{$d}{status}, 'failed', 'a project dir that does not exist: failed';
    is $r{$d}{error}, 'project dir /nonexistent/agent-runs-dir is not usable: No such file or directory',
       'with a clear error';
};

runner_flow 'an executor that cannot be executed: failed with a clear error', 6, sub {
    my $tmp = File::Temp->new(SUFFIX => '-not-executable');
    print $tmp "#!/bin/sh\nexit 0\n";
    close $tmp;
    chmod 0644, "$tmp";
    my $h1 = start_runner(args => ['--executor', '/nonexistent/agent-x'], name => 'missing');
    ok runner_launcher($h1), 'a runner with a missing executor registers';
    my ($a) = create_run(session_name => 'noexec-a', prompt => 'x');
    my $r = wait_terminal($a, 10) || {};
    is "$r->{status}: $r->{error}",
       'failed: executor /nonexistent/agent-x could not be executed: No such file or directory',
       'a missing executor';
    is runner_stop($h1), 0, 'and the runner carries on, exit 0';

    my $h2 = start_runner(args => ['--executor', "$tmp"], name => 'not executable');
    runner_launcher($h2);
    my ($b) = create_run(session_name => 'noexec-b', prompt => 'x');
    $r = wait_terminal($b, 10) || {};
    is "$r->{status}: $r->{error}",
       "failed: executor $tmp could not be executed: Permission denied",
       'a file that is not executable';
    is runner_stop($h2), 0, 'exit 0';
};

runner_flow 'runner killed with SIGKILL: its run fails "launcher lost", another runner takes the pending ones', 8, sub {
    my $a = start_runner(args => ['--max-concurrent', '1'], name => 'killed');
    my $lid = runner_launcher($a);
    ok $lid, 'registered';
    my ($running) = create_run(session_name => 'lost-a', prompt => 'sleep=30');
    is wait_status($running, 'running'), 'running', 'a run is running';
    my ($pending) = create_run(session_name => 'lost-b', prompt => 'sleep=0.1');
    my $pid = runner_pids($a)->{$running};
    runner_signal($a, 'KILL');
    runner_wait($a, 5);
    kill 'KILL', -$pid if $pid;     # the orphaned executor
    is status_of($running), 'running', 'right after the SIGKILL its run is still running';
    my $t0 = time;
    my $r = wait_terminal($running, 10) || {};
    is "$r->{status}: $r->{error}", 'failed: launcher lost',
       sprintf('failed "launcher lost" after the expiry (%.1fs)', time - $t0);
    ok !launcher_info($lid), 'the launcher is gone';
    is status_of($pending), 'pending', 'the run it had not claimed is still pending';
    my $b = start_runner(name => 'second');
    my $lid2 = runner_launcher($b);
    $r = wait_terminal($pending, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid2", 'the second runner executes it';
};

runner_flow 'a coordinator that is not there: the runner retries with backoff', 4, sub {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp') or die "listen: $!";
    my $port = $s->sockport;
    close $s;
    my $h = start_runner(url => "http://127.0.0.1:$port");
    my @d = ();
    Runs::wait_for(5, sub {
        @d = runner_log($h) =~ /WARN registration failed .* retry_in=([\d.]+)s/g;
        @d >= 3;
    });
    ok @d >= 3, scalar(@d) . ' attempts in 1.5 s or so';
    ok $d[0] <= 0.5 && $d[1] > $d[0] && $d[2] > $d[1] && $d[2] <= 2,
       "delays grow: @d";
    is runner_stop($h, 5), 0,
       'SIGTERM while unregistered: exit 0 at once';
};

runner_flow 'coordinator restarted under a live runner: it registers again and carries on', 9, sub {
    my $h = start_runner(args => ['--heartbeat-interval', '0.5']);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    my ($before) = create_run(session_name => 'rs-a', prompt => 'sleep=0.1');
    is((wait_terminal($before, 10) || {})->{status}, 'completed', 'a run completes');

    # a run still running while the coordinator goes away and comes back
    # empty: its report is retried while nobody listens, then refused
    my ($during) = create_run(session_name => 'rs-b', prompt => 'sleep=1');
    wait_status($during, 'running');
    ok RunsRunner::restart_nginx(1.5), 'nginx stopped and started again (empty zone)';

    my $lid2 = Runs::wait_for(10, sub {
        my $l = runner_lid_after($h, $lid);
        $l && launcher_info($l) ? $l : undef;
    });
    ok $lid2 && $lid2 ne $lid, 'the runner registered again';
    like runner_log($h), qr/WARN the coordinator does not know this launcher launcher_id=\Q$lid\E/,
        'after a 401';
    my ($after) = create_run(session_name => 'rs-c', prompt => 'sleep=0.1');
    my $r = wait_terminal($after, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid2", 'and completes new runs';
    my $log = runner_log($h);
    like $log, qr/WARN \Q$during\E report not delivered event=completed .*retry_in=/,
        'a report while the coordinator was down was retried';
    like $log, qr/WARN \Q$during\E report refused, dropped event=completed status=40[149]/,
        'then dropped on the new coordinator\'s refusal';
};

# the launcher id of the registration after $old in the runner's log
sub runner_lid_after {
    my ($h, $old) = @_;
    my @ids = RunsRunner::runner_log($h) =~ /INFO registered launcher_id=(lnch_[0-9a-f]+)/g;
    return @ids >= 2 && $ids[-1] ne $old ? $ids[-1] : undef;
}

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: failing executors: exit status, signal, the tail of stderr as error
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: an executor that cannot be executed: failed with a clear error
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: runner killed with SIGKILL: its run fails "launcher lost", another runner takes the pending ones
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_heartbeat_interval 1s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 3s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: a coordinator that is not there: the runner retries with backoff
--- no_error_log



=== TEST 5: coordinator restarted under a live runner: it registers again and carries on
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]
