# Routing end to end: three agent-runners with the echo executor, each
# with its own agents (--agents-dir), tags, --hostname, --executor-type
# and --project-dir, against one nginx with two workers.
#
#   runner  host    agents           tags        executor type
#   a       host-a  coder, reviewer  gpu, linux  echo-a
#   b       host-b  writer           linux       echo-b
#   c       host-c  coder, tester    arm         echo-c
#
# Every run, made with each kind of demand (an agent, tags, a host, an
# executor type, a project dir, and their combinations; some through
# runsctl), completes on a runner that offers all it demands, by the
# hostname GET /launchers gives its launcher_id.  A session's resumes go
# to the host that ran its first run, even with other runners idle; with
# that runner stopped they wait, saying so, while a resume without
# affinity runs elsewhere; the runner started again (a new launcher id,
# the same hostname) gets them.  A run that no runner offers waits,
# saying what for, and fails after runs_demand_timeout naming what was
# missing; a run whose runner is only busy does not.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl no_sanitizer_reports);
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local ();
use File::Temp ();
use Cwd ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $TMP = File::Temp->newdir('routing-XXXXXX', TMPDIR => 1);
my $DIR = Cwd::realpath("$TMP");

my %SPEC = (
    a => { host => 'host-a', agents => ['coder', 'reviewer'], tags => ['gpu', 'linux'] },
    b => { host => 'host-b', agents => ['writer'], tags => ['linux'] },
    c => { host => 'host-c', agents => ['coder', 'tester'], tags => ['arm'] },
);

# each runner's agents dir (a folder per agent) and project dir
for my $k (sort keys %SPEC) {
    my $s = $SPEC{$k};
    $s->{agents_dir} = "$DIR/agents-$k";
    $s->{proj} = "$DIR/proj-$k";
    mkdir $_ or die "mkdir $_: $!\n" for $s->{agents_dir}, $s->{proj},
                                         map { "$s->{agents_dir}/$_" } @{ $s->{agents} };
}

# runner $k started (@extra: more arguments); its handle
sub start_named {
    my ($k, @extra) = @_;
    my $s = $SPEC{$k};
    return start_runner(name => "runner $k", args => [
        '--hostname', $s->{host}, '--agents-dir', $s->{agents_dir},
        '--executor-type', "echo-$k", '--project-dir', $s->{proj},
        '--max-concurrent', '4', (map { ('--tag', $_) } @{ $s->{tags} }), @extra,
    ]);
}

# the three runners, registered: (handles by name, launcher ids by name)
sub start_three {
    my (%extra) = @_;
    my %h = map { $_ => start_named($_, @{ $extra{$_} || [] }) } qw(a b c);
    my %lid = map { $_ => runner_launcher($h{$_}) } qw(a b c);
    return (\%h, \%lid);
}

# launcher id => hostname, from GET /launchers (every launcher ever
# seen in this flow is remembered: a runner stopped is gone from the list)
my %HOST_OF;
sub host_of {
    my ($lid) = @_;
    return undef if !defined $lid;
    if (!exists $HOST_OF{$lid}) {
        my $l = launcher_info($lid);
        $HOST_OF{$lid} = $l->{hostname} if $l;
    }
    return $HOST_OF{$lid};
}

sub remember_launchers {
    for my $l (@{ Runs::req('GET', '/launchers')->{json}{launchers} || [] }) {
        $HOST_OF{ $l->{launcher_id} } = $l->{hostname};
    }
}

# the runs, each once terminal (or as they are after $timeout)
sub wait_all {
    my ($ids, $timeout) = @_;
    my $deadline = time + $timeout;
    return [ map { wait_terminal($_, ($deadline - time) > 0.1 ? $deadline - time : 0.1) || {} } @$ids ];
}

# "run_... on host-x: completed" for a diagnostic
sub describe {
    my ($r) = @_;
    return sprintf '%s %s on %s%s', $r->{run_id} // '?', $r->{status} // '?',
        host_of($r->{launcher_id}) // 'no host',
        $r->{error} ? " ($r->{error})" : '';
}

# seconds since the epoch of "2026-11-24T10:00:01.250Z"
sub epoch {
    my ($t) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $ms) = ($t // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/
        or return undef;
    return Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y) + $ms / 1000;
}

# a run made through runsctl start/resume; its id
sub ctl_run {
    my (@args) = @_;
    my $r = runsctl([@args]);
    my ($id) = $r->{out} =~ /^(run_[0-9a-f]{12}) pending\n\z/;
    diag "runsctl @args: exit $r->{rc}: $r->{err}" if !$id;
    return $id;
}

runner_flow 'every run completes on a runner that offers what it demands', 20, sub {
    my ($h, $lid) = start_three();
    ok 3 == grep({ defined } values %$lid), 'three runners registered';
    remember_launchers();
    my %l = map { $_ => launcher_info($lid->{$_}) || {} } qw(a b c);
    is_deeply [ map { [ $l{$_}{hostname}, $l{$_}{agents}, $l{$_}{tags}, $l{$_}{executor_type} ] } qw(a b c) ],
        [ map { [ $SPEC{$_}{host}, $SPEC{$_}{agents}, $SPEC{$_}{tags}, "echo-$_" ] } qw(a b c) ],
        'GET /launchers: each with its host, agents, tags and executor type';

    my $pa = $SPEC{a}{proj};
    my $pc = $SPEC{c}{proj};
    # [what, run fields or runsctl arguments, the hosts that may run it]
    my @cases = (
        ['agent coder', { agent_name => 'coder' }, [qw(host-a host-c)]],
        ['agent reviewer', { agent_name => 'reviewer' }, ['host-a']],
        ['agent writer', { agent_name => 'writer' }, ['host-b']],
        ['agent tester', { agent_name => 'tester' }, ['host-c']],
        ['tag gpu (runsctl --tag)', ['--tag', 'gpu'], ['host-a']],
        ['tag linux', { demands => { tags => ['linux'] } }, [qw(host-a host-b)]],
        ['tag arm', { demands => { tags => ['arm'] } }, ['host-c']],
        ['host host-b (runsctl --host)', ['--host', 'host-b'], ['host-b']],
        ['host host-c', { demands => { hostname => 'host-c' } }, ['host-c']],
        ['executor type echo-b (runsctl --executor-type)', ['--executor-type', 'echo-b'], ['host-b']],
        ['project dir of c', { demands => { project_dir => $pc } }, ['host-c']],
        ['agent coder with tag linux', { agent_name => 'coder', demands => { tags => ['linux'] } }, ['host-a']],
        ['agent coder on host-c (runsctl --agent --host)', ['--agent', 'coder', '--host', 'host-c'], ['host-c']],
        ['tags gpu and linux in the project dir of a', { demands => { tags => ['gpu', 'linux'], project_dir => $pa } }, ['host-a']],
        ['nothing', {}, [qw(host-a host-b host-c)]],
    );
    my $per = 8;
    my (@ids, @of);
    for my $i (0 .. $#cases) {
        my ($what, $how) = @{ $cases[$i] };
        for my $n (1 .. $per) {
            my $name = "route-$i-$n";
            my $id = ref $how eq 'ARRAY'
                     ? ctl_run('start', $name, "sleep=0.05 case $i", @$how)
                     : scalar create_run(session_name => $name, prompt => "sleep=0.05 case $i", %$how);
            push @ids, $id // 'none';
            push @of, $i;
        }
    }
    my $runs = wait_all(\@ids, 40);
    for my $i (0 .. $#cases) {
        my ($what, undef, $hosts) = @{ $cases[$i] };
        my @mine = map { $runs->[$_] } grep { $of[$_] == $i } 0 .. $#ids;
        my %ok = map { $_ => 1 } @$hosts;
        my @bad = grep { ($_->{status} // '') ne 'completed' || !$ok{ host_of($_->{launcher_id}) // '' } } @mine;
        ok @mine == $per && !@bad, "$what: $per runs completed on @$hosts"
            or diag join "\n", map { describe($_) } @mine;
    }
    my %took;
    $took{ host_of($_->{launcher_id}) // '' }++ for @$runs;
    ok $took{'host-a'} && $took{'host-b'} && $took{'host-c'}, 'each runner took runs'
        or diag explain \%took;
    no_sanitizer_reports();
};

runner_flow 'resumes go to the host of the session\'s first run; a runner started again on that host gets them', 14, sub {
    my ($h, $lid) = start_three();
    remember_launchers();
    # sessions that may start anywhere, and three whose first run needs gpu (host-a)
    my @free = map { "aff-free-$_" } 1 .. 6;
    my @on_a = map { "aff-a-$_" } 1 .. 3;
    my %first = map { $_ => scalar create_run(session_name => $_, prompt => 'sleep=0.2 first') } @free;
    $first{$_} = create_run(session_name => $_, prompt => 'first', demands => { tags => ['gpu'] }) for @on_a;
    my $firsts = wait_all([ map { $first{$_} } @free, @on_a ], 20);
    ok !grep({ ($_->{status} // '') ne 'completed' } @$firsts), 'the sessions\' first runs completed'
        or diag join "\n", map { describe($_) } @$firsts;
    my %home = map { $_->{session_name} => host_of($_->{launcher_id}) } @$firsts;

    # three resumes each, at once, demanding nothing
    my %resumes;
    for my $s (@free, @on_a) {
        push @{ $resumes{$s} }, scalar create_run(type => 'resume_session', session_name => $s,
                                                  prompt => "resume $_") for 1 .. 3;
    }
    my %got = map { $_ => wait_all($resumes{$_}, 20) } @free, @on_a;
    my @stray = grep { my $s = $_; grep { ($_->{status} // '') ne 'completed'
                                          || (host_of($_->{launcher_id}) // '') ne ($home{$s} // '?') } @{ $got{$s} } }
                @free;
    ok !@stray, 'every resume of the sessions that started anywhere ran on their first run\'s host'
        or diag join "\n", map { my $s = $_; map { "$s (home $home{$s}): " . describe($_) } @{ $got{$s} } } @stray;
    is_deeply [ map { my $s = $_; map { host_of($_->{launcher_id}) // 'none' } @{ $got{$s} } } @on_a ],
        [ ('host-a') x 9 ], 'the resumes of the sessions that started on host-a all ran there, with b and c idle';
    ok $got{ $on_a[0] }[0]{affinity} && !defined $got{ $on_a[0] }[0]{demands},
       'resumes that demand nothing, with affinity';

    # host-a's runner stops: a resume pinned there waits and says so
    is runner_stop($h->{a}), 0, 'runner a stopped (exit status 0)';
    my $old = $lid->{a};
    my $pinned = create_run(type => 'resume_session', session_name => $on_a[0], prompt => 'while a is away');
    my $free = ctl_run('resume', $on_a[1], 'anywhere', '--no-affinity');
    my $elsewhere = wait_terminal($free // 'none', 10) || {};
    ok $elsewhere->{status} eq 'completed' && (host_of($elsewhere->{launcher_id}) // '') =~ /^host-[bc]$/,
       'a resume with --no-affinity (runsctl) runs on another host meanwhile' or diag describe($elsewhere);
    my $p = get_run($pinned // 'none') || {};
    ok $p->{status} eq 'pending' && !defined $p->{launcher_id},
       'the pinned resume is still pending, taken by no other runner' or diag explain $p;
    is $p->{waiting_for}, 'a runner on host host-a (where its session ran first)',
       'waiting for a runner on host-a, where its session ran first';
    my $r = runsctl(['list', '--session', $on_a[0], '--status', 'pending']);
    like $r->{out}, qr/^\Q$pinned\E  pending \(waiting for a runner on host host-a \(where its session ran first\)\)\s+resume\s/m,
        'runsctl list shows it beside the status' or diag $r->{out};

    # started again: a new launcher id, the same host; it gets the resumes
    $h->{a} = start_named('a');
    my $new = runner_launcher($h->{a});
    remember_launchers();
    ok $new && $new ne $old && host_of($new) eq 'host-a', 'runner a registered again: a new launcher id, host-a';
    my $done = wait_terminal($pinned // 'none', 15) || {};
    ok $done->{status} eq 'completed' && ($done->{launcher_id} // '') eq ($new // '?'),
       'the waiting resume ran on the new runner' or diag describe($done);
    my @later = map { scalar create_run(type => 'resume_session', session_name => $on_a[2], prompt => "later $_") } 1 .. 3;
    my $lr = wait_all(\@later, 15);
    ok !grep({ ($_->{status} // '') ne 'completed' || ($_->{launcher_id} // '') ne ($new // '?') } @$lr),
       'and so do new resumes of host-a\'s sessions' or diag join "\n", map { describe($_) } @$lr;
    no_sanitizer_reports();
};

runner_flow 'a run no runner offers waits, saying what for, then fails after runs_demand_timeout', 11, sub {
    # b runs one run at a time: its runs queue behind each other
    my ($h, $lid) = start_three(b => ['--max-concurrent', '1']);
    remember_launchers();
    my %want = (
        ghost => [{ agent_name => 'ghost' }, 'a runner with agent ghost'],
        tpu => [{ demands => { tags => ['tpu'] } }, 'a runner with tags tpu'],
        mixed => [{ demands => { tags => ['gpu'], hostname => 'host-b' } }, 'a runner with tags gpu, on host host-b'],
        nohost => [{ demands => { hostname => 'host-z' } }, 'a runner on host host-z'],
    );
    my @names = sort keys %want;
    my %id = map { $_ => scalar create_run(session_name => "dt-$_", prompt => 'never', %{ $want{$_}[0] }) } @names;
    # three runs of 1.6 s for b alone: the third waits for b over 3 s
    my @busy = map { scalar create_run(session_name => "dt-busy-$_", prompt => 'sleep=1.6 busy',
                                       agent_name => 'writer') } 1 .. 3;
    my $control = create_run(session_name => 'dt-arm', prompt => 'arm', demands => { tags => ['arm'] });

    is_deeply { map { $_ => (get_run($id{$_}) || {})->{waiting_for} } @names },
              { map { $_ => $want{$_}[1] } @names },
              'each run says what it waits for';
    my $r = runsctl(['list', '--status', 'pending']);
    like $r->{out}, qr/^\Q$id{ghost}\E  pending \(waiting for a runner with agent ghost\)\s+start\s+dt-ghost\s+ghost\s/m,
        'runsctl list shows it' or diag $r->{out};
    is((get_run($busy[2]) || {})->{waiting_for}, undef, 'a run whose runner is busy waits for nothing');
    my $c = wait_terminal($control, 10) || {};
    ok $c->{status} eq 'completed' && host_of($c->{launcher_id}) eq 'host-c', 'a run a runner offers runs meanwhile'
        or diag describe($c);

    my $ended = wait_all([ map { $id{$_} } @names ], 10);
    my %by = map { $_->{session_name} => $_ } @$ended;
    ok !grep({ ($by{"dt-$_"}{status} // '') ne 'failed' } @names),
       'the four failed' or diag join "\n", map { describe($_) } @$ended;
    my @wrong = grep { ($by{"dt-$_"}{error} // '') !~ /\Q$want{$_}[1]\E was not registered for 3000 ms \(runs_demand_timeout\)/ } @names;
    ok !@wrong, 'each error names what no runner offered'
        or diag explain { map { $_ => $by{"dt-$_"}{error} } @names };
    my @early = grep { my $e = $by{"dt-$_"};
                       my $t = (epoch($e->{completed_at}) // 0) - (epoch($e->{created_at}) // 0);
                       $t < 2.9 || $t > 6 } @names;
    ok !@early, 'after 3 s, not before (and within the maintenance tick\'s few seconds)'
        or diag explain { map { $_ => [ $by{"dt-$_"}{created_at}, $by{"dt-$_"}{completed_at} ] } @names };
    my $b = wait_all(\@busy, 15);
    ok !grep({ ($_->{status} // '') ne 'completed' || host_of($_->{launcher_id}) ne 'host-b' } @$b),
       'the runs that waited for the busy runner over 3 s completed on it'
        or diag join "\n", map { describe($_) } @$b;
    my @t = map { (epoch($_->{started_at}) // 0) - (epoch($_->{created_at}) // 0) } @$b;
    cmp_ok $t[2], '>', 3, 'the third of them waited over 3 s to start' or diag "@t";
    no_sanitizer_reports();
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: every run completes on a runner that offers what it demands
--- http_config
    runs_zone runs 8m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: resumes go to the host of the session's first run; a runner started again on that host gets them
--- http_config
    runs_zone runs 8m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: a run no runner offers waits, saying what for, then fails after runs_demand_timeout
--- http_config
    runs_zone runs 8m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
    runs_demand_timeout 3s;
--- no_error_log
[alert]
[emerg]
[crit]
