# agent-runner against the coordinator: a start and a resume run to
# completion with the payload, environment, working directory and process
# group the executor contract gives; the runner's registration and log
# lines; --max-concurrent honoured with more runs than slots; two runners
# sharing the queue with no run executed twice; flags and environment.
#
# The runner is $TEST_RUNS_BIN/agent-runner (build.sh: build/asan, the
# ASan/UBSan build) with the echo executor next to it; every flow fails if
# a runner printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use Cwd ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

sub lines_of {
    my ($file) = @_;
    open my $in, '<', $file or return [];
    my @l = map { Runs::jdec($_) } <$in>;
    close $in;
    return \@l;
}

runner_flow 'start and resume complete with the payload, env, cwd and process group of the contract', 32, sub {
    my $d = File::Temp->newdir('runner-basic-XXXXXX', TMPDIR => 1);
    my $dir = Cwd::realpath("$d");
    mkdir "$dir/proj" or die "mkdir: $!";
    mkdir "$dir/default" or die "mkdir: $!";

    # no --executor: the echo executor next to the runner
    my $h = start_runner(args => ['--hostname', 'rb-host',
                                  '--project-dir', "$dir/default"]);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    my $l = launcher_info($lid) || {};
    is $l->{hostname}, 'rb-host', 'with --hostname';
    is $l->{project_dir}, "$dir/default", 'with --project-dir';
    is $l->{executor_type}, 'agent-executor-echo',
       'executor type: the default executor\'s file name';

    my $out = "$dir/s1.jsonl";
    my ($id) = create_run(type => 'start_session', session_name => 'rb-s1',
                          agent_name => 'coder', project_dir => "$dir/proj",
                          parent_session_name => 'boss',
                          prompt => "hello \x{e9}t\x{e9} out=$out");
    my $run = wait_terminal($id, 10) || {};
    is $run->{status}, 'completed', 'start run completed';
    is $run->{launcher_id}, $lid, 'by this runner';
    ok $run->{started_at} && $run->{completed_at}, 'started_at and completed_at set';

    my $got = lines_of($out);
    is scalar(@$got), 1, 'the executor ran once';
    my $e = $got->[0] || {};
    my $p = $e->{payload} || {};
    is_deeply [sort keys %$p],
        [sort qw(schema_version mode run_id session_name session_id prompt agent_name
                 project_dir parent_session_name)], 'payload fields';
    is $p->{schema_version}, '1.1', 'schema_version 1.1';
    is $p->{mode}, 'start', 'mode start';
    ok $p->{run_id} eq $id && ($p->{session_id} // '') eq ($run->{session_id} // '')
       && (!defined $run->{session_id} || $run->{session_id} =~ /^[0-9a-f-]{36}$/),
       'run_id, and session_id as in the run object' or diag explain [$p, $run];
    is $p->{prompt}, "hello \x{e9}t\x{e9} out=$out", 'the prompt, byte for byte';
    ok $p->{session_name} eq 'rb-s1' && $p->{agent_name} eq 'coder'
       && $p->{project_dir} eq "$dir/proj" && $p->{parent_session_name} eq 'boss',
       'session_name, agent_name, project_dir, parent_session_name';
    is $e->{AGENT_SESSION_NAME}, 'rb-s1', 'AGENT_SESSION_NAME set';
    ok $e->{AGENT_RUN_ID} eq $id
       && ($e->{AGENT_SESSION_ID} // '') eq ($run->{session_id} // ''),
       'AGENT_RUN_ID, AGENT_SESSION_ID set' or diag explain $e;
    is $e->{AGENT_ORCHESTRATOR_API_URL}, coordinator_url(),
       'AGENT_ORCHESTRATOR_API_URL: the runner\'s coordinator';
    is $e->{cwd}, "$dir/proj", 'working directory: the run\'s project dir';
    ok $e->{pgid} == $e->{pid} && $e->{pgid} != $h->{pid},
       'its own process group' or diag explain $e;

    my $sid = $p->{session_id};

    # a resume inherits agent_name and project_dir from the start run
    my ($id2) = create_run(type => 'resume_session', session_name => 'rb-s1',
                           prompt => "again out=$out");
    $run = wait_terminal($id2, 10) || {};
    is $run->{status}, 'completed', 'resume run completed';
    $e = lines_of($out)->[1] || {};
    $p = $e->{payload} || {};
    is $p->{mode}, 'resume', 'mode resume';
    ok +($p->{session_id} // '') eq ($sid // '') && $p->{run_id} eq $id2,
       'the same session_id, its own run_id';
    ok $p->{agent_name} eq 'coder' && $p->{project_dir} eq "$dir/proj",
       'inherited agent_name and project_dir reach the executor';
    # a session attribute since callbacks (SPEC 8): a resume inherits it
    is $p->{parent_session_name}, 'boss', 'and the inherited parent_session_name';
    is $e->{cwd}, "$dir/proj", 'and it runs in the inherited project dir';

    # no project dir on the run: the runner's --project-dir
    my ($id3) = create_run(session_name => 'rb-s2', prompt => "plain out=$dir/s2.jsonl");
    $run = wait_terminal($id3, 10) || {};
    is(($run->{status} // '') . ' ' . ((lines_of("$dir/s2.jsonl")->[0] || {})->{cwd} // ''),
       "completed $dir/default", 'no project_dir: runs in the runner\'s --project-dir');

    # a large prompt (the stdin pipe fills up: written as it drains) and
    # one with a NUL character
    my $big = ('0123456789abcdef' x 65536) . " out=$dir/big.jsonl";
    my ($id4) = create_run(session_name => 'rb-big', prompt => $big);
    my ($id5) = create_run(session_name => 'rb-nul', prompt => "a\x{0}b out=$dir/nul.jsonl");
    my @st = map { (wait_terminal($_, 15) || {})->{status} // '' } $id4, $id5;
    ok "@st" eq 'completed completed'
       && ((lines_of("$dir/big.jsonl")->[0] || {})->{payload}{prompt} // '') eq $big
       && ((lines_of("$dir/nul.jsonl")->[0] || {})->{payload}{prompt} // '') eq "a\x{0}b out=$dir/nul.jsonl",
       'a 1 MB prompt and a prompt with a NUL reach the executor intact';

    is runner_stop($h), 0, 'SIGTERM: exit status 0';
    # the executor's stdout is the run's result (the echo executor prints
    # the prompt), not the runner's own stdout
    is_deeply [map { (get_run($_) || {})->{result} } $id, $id2, $id3],
        ["hello \x{e9}t\x{e9} out=$out\n", "again out=$out\n", "plain out=$dir/s2.jsonl\n"],
        'the executor\'s stdout is the run\'s result'
        or diag(runner_out($h));
    my $log = runner_log($h);
    my @bad = grep { !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) \S/ }
              split /\n/, $log;
    ok !@bad, 'every log line: UTC time with ms, level, message' or diag join "\n", @bad;
    like $log, qr/^\S+Z INFO \Q$id\E started pid=\d+ /m,
        'a run\'s lines: time, level, run id, then key=value details';
};

runner_flow 'no more executors at once than --max-concurrent, and no claim beyond it', 6, sub {
    my $h = start_runner(args => ['--max-concurrent', '2']);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    my @ids = map { scalar create_run(session_name => "mc-$_", prompt => 'sleep=0.6') } 1 .. 6;
    my ($max_running, $max_held) = (0, 0);
    my $deadline = time + 20;
    while (time < $deadline) {
        my $runs = list_runs('limit=100');
        my @mine = grep { ($_->{launcher_id} // '') eq $lid } @$runs;
        my $running = grep { $_->{status} eq 'running' } @mine;
        my $held = grep { $_->{status} =~ /^(claimed|running|stopping)$/ } @mine;
        $max_running = $running if $running > $max_running;
        $max_held = $held if $held > $max_held;
        last if 6 == grep { $_->{status} eq 'completed' } @mine;
        sleep 0.03;
    }
    is $max_running, 2, 'two running at most, and two at once';
    cmp_ok $max_held, '<=', 2, 'never more than two claimed or running';
    is scalar(grep { status_of($_) eq 'completed' } @ids), 6, 'all six completed';
    is runner_stop($h), 0, 'exit status 0';
};

runner_flow 'two runners share the queue and no run is executed twice', 6, sub {
    my $d = File::Temp->newdir('runner-share-XXXXXX', TMPDIR => 1);
    my $dir = Cwd::realpath("$d");
    my @h = map { start_runner(args => ['--max-concurrent', '2'], cwd => $dir,
                               name => "runner $_") } 1 .. 2;
    my @lids = map { runner_launcher($_) } @h;
    ok $lids[0] && $lids[1], 'both registered';
    my @ids = map { scalar create_run(session_name => "share-$_",
                                      prompt => "sleep=0.25 out=$dir/all.jsonl") } 1 .. 10;
    my @runs = map { wait_terminal($_, 15) || {} } @ids;
    is scalar(grep { $_->{status} eq 'completed' } @runs), 10, 'ten runs completed';
    my $lines = lines_of("$dir/all.jsonl");
    my %seen;
    $seen{ ($_ || {})->{payload}{session_name} // '?' }++ for @$lines;
    ok @$lines == 10 && 10 == grep({ $_ == 1 } values %seen),
       'each executed exactly once' or diag explain \%seen;
    my %by;
    $by{ $_->{launcher_id} // '' }++ for @runs;
    ok $by{ $lids[0] } && $by{ $lids[1] }, 'both runners took runs'
        or diag explain \%by;
    is((($lines->[0] || {})->{cwd} // ''), $dir,
       'no project dir anywhere: the runner\'s working directory');
};

runner_flow 'configuration from the environment; flags win over it', 6, sub {
    my $d = File::Temp->newdir('runner-env-XXXXXX', TMPDIR => 1);
    my $dir = Cwd::realpath("$d");
    my $closed = 'http://127.0.0.1:9';
    my $h = start_runner(no_defaults => 1, args => ['-v', '--hostname', 'env-host'], env => {
        AGENT_ORCHESTRATOR_API_URL => coordinator_url(),
        AGENT_EXECUTOR_PATH => RunsRunner::bin_dir() . '/agent-executor-echo',
        PROJECT_DIR => $dir, POLL_TIMEOUT => '4.5', HEARTBEAT_INTERVAL => '0.25',
    });
    my $lid = runner_launcher($h);
    my $l = launcher_info($lid) || {};
    ok $lid && $l->{project_dir} eq $dir,
       'AGENT_ORCHESTRATOR_API_URL, AGENT_EXECUTOR_PATH and PROJECT_DIR used';
    like runner_log($h), qr/registered .* poll_limit=4.5s heartbeat_interval=0.25s /,
       'POLL_TIMEOUT and HEARTBEAT_INTERVAL used';
    my $hb = Runs::wait_for(3, sub {
        my @n = runner_log($h) =~ /DEBUG heartbeat launcher_id/g;
        @n >= 4 ? scalar @n : undef;
    });
    ok $hb, 'heartbeats every 0.25s';
    runner_stop($h);

    my $h2 = start_runner(args => ['--poll-timeout', '7', '--heartbeat-interval', '3',
                                   '--project-dir', '/tmp', '--executor-type', 'flagged'],
                          env => { AGENT_ORCHESTRATOR_API_URL => $closed,
                                   POLL_TIMEOUT => '4.5', HEARTBEAT_INTERVAL => '0.25',
                                   PROJECT_DIR => $dir });
    my $lid2 = runner_launcher($h2);
    $l = launcher_info($lid2) || {};
    ok $lid2 && $l->{project_dir} eq '/tmp' && $l->{executor_type} eq 'flagged',
       '--url, --project-dir, --executor-type win over the environment';
    like runner_log($h2), qr/registered .* poll_limit=7s heartbeat_interval=3s /,
       '--poll-timeout and --heartbeat-interval win';
};

runner_flow 'tags: --tag and AGENT_TAGS at every registration; a bad tag is a usage error', 15, sub {
    my $h = start_runner(args => ['--hostname', 'tag-host', '--tag', 'linux', '--tag', 'gpu,linux']);
    my $env = start_runner(env => { AGENT_TAGS => 'fast, arm64' });
    my $both = start_runner(args => ['--tag', 'only'], env => { AGENT_TAGS => 'ignored' });
    my $none = start_runner();
    my @lids = map { runner_launcher($_) } $h, $env, $both, $none;
    my @tags = map { (launcher_info($_) || {})->{tags} } @lids;
    is_deeply $tags[0], ['gpu', 'linux'], '--tag, repeated and comma-separated: GET /launchers has each once, sorted'
        or diag explain \@tags;
    like runner_log($h), qr/INFO agent-runner starting .* tags=gpu,linux pid=\d+/,
        'the runner\'s first log line names them';
    is_deeply $tags[1], ['arm64', 'fast'], 'AGENT_TAGS, comma-separated, spaces around a name dropped';
    is_deeply $tags[2], ['only'], 'a --tag wins over AGENT_TAGS';
    is_deeply $tags[3], [], 'none given: no tags';

    # the coordinator forgets every runner: the tags go with the new registration
    ok RunsRunner::restart_nginx(0), 'nginx stopped and started again (empty zone)';
    my $again = Runs::wait_for(15, sub {
        my @ids = runner_log($h) =~ /INFO registered launcher_id=(lnch_[0-9a-f]+)/g;
        @ids > 1 && launcher_info($ids[-1]) ? $ids[-1] : undef;
    });
    is_deeply [$again && $again ne $lids[0], (launcher_info($again) || {})->{tags}],
        [1, ['gpu', 'linux']], 'registered again, with its tags';

    # refused before anything is sent: exit status 2, the reason on stderr
    # (counted once the other three have registered again too)
    Runs::wait_for(15, sub {
        !grep {
            my @ids = runner_log($_) =~ /INFO registered launcher_id=(lnch_[0-9a-f]+)/g;
            !(@ids > 1 && launcher_info($ids[-1]));
        } $env, $both, $none;
    });
    my $before = scalar @{ Runs::req('GET', '/launchers')->{json}{launchers} || [] };
    my @bad = (
        [['--tag', '-gpu'], {}, qr/^agent-runner: --tag: '-gpu' is not a tag name \(1-60 characters matching \^\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]\*\$\)$/m],
        [['--tag', 'x' x 61], {}, qr/^agent-runner: --tag: 'x{61}' is not a tag name/m],
        [['--tag', 'gpu,'], {}, qr/^agent-runner: --tag: '' is not a tag name/m],
        [['--tag', "caf\x{c3}\x{a9}"], {}, qr/^agent-runner: --tag: 'caf\x{c3}\x{a9}' is not a tag name/m],
        [[map { ('--tag', "t$_") } 1 .. 65], {}, qr/^agent-runner: --tag: more than 64 tags$/m],
        [[], { AGENT_TAGS => 'gpu,bad tag' }, qr/^agent-runner: AGENT_TAGS: 'bad tag' is not a tag name/m],
    );
    for my $b (@bad) {
        my $x = start_runner(args => $b->[0], env => $b->[1], name => 'bad tags');
        my $rc = runner_wait($x, 10);
        my $log = runner_log($x);
        ok defined $rc && $rc == 2 && $log =~ $b->[2] && $log =~ /^Try 'agent-runner --help'\.$/m,
           'usage error (exit status 2): ' . ($log =~ /^(agent-runner: .{0,60})/m ? $1 : '?')
           or diag "exit status ", $rc // 'none', ":\n$log";
    }
    is scalar @{ Runs::req('GET', '/launchers')->{json}{launchers} || [] }, $before,
       'none of them registered';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: start and resume complete with the payload, env, cwd and process group of the contract
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: no more executors at once than --max-concurrent, and no claim beyond it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: two runners share the queue and no run is executed twice
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: configuration from the environment; flags win over it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 5: tags: --tag and AGENT_TAGS at every registration; a bad tag is a usage error
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]
