# Agents calling agents, end to end (docs/CALLBACKS.md): a real nginx, a
# real agent-runner with the echo executor, runsctl.  A parent's executor
# starts a child with `runsctl start --callback` (the echo word "sh:");
# the child's end queues a resume_session run of the parent whose prompt
# is the documented report; two children ending while the parent is busy
# make one merged callback run; failed and stopped children say so with
# their error; a parent deleted (or never started) gets nothing while the
# child still ends; a pending callback survives a reload; a repeated
# completed report makes no second callback; `--parent` from outside.
#
# The binaries are $TEST_RUNS_BIN/{runsctl,agent-runner,agent-executor-echo}
# (build.sh: build/asan); every flow fails if one printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl no_sanitizer_reports);
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $ID = qr/run_[0-9a-f]{12}/;
my $SANITIZER = qr/ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer/;

# the runs of a session, oldest first
sub runs_of {
    my ($name) = @_;
    return list_runs("session_name=$name&limit=1000");
}

# its resume_session runs: the callbacks, for a session started by hand
sub callbacks_of {
    my ($name) = @_;
    return [ grep { $_->{type} eq 'resume_session' } @{ runs_of($name) } ];
}

# wait until the session has $n callback runs: them, else undef
sub wait_callbacks {
    my ($name, $n, $timeout) = @_;
    return wait_for($timeout // 20, sub {
        my $c = callbacks_of($name);
        return @$c >= $n ? $c : undef;
    }, 0.1);
}

# the first run of a session, once there is one
sub first_run_of {
    my ($name, $timeout) = @_;
    return wait_for($timeout // 10, sub { runs_of($name)->[0] }, 0.1);
}

sub session_of {
    my ($name) = @_;
    my $r = Runs::req('GET', "/sessions/by-name/$name");
    return $r->{status} == 200 ? $r->{json}{session} : undef;
}

sub server_log {
    my ($id) = @_;
    my $r = Runs::req('GET', "/runs/$id/log");
    return $r->{status} == 200 ? $r->{body} : '';
}

# one block of the report (docs/CALLBACKS.md)
sub block {
    my ($name, $id, $outcome, $text) = @_;
    return "[child session \"$name\" run $id $outcome]\n$text\[end of run $id]\n";
}

# the block of a run as it ended, from its run object
sub block_of {
    my ($run) = @_;
    my $text = '';
    if ($run->{status} eq 'completed') {
        $text = $run->{result} // '';
    } else {
        $text = "error: $run->{error}\n" if defined $run->{error};
        $text .= $run->{result} if defined $run->{result};
    }
    $text .= "\n" if $text ne '' && $text !~ /\n\z/;
    return block($run->{session_name}, $run->{run_id}, $run->{status}, $text);
}

sub master_pid {
    open my $in, '<', Runs::server_root() . '/logs/nginx.pid' or return undef;
    my $pid = <$in>;
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# the end of every flow: no sanitizer report from its executors (their
# logs hold what runsctl printed inside them) or runsctl; runner_flow
# then stops the runner and checks it
sub finish_ok {
    my (@runs) = @_;
    my @bad = grep { server_log($_) =~ $SANITIZER } @runs;
    ok !@bad, 'no sanitizer report in the executors\' logs (runsctl ran there)'
        or diag join "\n", map { "--- $_:\n" . server_log($_) } @bad;
    no_sanitizer_reports();
}

runner_flow 'a child started with runsctl start --callback inside the parent reports back', 13, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p1', prompt =>
        "Plan the work\nsh: runsctl start cb-k1 'The child answers' --callback\n");
    my $run = wait_terminal($p, 30) || {};
    is $run->{status}, 'completed', 'the parent\'s run completed';
    my $log = server_log($p);
    like $log, qr/^agent-executor-echo: sh: runsctl start cb-k1 'The child answers' --callback\n$ID pending\nagent-executor-echo: sh: exit status 0$/m,
        'its executor started the child: runsctl start --callback, exit 0'
        or diag $log;

    my $k = first_run_of('cb-k1') || {};
    $k = wait_terminal($k->{run_id} // 'run_000000000000', 30) || {};
    ok +($k->{status} // '') eq 'completed'
       && ($k->{parent_session_name} // '') eq 'cb-p1'
       && ($k->{result} // '') eq "The child answers\n",
       'the child ran and completed, a child of cb-p1 ($AGENT_SESSION_NAME)'
       or diag explain $k;
    is +(session_of('cb-k1') || {})->{parent_session_name}, 'cb-p1',
       'the session cb-k1 has the parent';

    my $cbs = wait_callbacks('cb-p1', 1, 30) || [];
    my $c = $cbs->[0] ? get_run($cbs->[0]{run_id}) : {};
    is $c->{prompt}, block('cb-k1', $k->{run_id} // '', 'completed', "The child answers\n"),
       'the parent got a resume_session run: the report of the child';
    ok !defined $c->{parent_session_name}, 'the callback run has no parent (cb-p1 has none)'
        or diag explain $c;
    $c = wait_terminal($c->{run_id} // 'run_000000000000', 30) || {};
    ok +($c->{status} // '') eq 'completed' && ($c->{result} // '') eq ($c->{prompt} // '-') . "\n",
       'the parent\'s resume completed' or diag explain $c;

    sleep 1;
    is scalar @{ runs_of('cb-p1') }, 2, 'one callback, nothing more for the parent';
    is scalar @{ runs_of('cb-k1') }, 1, 'and nothing for the child: callbacks do not loop';
    finish_ok($p, $c->{run_id} // ());
};

runner_flow 'two children ending while the parent is busy: one merged callback', 12, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p2', prompt =>
        "Split the work\n"
        . "sh: runsctl start cb-k2a 'Answer A' --callback\n"
        . "sh: runsctl start cb-k2b 'Answer B' --callback\n"
        . "then wait sleep=8\n");
    ok wait_status($p, 'running', 10), 'the parent runs';

    my $ka = first_run_of('cb-k2a', 15) || {};
    my $kb = first_run_of('cb-k2b', 15) || {};
    $ka = wait_terminal($ka->{run_id} // 'run_000000000000', 20) || {};
    $kb = wait_terminal($kb->{run_id} // 'run_000000000000', 20) || {};
    ok +($ka->{status} // '') eq 'completed' && ($kb->{status} // '') eq 'completed',
       'both children completed' or diag explain [$ka, $kb];

    my $cbs = wait_callbacks('cb-p2', 1, 10) || [];
    my $c = $cbs->[0] ? get_run($cbs->[0]{run_id}) : {};
    is status_of($p), 'running', 'the parent is still busy';
    ok @$cbs == 1 && ($c->{status} // '') eq 'pending',
       'one callback run, pending behind the parent\'s run' or diag explain $cbs;
    my ($first, $second) = ($ka->{completed_at} // '') le ($kb->{completed_at} // '')
                         ? ($ka, $kb) : ($kb, $ka);
    is $c->{prompt}, block_of($first) . block_of($second),
       'its prompt holds both reports, in the order the children ended';

    $c = wait_terminal($c->{run_id} // 'run_000000000000', 30) || {};
    is $c->{status}, 'completed', 'the merged callback ran after the parent\'s run';
    is status_of($p), 'completed', 'the parent\'s first run completed before it';
    sleep 1;
    is scalar @{ runs_of('cb-p2') }, 2, 'one callback run for the two children';
    finish_ok($p, $c->{run_id} // ());
};

runner_flow 'failed and stopped children, --parent from outside', 18, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p3', prompt => 'The parent');
    is +(wait_terminal($p, 20) || {})->{status}, 'completed', 'the parent\'s run completed';

    # usage errors: --callback outside an executor, two parents
    my $r = runsctl(['start', 'cb-u', 'x', '--callback'], env => { AGENT_SESSION_NAME => undef });
    ok $r->{rc} == 2 && $r->{err} =~ /^runsctl: --callback: AGENT_SESSION_NAME is not set/,
       '--callback without AGENT_SESSION_NAME: usage error' or diag explain $r;
    $r = runsctl(['start', 'cb-u', 'x', '--callback', '--parent', 'cb-p3'],
                 env => { AGENT_SESSION_NAME => 'cb-other' });
    ok $r->{rc} == 2 && $r->{err} =~ /^runsctl: --parent cb-p3 and --callback \(AGENT_SESSION_NAME=cb-other\) name different parents/,
       '--parent and --callback naming two sessions: usage error' or diag explain $r;
    ok !session_of('cb-u'), 'nothing was sent';

    # a failed child: its error, no result (bytes=0: an empty one)
    $r = runsctl(['start', 'cb-k3f', 'cb-k3f fail bytes=0', '--parent', 'cb-p3']);
    ok $r->{rc} == 0 && $r->{out} =~ /^($ID) pending\n\z/, 'runsctl start --parent: a child'
        or diag explain $r;
    my $f = wait_terminal($1 // 'run_000000000000', 20) || {};
    ok +($f->{status} // '') eq 'failed' && ($f->{parent_session_name} // '') eq 'cb-p3'
       && ($f->{error} // '') eq 'agent-executor-echo: failing with exit status 1 as asked',
       'the child failed' or diag explain $f;
    my $cbs = wait_callbacks('cb-p3', 1, 20) || [];
    my $c1 = $cbs->[0] ? get_run($cbs->[0]{run_id}) : {};
    is $c1->{prompt}, block('cb-k3f', $f->{run_id} // '', 'failed',
                            "error: agent-executor-echo: failing with exit status 1 as asked\n"),
       'the report: failed, with "error: " and the error';
    $c1 = wait_terminal($c1->{run_id} // 'run_000000000000', 20) || {};
    is $c1->{status}, 'completed', 'the parent\'s resume completed';

    # a stopped child: a stopped run has no error; its result is what it
    # wrote (bytes=10: 10 bytes, no newline) before the stop
    $r = runsctl(['--json', 'start', 'cb-k3s', 'cb-k3s sleep=30 bytes=10', '--parent', 'cb-p3']);
    my $sid = ($r->{json} || {})->{run_id};
    ok $r->{rc} == 0 && $sid && wait_status($sid, 'running', 15), 'a second child runs'
        or diag explain $r;
    $r = runsctl(['stop', $sid // 'run_000000000000']);
    my $s = wait_terminal($sid // 'run_000000000000', 20) || {};
    ok $r->{rc} == 0 && ($s->{status} // '') eq 'stopped', 'it was stopped' or diag explain [$r, $s];
    $cbs = wait_callbacks('cb-p3', 2, 20) || [];
    my $c2 = $cbs->[1] ? get_run($cbs->[1]{run_id}) : {};
    ok !defined $s->{error} && ($s->{result} // '') eq '0123456789',
       'no error, the result it wrote' or diag explain $s;
    is $c2->{prompt}, block('cb-k3s', $s->{run_id} // '', 'stopped', "0123456789\n"),
       'the report: stopped, its result (a newline added before the end line)';
    $c2 = wait_terminal($c2->{run_id} // 'run_000000000000', 20) || {};
    is $c2->{status}, 'completed', 'the parent\'s second resume completed';
    sleep 1;
    is scalar @{ runs_of('cb-p3') }, 3, 'one callback per child run';
    finish_ok($p);
};

runner_flow 'a parent deleted before the child ends, or never started: no callback', 11, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p4', prompt => 'The parent');
    is +(wait_terminal($p, 20) || {})->{status}, 'completed', 'the parent\'s run completed';
    my $r = runsctl(['--json', 'start', 'cb-k4', 'cb-k4 sleep=3', '--parent', 'cb-p4']);
    my $k = ($r->{json} || {})->{run_id} // 'run_000000000000';
    ok wait_status($k, 'running', 15), 'the child runs' or diag explain $r;
    $r = runsctl(['delete-session', 'cb-p4']);
    ok $r->{rc} == 0 && !session_of('cb-p4'), 'the parent is deleted' or diag explain $r;
    my $run = wait_terminal($k, 20) || {};
    ok +($run->{status} // '') eq 'completed' && ($run->{result} // '') eq "cb-k4 sleep=3\n",
       'the child still ends' or diag explain $run;
    sleep 1;
    ok !session_of('cb-p4') && !@{ runs_of('cb-p4') }, 'no callback: the parent stays gone';

    # a parent that was never started; --callback and --parent naming it
    $r = runsctl(['--json', 'start', 'cb-k4b', 'orphan', '--callback', '--parent', 'cb-never'],
                 env => { AGENT_SESSION_NAME => 'cb-never' });
    $k = ($r->{json} || {})->{run_id} // 'run_000000000000';
    $run = wait_terminal($k, 20) || {};
    ok $r->{rc} == 0 && ($run->{status} // '') eq 'completed'
       && ($run->{parent_session_name} // '') eq 'cb-never',
       '--callback with the same --parent: a child of a parent never started, completed'
       or diag explain [$r, $run];
    sleep 1;
    ok !session_of('cb-never') && !@{ runs_of('cb-never') }, 'no callback, no session made';
    finish_ok($p);
};

runner_flow 'a pending callback survives a reload', 10, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p5', prompt => 'The busy parent sleep=5');
    ok wait_status($p, 'running', 10), 'the parent runs';
    my $r = runsctl(['--json', 'start', 'cb-k5', 'The child answers', '--parent', 'cb-p5']);
    my $k = wait_terminal(($r->{json} || {})->{run_id} // 'run_000000000000', 20) || {};
    my $cbs = wait_callbacks('cb-p5', 1, 10) || [];
    ok +($k->{status} // '') eq 'completed' && @$cbs == 1 && $cbs->[0]{status} eq 'pending',
       'the child completed; the parent\'s callback is pending' or diag explain [$k, $cbs];

    my $pid = master_pid();
    ok $pid && kill('HUP', $pid), 'nginx reloads (SIGHUP)';
    sleep 1;
    my $c = $cbs->[0] ? get_run($cbs->[0]{run_id}) : {};
    is $c->{prompt}, block('cb-k5', $k->{run_id} // '', 'completed', "The child answers\n"),
       'after the reload the callback run is there, its report whole';
    $c = wait_terminal($c->{run_id} // 'run_000000000000', 30) || {};
    is $c->{status}, 'completed', 'and runs once the parent\'s run ended';
    sleep 1;
    is scalar @{ runs_of('cb-p5') }, 2, 'one callback';
    finish_ok($p);
};

runner_flow 'a repeated completed report makes no second callback', 10, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($p) = create_run(session_name => 'cb-p6', prompt => 'The busy parent sleep=5');
    ok wait_status($p, 'running', 10), 'the parent runs';
    # the child goes to a launcher of the test's own, which can send its
    # report again with its token (a runner's token is its own): it
    # demands a tag the runner does not offer
    my $lid = register_launcher(hostname => 'by-hand', tags => ['by-hand']);
    my $r = runsctl(['--json', 'start', 'cb-k6', 'The child answers', '--parent', 'cb-p6',
                     '--tag', 'by-hand']);
    my $kid = ($r->{json} || {})->{run_id} // 'run_000000000000';
    my $answer = "The child answers\n";
    my $got = ($lid && claim($lid)) || {};
    my @first = (launcher_event($kid, 'started', { launcher_id => $lid }),
                 launcher_event($kid, 'completed', { launcher_id => $lid, result => $answer }));
    my $cbs = wait_callbacks('cb-p6', 1, 10) || [];
    ok +($got->{run_id} // '') eq $kid && !grep({ $_->{status} != 200 } @first)
       && @$cbs == 1 && $cbs->[0]{status} eq 'pending',
       'the child completed; the parent\'s callback is pending' or diag explain [$got, \@first, $cbs];

    # its report again, as after a lost answer; then another text
    my $r1 = launcher_event($kid, 'completed', { launcher_id => $lid, result => $answer });
    my $r2 = launcher_event($kid, 'completed', { launcher_id => $lid, result => 'another text' });
    ok $r1->{status} == 200 && $r2->{status} == 200, 'the repeated reports: 200'
        or diag explain [$r1, $r2];
    my $want = block('cb-k6', $kid, 'completed', $answer);
    my $c = $cbs->[0] ? get_run($cbs->[0]{run_id}) : {};
    is $c->{prompt}, $want, 'the pending callback still holds one report';
    $c = wait_terminal($c->{run_id} // 'run_000000000000', 30) || {};
    is $c->{status}, 'completed', 'the callback ran';

    my $r3 = launcher_event($kid, 'completed', { launcher_id => $lid, result => $answer });
    sleep 1;
    my $all = runs_of('cb-p6');
    ok $r3->{status} == 200 && @$all == 2, 'a repeat after the callback ran: no new callback'
        or diag explain [$r3, $all];
    finish_ok($p);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a child started with runsctl start --callback inside the parent reports back



=== TEST 2: two children ending while the parent is busy: one merged callback



=== TEST 3: failed and stopped children, --parent from outside



=== TEST 4: a parent deleted before the child ends, or never started: no callback



=== TEST 5: a pending callback survives a reload



=== TEST 6: a repeated completed report makes no second callback
