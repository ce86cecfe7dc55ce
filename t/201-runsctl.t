# runsctl, the command-line client, against the coordinator: every
# subcommand's output (tables, key: value, --json) and exit status, the
# server's errors on stderr, an unreachable server, start --wait and wait
# with the run's life driven from here as a fake runner, wait --timeout,
# prompts from stdin, deregister --self with the runner's token (--token,
# RUNS_LAUNCHER_TOKEN: its own, another's, none, one that cannot be; a
# location with runs_launcher_auth off).
#
# The binary is $TEST_RUNS_BIN/runsctl (build.sh: build/asan, the
# ASan/UBSan build); every flow fails if runsctl printed a sanitizer report.

use utf8;
use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl runsctl_bg runsctl_running runsctl_finish
            runsctl_url no_sanitizer_reports access_log_lines);
use Test::More;
use Time::HiRes qw(sleep time);
use Cwd ();
use File::Temp ();
use IO::Socket::INET ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $ID = qr/run_[0-9a-f]{12}/;
my @COMMANDS = qw(start resume get list stop wait launchers deregister);

# a port nothing listens on
sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "listen: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# the detail the server itself gives for a request
sub server_detail {
    my ($method, $path, $body) = @_;
    my $r = Runs::req($method, $path, $body);
    return ($r->{status}, ($r->{json} || {})->{detail} // '');
}

# the columns of a table line split on runs of 2+ spaces
sub cols { [ split /\s{2,}/, $_[0] ] }

flow 'help, usage and usage errors', 20, sub {
    my $r = runsctl([]);
    ok $r->{rc} == 2 && $r->{err} =~ /^Usage: runsctl / && $r->{out} eq '',
        'no command: usage on stderr, exit 2';

    $r = runsctl(['help']);
    my $missing = join ' ', grep { $r->{out} !~ /^  \Q$_\E\b/m } @COMMANDS;
    ok $r->{rc} == 0 && $missing eq '' && $r->{err} eq '',
        'help: every subcommand listed, exit 0' or diag "missing: $missing";
    like $r->{out}, qr/^Exit status:\n  0 .*\n(.*\n)*  2 .*\n  3 .*\n  4 /m,
        'help documents the exit codes';

    for my $c (@COMMANDS) {
        my $a = runsctl(['help', $c]);
        my $b = runsctl([$c, '--help']);
        ok $a->{rc} == 0 && $b->{rc} == 0 && $a->{out} =~ /^Usage: runsctl \Q$c\E\b/
           && $a->{out} eq $b->{out} && $a->{out} =~ /Exit status:/,
           "help $c and $c --help: the same text, exit 0";
    }

    my @usage = (
        [['bogus'], qr/no command 'bogus'/, 'unknown command'],
        [['start', 'only-session'], qr/missing arguments/, 'start without a prompt'],
        [['list', '--bogus'], qr/unknown option '--bogus'/, 'unknown option'],
        [['start', 's', 'p', '--timeout', '5'], qr/--timeout needs --wait/,
         '--timeout without --wait'],
        [['wait', 'run_000000000000', '--timeout', 'soon'], qr/--timeout 'soon'/,
         'a bad --timeout'],
        [['get', '../launchers'], qr/is not a run id/, 'a run id that is not one'],
        [['list', '--limit', 'ten'], qr/--limit 'ten'/, 'a bad --limit'],
        [['--url', 'ftp://example.org', 'list'], qr/must start with http/,
         'a URL that is not http'],
    );
    for my $u (@usage) {
        my ($args, $re, $what) = @$u;
        my $x = runsctl($args);
        ok $x->{rc} == 2 && $x->{err} =~ $re && $x->{out} eq '',
            "$what: exit 2" or diag explain $x;
    }
    no_sanitizer_reports();
};

flow 'start, get, list and resume: tables, key: value and --json', 22, sub {
    my $dir = File::Temp->newdir('ctl-cwd-XXXXXX', TMPDIR => 1);
    mkdir "$dir/app" or die "mkdir: $!\n";
    my $real = Cwd::realpath("$dir/app");

    my $r = runsctl(['start', 'fix-login', 'Fix the login bug', '--agent',
                     'coder', '--project-dir', 'app'], cwd => "$dir");
    like $r->{out}, qr/^$ID pending\n\z/, 'start prints "run_... pending"';
    ok $r->{rc} == 0 && $r->{err} eq '', 'exit 0, nothing on stderr';
    my ($id) = $r->{out} =~ /^($ID)/;
    my $run = get_run($id // 'none') || {};
    is_deeply [ @$run{qw(type session_name agent_name project_dir prompt)} ],
        ['start_session', 'fix-login', 'coder', $real, 'Fix the login bug'],
        'the server has the run, the relative --project-dir made absolute';

    # a directory that does not exist here is joined to the cwd
    $r = runsctl(['start', 'elsewhere', 'x', '--project-dir', 'not/here'],
                 cwd => "$dir");
    my ($id2) = $r->{out} =~ /^($ID)/;
    is((get_run($id2 // 'none') || {})->{project_dir},
       Cwd::realpath("$dir") . '/not/here', 'a missing relative dir: cwd joined');

    my $long = 'word ' x 40;
    $r = runsctl(['--json', 'start', 'long-one', $long]);
    my $j = $r->{json};
    ok $r->{rc} == 0 && $j && $j->{run_id} =~ /^$ID\z/ && $j->{status} eq 'pending'
       && keys %$j == 2, '--json: the server\'s {"run_id", "status"}'
       or diag $r->{out};

    # get
    $r = runsctl(['get', $id // 'none']);
    ok $r->{rc} == 0 && $r->{out} =~ /^run_id:\s+\Q$id\E$/m
       && $r->{out} =~ /^status:\s+pending$/m
       && $r->{out} =~ /^agent_name:\s+coder$/m
       && $r->{out} =~ /^parent_session_name:\s+-$/m
       && $r->{out} =~ /^prompt:\s+Fix the login bug\n\z/m,
       'get: key: value lines, null as -, the prompt last' or diag $r->{out};
    my @at = map { /^\w+:\s+/ ? length $& : () } split /\n/, $r->{out};
    ok @at >= 14 && !grep({ $_ != $at[0] } @at), 'get: values aligned';
    $r = runsctl(['get', $id // 'none', '--json']);
    my $srv = Runs::req('GET', "/runs/$id");
    ok $r->{rc} == 0 && $r->{json}, 'get --json: one JSON document';
    is_deeply $r->{json}, $srv->{json}, 'get --json: the server\'s run object';
    is $r->{out} =~ s/\n\z//r, $srv->{body} =~ s/\n\z//r,
        'get --json: byte for byte';

    # list
    $r = runsctl(['list']);
    my @lines = split /\n/, $r->{out};
    ok $r->{rc} == 0 && @lines == 4 && $lines[0] =~ /^RUN ID\s+STATUS\s+TYPE\s+SESSION\s+AGENT\s+CREATED\s+PROMPT$/,
        'list: a header and three rows' or diag $r->{out};
    my $pos = index $lines[0], 'PROMPT';
    ok !grep({ length($_) < $pos } @lines[1 .. $#lines])
       && !grep({ substr($_, index($lines[0], 'STATUS'), 7) ne 'pending' } @lines[1 .. $#lines]),
       'list: columns aligned';
    my ($longrow) = grep { /long-one/ } @lines;
    ok defined $longrow && $longrow =~ /  (word ){7}wo\.\.\.$/
       && length(substr($longrow, $pos)) <= 40,
       'list: a long prompt cut to 40 columns with ...' or diag $longrow;
    # no runner is registered: a run for an agent says it waits for one
    like $lines[1], qr/^\Q$id\E  pending \(waiting for a runner with agent coder\)\s+start\s+fix-login\s+coder\s+\S+Z\s+Fix the login bug$/,
        'list: the row of the first run, what it waits for beside its status';
    $r = runsctl(['list', '--json']);
    is_deeply $r->{json}, Runs::req('GET', '/runs')->{json},
        'list --json: the server\'s {"runs": [...]}';
    $r = runsctl(['list', '--session', 'fix-login']);
    @lines = split /\n/, $r->{out};
    ok $r->{rc} == 0 && @lines == 2 && $lines[1] =~ /fix-login/, 'list --session';
    $r = runsctl(['list', '--status', 'pending', '--limit', '2', '--json']);
    is_deeply [ map { $_->{run_id} } @{ ($r->{json} || {})->{runs} || [] } ],
        [ map { $_->{run_id} } @{ list_runs('status=pending&limit=2') } ],
        'list --status --limit: the newest two, as the server gives them';

    # resume: inherits agent and project dir
    $r = runsctl(['resume', 'fix-login', 'Now add a test']);
    my ($rid) = $r->{out} =~ /^($ID) pending\n\z/;
    $run = get_run($rid // 'none') || {};
    ok $r->{rc} == 0 && $run->{type} eq 'resume_session'
       && $run->{project_dir} eq $real && $run->{agent_name} eq 'coder',
       'resume: a resume_session run inheriting agent and project dir';

    # --url wins over the environment, the environment over the default
    $r = runsctl(['list', '--url', runsctl_url(), '--limit', '1'],
                 url => 'http://127.0.0.1:' . closed_port());
    ok $r->{rc} == 0 && $r->{out} =~ /^RUN ID/, '--url wins over AGENT_ORCHESTRATOR_API_URL';
    $r = runsctl(['list'], url => 'http://127.0.0.1:' . closed_port());
    ok $r->{rc} == 3, 'AGENT_ORCHESTRATOR_API_URL is used';
    $r = runsctl(['list'], env => { AGENT_ORCHESTRATOR_API_URL => undef });
    ok $r->{rc} == 0 || $r->{err} =~ m{localhost:8765}, 'default: http://localhost:8765';
    no_sanitizer_reports();
};

flow 'errors from the server and an unreachable server', 13, sub {
    my $r = runsctl(['get', 'run_000000000000']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Run not found (HTTP 404)\n"
       && $r->{out} eq '', 'get of an unknown run: the detail, exit 1';

    # (before any other pending run: run_in_state claims the oldest)
    my ($done) = run_in_state('completed');
    my ($first) = create_run(session_name => 'taken');
    my ($st, $detail) = server_detail('POST', '/runs',
        { type => 'start_session', session_name => 'taken', prompt => 'p' });
    $r = runsctl(['start', 'taken', 'again']);
    ok $st == 409 && $r->{rc} == 1 && $r->{err} eq "runsctl: $detail (HTTP 409)\n",
       'start of an existing session: the server\'s 409 detail' or diag explain $r;

    ($st, $detail) = server_detail('POST', '/runs',
        { type => 'start_session', session_name => 'bad name!', prompt => 'p' });
    $r = runsctl(['start', 'bad name!', 'p', '--json']);
    ok $st == 422 && $r->{rc} == 1 && $r->{err} eq "runsctl: $detail (HTTP 422)\n"
       && $r->{out} eq '', 'a bad session name: 422, nothing on stdout with --json';

    ($st, $detail) = server_detail('POST', '/runs',
        { type => 'resume_session', session_name => 'nobody', prompt => 'p' });
    $r = runsctl(['resume', 'nobody', 'p']);
    ok $st == 404 && $r->{rc} == 1 && $r->{err} eq "runsctl: $detail (HTTP 404)\n",
       'resume of an unknown session: 404';

    ($st, $detail) = server_detail('POST', "/runs/$done/stop");
    $r = runsctl(['stop', $done]);
    ok $st == 409 && $r->{rc} == 1 && $r->{err} eq "runsctl: $detail (HTTP 409)\n",
       'stop of a completed run: 409' or diag explain $r;

    $r = runsctl(['list', '--status', 'sleeping']);
    ok $r->{rc} == 1 && $r->{err} =~ /^runsctl: .*status.* \(HTTP 422\)\n\z/,
       'list --status with a bad status: 422';
    $r = runsctl(['list', '--limit', '0']);
    ok $r->{rc} == 1 && $r->{err} =~ /\(HTTP 422\)\n\z/, 'list --limit 0: 422';
    $r = runsctl(['deregister', 'lnch_000000000000']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Launcher not found (HTTP 404)\n",
       'deregister of an unknown launcher: 404';
    $r = runsctl(['wait', 'run_000000000000', '--timeout', '1']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Run not found (HTTP 404)\n",
       'wait for an unknown run: 404, exit 1';

    my $url = 'http://127.0.0.1:' . closed_port();
    my @rc;
    for my $args (['get', 'run_000000000000'], ['list'], ['start', 's', 'p'],
                  ['wait', 'run_000000000000'], ['launchers'])
    {
        my $x = runsctl(['--url', $url, @$args]);
        push @rc, "@$args: $x->{rc}"
            if $x->{rc} != 3 || $x->{err} !~ /^runsctl: cannot reach the server at \Q$url\E: /
               || $x->{out} ne '';
    }
    ok !@rc, 'unreachable server: "cannot reach", exit 3, for every command'
        or diag "@rc";

    # a server that is not the coordinator
    $r = runsctl(['list'], url => runsctl_url() . '/launcher/register');
    ok $r->{rc} == 1 || $r->{rc} == 3, 'a URL that is not the coordinator: an error';
    is get_run($first)->{status}, 'pending', 'nothing changed the first run';
    no_sanitizer_reports();
};

flow 'stop, launchers and deregister', 12, sub {
    my ($p) = create_run(session_name => 'to-stop');
    my $r = runsctl(['stop', $p]);
    ok $r->{rc} == 0 && $r->{out} =~ /^\Q$p\E stopped \(.+\)\n\z/,
       'stop of a pending run: "ID stopped (message)"' or diag $r->{out};
    is status_of($p), 'stopped', 'the server has it stopped';

    my ($run, $lid0) = run_in_state('running', undef, session_name => 'busy');
    $r = runsctl(['stop', $run // 'none', '--json']);
    ok $r->{rc} == 0 && ($r->{json} || {})->{status} eq 'stopping'
       && $r->{json}{ok} && $r->{json}{run_id} eq $run,
       'stop --json of a running run: the server\'s answer, stopping';

    my $l1 = register_launcher(hostname => 'box-one', executor_type => 'echo',
                               project_dir => '/srv/one', tags => ['linux', 'gpu']);
    my $l2 = register_launcher(hostname => 'box-two');
    $r = runsctl(['launchers']);
    my @lines = split /\n/, $r->{out};
    ok $r->{rc} == 0 && @lines == 4
       && $lines[0] =~ /^LAUNCHER ID\s+STATUS\s+HOSTNAME\s+EXECUTOR\s+TAGS\s+PROJECT DIR\s+REGISTERED\s+LAST HEARTBEAT$/,
       'launchers: a header and a row per launcher' or diag $r->{out};
    my ($row) = grep { /^\Q$l1\E / } @lines;
    is_deeply [ @{ cols($row // '') }[0 .. 5] ], [$l1, 'online', 'box-one', 'echo', 'gpu,linux', '/srv/one'],
        'launchers: the row of a launcher, its tags sorted' or diag $r->{out};
    like $row // '', qr/\s\d+\.\ds ago$/, 'launchers: seconds since the heartbeat';
    $r = runsctl(['launchers', '--json']);
    is_deeply [ map { $_->{launcher_id} } @{ ($r->{json} || {})->{launchers} || [] } ],
        [$lid0, $l1, $l2], 'launchers --json: the server\'s list';

    $r = runsctl(['deregister', $l1]);
    ok $r->{rc} == 0 && $r->{out} =~ /^\Q$l1\E deregistering \(Launcher marked for deregistration\)\n\z/,
       'deregister: external by default' or diag $r->{out};
    $r = runsctl(['launchers']);
    ok(($r->{out} =~ /^\Q$l1\E\s+online, deregistering\s/m),
       'launchers shows it deregistering');
    my $poll = poll_once($l1, 5);
    ok $poll->{json} && $poll->{json}{deregistered}, 'its next poll answers deregistered';

    $r = runsctl(['deregister', '--self', $l2, '--json', '--token', Runs::token_of($l2)]);
    ok $r->{rc} == 0 && ($r->{json} || {})->{initiated_by} eq 'self',
       'deregister --self --json (with its token): removed by "self"';
    no_sanitizer_reports();
};

flow 'deregister --self: the runner\'s token, from --token or RUNS_LAUNCHER_TOKEN', 16, sub {
    my $r = runsctl(['deregister', '--help']);
    ok $r->{rc} == 0 && $r->{out} =~ /^  --token TOKEN /m && $r->{out} =~ /\$RUNS_LAUNCHER_TOKEN/,
       'deregister --help: --token and RUNS_LAUNCHER_TOKEN' or diag $r->{out};

    my ($la, $lb, $lc, $ld) = map { scalar register_launcher(hostname => "tok-$_") } 1 .. 4;
    my ($ta, $tb) = map { Runs::token_of($_) } $la, $lb;
    my $path = "/launchers/$la?self=true";
    my ($st, $required) = do { local $Runs::NO_TOKEN = 1; server_detail('DELETE', $path) };
    my $wrong = Runs::req('DELETE', $path, undef, { Authorization => "Bearer $tb" });
    my $not_its = ($wrong->{json} || {})->{detail} // '';
    ok $st == 401 && $required =~ /^Launcher token required/ && $wrong->{status} == 401
       && $not_its =~ /^Launcher token is not this launcher's/,
       'the coordinator wants the token (runs_launcher_auth on)' or diag "$required / $not_its";

    $r = runsctl(['deregister', '--self', $la], env => { RUNS_LAUNCHER_TOKEN => undef });
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: $required (HTTP 401)\n" && $r->{out} eq '',
       'no token: the coordinator\'s 401 detail, exit 1' or diag explain $r;
    $r = runsctl(['deregister', '--self', $la], env => { RUNS_LAUNCHER_TOKEN => '' });
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: $required (HTTP 401)\n",
       'an empty RUNS_LAUNCHER_TOKEN is none' or diag explain $r;
    $r = runsctl(['deregister', '--self', $la, '--token', $tb]);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: $not_its (HTTP 401)\n" && $r->{out} eq '',
       'another launcher\'s token (--token): "not this launcher\'s", exit 1' or diag explain $r;
    $r = runsctl(['deregister', '--self', $la, '--json'], env => { RUNS_LAUNCHER_TOKEN => $tb });
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: $not_its (HTTP 401)\n" && $r->{out} eq '',
       'the same from RUNS_LAUNCHER_TOKEN, nothing on stdout with --json' or diag explain $r;

    $r = runsctl(['deregister', '--self', $la, '--token', 'rtk_ not-secret-xyz']);
    ok $r->{rc} == 2 && $r->{err} =~ /^runsctl: .*--token is not a runner token/
       && $r->{err} !~ /not-secret-xyz/ && $r->{out} eq '',
       'a --token that cannot be one: usage error, the value not shown' or diag explain $r;
    $r = runsctl(['deregister', '--self', $la], env => { RUNS_LAUNCHER_TOKEN => "rtk_x\r\nX-Evil: 1" });
    ok $r->{rc} == 2 && $r->{err} =~ /\$RUNS_LAUNCHER_TOKEN is not a runner token/
       && $r->{err} !~ /Evil/,
       'nor from RUNS_LAUNCHER_TOKEN (no header smuggled in)' or diag explain $r;
    $r = runsctl(['deregister', $la, '--token', $ta]);
    ok $r->{rc} == 2 && $r->{err} =~ /--token goes with --self/,
       '--token without --self: usage error' or diag explain $r;
    my $l = launcher_info_of($la);
    ok $l && !$l->{deregistering}, 'none of that touched the launcher';

    $r = runsctl(['deregister', '--self', $la, '--token', $ta], env => { RUNS_LAUNCHER_TOKEN => $tb });
    ok $r->{rc} == 0 && $r->{out} eq "$la deregistered (Launcher deregistered)\n" && $r->{err} eq '',
       'its own token (--token wins over RUNS_LAUNCHER_TOKEN): deregistered' or diag explain $r;
    ok !launcher_info_of($la), 'it is gone';
    $r = runsctl(['deregister', '--self', $lb, '--json'], env => { RUNS_LAUNCHER_TOKEN => $tb });
    ok $r->{rc} == 0 && ($r->{json} || {})->{initiated_by} eq 'self' && !launcher_info_of($lb),
       'its own token from RUNS_LAUNCHER_TOKEN: deregistered' or diag explain $r;
    $r = runsctl(['deregister', $lc], env => { RUNS_LAUNCHER_TOKEN => 'not a token' });
    ok $r->{rc} == 0 && $r->{out} =~ /^\Q$lc\E deregistering /,
       'an external deregistration takes no token (RUNS_LAUNCHER_TOKEN not read)' or diag explain $r;
    $r = runsctl(['deregister', '--self', $ld], url => runsctl_url() . '/open',
                 env => { RUNS_LAUNCHER_TOKEN => undef });
    ok $r->{rc} == 0 && $r->{out} eq "$ld deregistered (Launcher deregistered)\n",
       'runs_launcher_auth off: --self without a token' or diag explain $r;
    no_sanitizer_reports();
};

# GET /launchers entry of $lid, or undef
sub launcher_info_of {
    my ($lid) = @_;
    my ($l) = grep { $_->{launcher_id} eq $lid }
              @{ (Runs::req('GET', '/launchers')->{json} || {})->{launchers} || [] };
    return $l;
}

flow 'start --wait and wait, with the run driven by a fake runner', 24, sub {
    # start --wait: returns when the runner reports completed
    my $h = runsctl_bg(['start', 'waited', 'do it', '--wait', '--timeout', '20']);
    my $lid = register_launcher(hostname => 'fake');
    # (runsctl may take a moment to start: poll until the run is there)
    my $run = wait_for(10, sub { claim($lid, 1) });
    my $id = $run ? $run->{run_id} : 'none';
    is $run && $run->{session_name}, 'waited', 'the fake runner claimed the run';
    launcher_event($id, 'started', { launcher_id => $lid });
    sleep 0.5;
    ok runsctl_running($h), 'start --wait still waits while it runs';
    my $t0 = time;
    launcher_event($id, 'completed', { launcher_id => $lid,
                                       result => "The answer.\n\x{e9}\n" });
    my $r = runsctl_finish($h, 10);
    is $r->{rc}, 0, 'start --wait: exit 0 when the run completed';
    cmp_ok $r->{ended} - $t0, '<', Runs::tf(1), 'and at once';
    ok $r->{err} =~ /^\Q$id\E pending\n/ && $r->{err} =~ /^status:\s+completed$/m
       && $r->{err} =~ /^launcher_id:\s+\Q$lid\E$/m,
       'the id at once, then the final run, on stderr' or diag $r->{err};
    is $r->{out}, "The answer.\n\x{c3}\x{a9}\n", 'stdout: the result, byte for byte';
    my $waits = access_log_lines(qr{GET /runs/\Q$id\E\?wait=});
    ok @$waits == 1 && $waits->[0] =~ /wait=(19\.\d+|20) /,
       'one held GET /runs/ID?wait=N, N the time left: no polling'
       or diag @$waits;

    # wait --json: a failed run exits 1 with the error
    my ($f, $lf) = run_in_state('running', $lid, session_name => 'will-fail');
    $h = runsctl_bg(['wait', $f // 'none', '--json']);
    sleep 0.4;
    launcher_event($f, 'failed', { launcher_id => $lf, error => 'tests broke' });
    $r = runsctl_finish($h, 10);
    ok $r->{rc} == 1 && ($r->{json} || {})->{status} eq 'failed'
       && $r->{json}{error} eq 'tests broke',
       'wait --json on a failed run: the final run object, exit 1';
    is $r->{err}, "runsctl: run $f failed: tests broke\n", 'the error on stderr';
    my $w = access_log_lines(qr{GET /runs/\Q$f\E\?wait=60 });
    is scalar(@$w), 1, 'wait without --timeout: ?wait=60';

    # start --wait --json: stopped while pending exits 1, one JSON document
    $h = runsctl_bg(['start', 'to-be-stopped', 'x', '--wait', '--json']);
    my $sid = wait_for(5, sub {
        my $l = list_runs('session_name=to-be-stopped');
        @$l ? $l->[0]{run_id} : undef });
    sleep 0.3;
    stop_run($sid // 'none');
    $r = runsctl_finish($h, 10);
    ok $r->{rc} == 1 && ($r->{json} || {})->{status} eq 'stopped'
       && $r->{json}{run_id} eq $sid,
       'start --wait --json on a stopped run: only the final run, exit 1'
       or diag explain $r;
    like $r->{err}, qr/^runsctl: run \Q$sid\E was stopped\n\z/, 'stderr says stopped';

    # a completed run: wait answers at once
    my ($c) = run_in_state('completed', $lid, session_name => 'already');
    $r = runsctl(['wait', $c // 'none']);
    ok $r->{rc} == 0 && $r->{err} =~ /^status:\s+completed$/m && $r->{out} eq '',
       'wait on a completed run: exit 0, the run on stderr, no result';
    cmp_ok $r->{elapsed}, '<', Runs::tf(2), 'at once';

    # running, then stopping, then stopped by the runner: exit 1
    my ($s2) = run_in_state('running', $lid, session_name => 'stop-late');
    $h = runsctl_bg(['wait', $s2 // 'none']);
    sleep 0.3;
    stop_run($s2);
    sleep 0.3;
    launcher_event($s2, 'stopped', { launcher_id => $lid, signal => 'SIGTERM' });
    $r = runsctl_finish($h, 10);
    ok $r->{rc} == 1 && $r->{err} =~ /^status:\s+stopped$/m,
       'wait through stopping to stopped: exit 1' or diag explain $r;

    # --timeout expires: exit 4, the run as it is
    my ($p) = create_run(session_name => 'never-claimed');
    $r = runsctl(['wait', $p, '--timeout', '1']);
    is $r->{rc}, 4, 'wait --timeout 1 on a pending run: exit 4';
    ok $r->{elapsed} >= 0.9 && $r->{elapsed} < Runs::tf(3), 'after about a second'
        or diag "elapsed $r->{elapsed}";
    like $r->{err}, qr/^status:\s+pending$/m, 'prints the run as it is';
    like $r->{err}, qr/^runsctl: timed out after 1s waiting for run \Q$p\E \(status pending\)\n\z/m,
        'says it timed out';
    $r = runsctl(['wait', $p, '--timeout', '0.5', '--json']);
    ok $r->{rc} == 4 && ($r->{json} || {})->{status} eq 'pending',
        'wait --timeout 0.5 --json: exit 4, the run object';
    $w = access_log_lines(qr{GET /runs/\Q$p\E\?wait=0\.5 });
    is scalar(@$w), 1, 'a fractional timeout is one ?wait=0.5';
    $r = runsctl(['wait', $p, '--timeout', '0']);
    ok $r->{rc} == 4 && $r->{elapsed} < Runs::tf(2), 'wait --timeout 0: one look, exit 4';
    $r = runsctl(['start', 'short-wait', 'x', '--wait', '--timeout', '0.5']);
    ok $r->{rc} == 4 && $r->{err} =~ /^$ID pending\n/ && $r->{out} eq '', 'start --wait --timeout: exit 4 too';

    no_sanitizer_reports();
};

flow 'prompts from stdin: unicode, many lines, large, invalid', 10, sub {
    my $prompt = "Première ligne — ünïcødé\n日本語のテキスト 🚀\n"
               . "\ttabbed \"quotes\" \\ back\\slash\n\e[31mred\e[0m\n";
    my $bytes = $prompt;
    utf8::encode($bytes);
    my $r = runsctl(['start', 'from-stdin', '-', '--agent', 'coder'],
                    stdin => $bytes);
    my ($id) = $r->{out} =~ /^($ID) pending\n\z/;
    ok $r->{rc} == 0 && $id, 'start SESSION - reads stdin';
    my $run = get_run($id // 'none') || {};
    is $run->{prompt}, $prompt, 'the prompt arrived byte for byte';

    $r = runsctl(['get', $id // 'none']);
    my $out = $r->{out};
    utf8::decode($out);
    ok $out =~ /^prompt:(\s+)Première ligne — ünïcødé\n(\s+)日本語のテキスト 🚀\n/m
       && length($2) == length('prompt:') + length($1),
       'get: the prompt\'s lines, the next ones indented' or diag $out;
    ok $out =~ /\\x1b\[31mred\\x1b\[0m/ && $out !~ /\e/,
       'get: control characters shown as \\xNN, never sent to the terminal';

    $r = runsctl(['list', '--session', 'from-stdin']);
    $out = $r->{out};
    my $valid = utf8::decode($out);
    my ($row) = (split /\n/, $out)[1];
    ok $valid && $row =~ /Première ligne — ünïcødé 日本語.*\.\.\.$/ && $row !~ /\e/,
       'list: the prompt on one line, cut, still UTF-8' or diag $out;

    # resume from stdin, many lines
    my $many = join '', map { "line $_ ✓\n" } 1 .. 500;
    my $mb = $many;
    utf8::encode($mb);
    $r = runsctl(['resume', 'from-stdin', '-'], stdin => $mb);
    my ($rid) = $r->{out} =~ /^($ID)/;
    is((get_run($rid // 'none') || {})->{prompt}, $many, 'resume -: 500 lines');

    # large: 200 KB
    my $big = ('abcdefgh' x 25600);
    $r = runsctl(['start', 'big-one', '-'], stdin => $big);
    my ($bid) = $r->{out} =~ /^($ID)/;
    is length((get_run($bid // 'none') || {})->{prompt} // ''), length $big,
        'a 200 KB prompt from stdin';

    # not UTF-8: refused before anything is sent
    $r = runsctl(['start', 'not-utf8', '-'], stdin => "caf\xe9\n");
    ok $r->{rc} == 2 && $r->{err} =~ /PROMPT is not valid UTF-8/,
       'a prompt that is not UTF-8: exit 2';
    is scalar(@{ list_runs('session_name=not-utf8') }), 0, 'and nothing created';
    no_sanitizer_reports();
};

flow 'UTF-8 as RFC 3629 has it: refused before anything is sent', 11, sub {
    for my $bad (["\xc0\xaf", 'overlong C0 AF'], ["\xe0\x80\xaf", 'overlong E0 80 AF'],
                 ["\xf0\x80\x80\xaf", 'overlong F0 80 80 AF'],
                 ["\xed\xa0\x80", 'surrogate U+D800'], ["\xed\xbf\xbf", 'surrogate U+DFFF'],
                 ["\xf4\x90\x80\x80", 'U+110000'], ["\xe2\x82", 'cut short']) {
        my $r = runsctl(['start', 'rfc3629', '-'], stdin => "a$bad->[0]b");
        ok $r->{rc} == 2 && $r->{err} =~ /^runsctl: PROMPT is not valid UTF-8$/m
           && $r->{out} eq '', "$bad->[1]: exit 2";
    }
    my $r = runsctl(['start', "rfc3629\xed\xa0\x80", 'p']);
    ok $r->{rc} == 2 && $r->{err} =~ /SESSION is not valid UTF-8/,
       'a surrogate in SESSION: exit 2';
    is scalar(@{ list_runs('session_name=rfc3629') }), 0, 'nothing created';
    # U+D7FF U+E000 U+FFFD U+10FFFF
    my $edges = "\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf";
    $r = runsctl(['start', 'rfc3629-edges', '-'], stdin => $edges);
    my ($id) = $r->{out} =~ /^(run_[0-9a-f]{12}) pending\n\z/;
    my $want = $edges;
    utf8::decode($want);
    is((get_run($id // 'none') || {})->{prompt}, $want,
       'the valid edges are accepted and arrive as sent');
    no_sanitizer_reports();
};

flow 'where a run goes: --tag, --host, --demand-project-dir, --executor-type, --no-affinity', 16, sub {
    my $r = runsctl(['start', 'rt-gpu', 'train', '--tag', 'linux', '--tag', 'gpu,linux',
                     '--host', 'h-gpu', '--demand-project-dir', '/srv/a',
                     '--executor-type', 'echo']);
    my ($id) = $r->{out} =~ /^($ID) pending\n\z/;
    ok $r->{rc} == 0 && $id, 'start with demands: "run_... pending"' or diag explain $r;
    my $run = get_run($id // 'none') || {};
    is_deeply $run->{demands},
        { tags => ['gpu', 'linux'], hostname => 'h-gpu', project_dir => '/srv/a',
          executor_type => 'echo' },
        'GET /runs/{id}: the demands, the tags sorted and each once' or diag explain $run;
    ok $run->{affinity}, 'and affinity true by default';

    $r = runsctl(['start', 'rt-plain', 'anything']);
    my ($plain) = $r->{out} =~ /^($ID)/;
    $run = get_run($plain // 'none') || {};
    ok exists $run->{demands} && !defined $run->{demands} && $run->{affinity},
       'no demand given: "demands" is null (none sent)' or diag explain $run;
    $r = runsctl(['start', 'rt-host', 'x', '--tag', 'gpu']);
    my ($tagged) = $r->{out} =~ /^($ID)/;
    is_deeply((get_run($tagged // 'none') || {})->{demands},
              { tags => ['gpu'], hostname => undef, project_dir => undef, executor_type => undef },
              'only --tag: demands.tags alone');

    # a runner takes rt-plain, then rt-plain's resume without affinity
    my $lid = register_launcher(hostname => 'h-one');
    my $c = claim($lid, 1);
    is $c && $c->{run_id}, $plain, 'a runner without tags takes the run that demands nothing';
    launcher_event($plain, 'started', { launcher_id => $lid });
    launcher_event($plain, 'completed', { launcher_id => $lid, result => 'ok' });
    $r = runsctl(['resume', 'rt-plain', 'more', '--no-affinity']);
    my ($free) = $r->{out} =~ /^($ID)/;
    $run = get_run($free // 'none') || {};
    ok $run->{type} eq 'resume_session' && !$run->{affinity} && !defined $run->{demands},
       'resume --no-affinity: "affinity": false, no demands' or diag explain $run;
    $r = runsctl(['resume', 'rt-plain', 'pinned', '--host', 'h-two']);
    my ($pinned) = $r->{out} =~ /^($ID)/;
    $run = get_run($pinned // 'none') || {};
    ok $run->{affinity} && ($run->{demands} || {})->{hostname} eq 'h-two',
       'resume --host: demands.hostname' or diag explain $run;

    # list: a pending run that no runner can take says what for
    $r = runsctl(['list', '--status', 'pending']);
    my ($gpu_row) = grep { /^\Q$id\E / } split /\n/, $r->{out};
    is cols($gpu_row // '')->[1],
       'pending (waiting for a runner with tags gpu,linux, project_dir /srv/a, executor_type echo, on host h-gpu)',
       'list: the status of a run no runner offers says what it waits for' or diag $r->{out};
    my ($free_row) = grep { /^\Q$free\E / } split /\n/, $r->{out};
    is cols($free_row // '')->[1], 'pending',
       'a run a registered runner can take: plain pending' or diag $r->{out};
    $r = runsctl(['list', '--status', 'pending', '--json']);
    is_deeply $r->{json}, Runs::req('GET', '/runs?status=pending')->{json},
       'list --json: the server\'s runs, waiting_for among their members';

    # get: demands, affinity and waiting_for
    $r = runsctl(['get', $id // 'none']);
    ok $r->{rc} == 0
       && $r->{out} =~ /^status:\s+pending\nwaiting_for:\s+a runner with tags gpu,linux, project_dir \/srv\/a, executor_type echo, on host h-gpu\n/m
       && $r->{out} =~ /^demands:\s+tags gpu,linux; hostname h-gpu; project_dir \/srv\/a; executor_type echo$/m
       && $r->{out} =~ /^affinity:\s+true$/m,
       'get: waiting_for under the status, the demands on one line, affinity' or diag $r->{out};
    $r = runsctl(['get', $free // 'none']);
    ok $r->{out} =~ /^demands:\s+-$/m && $r->{out} =~ /^affinity:\s+false$/m
       && $r->{out} =~ /^waiting_for:\s+-$/m,
       'get: no demands, no affinity, waiting for nothing' or diag $r->{out};

    # usage errors: nothing is sent
    my $before = scalar @{ list_runs() };
    my @bad = (
        [['--tag', '-gpu'], qr/^runsctl: --tag: '-gpu' is not a tag name \(1-60 characters/],
        [['--tag', join(',', map { "t$_" } 1 .. 65)], qr/^runsctl: --tag: more than 64 tags/],
        [['--tag', 'gpu,'], qr/^runsctl: --tag: '' is not a tag name/],
        [['--host', ''], qr/^runsctl: --host is empty/],
        [['--demand-project-dir', 'srv/a'], qr/^runsctl: --demand-project-dir srv\/a: not an absolute path/],
        [['--executor-type', ''], qr/^runsctl: --executor-type is empty/],
        [['--no-affinity=yes'], qr/^runsctl: option '--no-affinity' takes no value/],
    );
    my @wrong = grep {
        my $x = runsctl(['start', 'rt-bad', 'p', @{ $_->[0] }]);
        !($x->{rc} == 2 && $x->{err} =~ $_->[1] && $x->{err} =~ /^Try 'runsctl help start'\.$/m
          && $x->{out} eq '')
    } @bad;
    ok !@wrong, 'bad demands: usage errors (exit 2) saying what is wrong'
        or diag explain \@wrong;
    is scalar @{ list_runs() }, $before, 'and no run was made';
    no_sanitizer_reports();
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: help, usage and usage errors
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: start, get, list and resume: tables, key: value and --json
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: errors from the server and an unreachable server
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: stop, launchers and deregister
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 5: start --wait and wait, with the run driven by a fake runner
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 6: prompts from stdin: unicode, many lines, large, invalid
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 7: UTF-8 as RFC 3629 has it: refused before anything is sent
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 8: where a run goes: --tag, --host, --demand-project-dir, --executor-type, --no-affinity
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 9: deregister --self: the runner's token, from --token or RUNS_LAUNCHER_TOKEN
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /open/launchers { runs_launchers_api runs; runs_launcher_auth off; }
--- no_error_log
[alert]
[emerg]
[crit]
