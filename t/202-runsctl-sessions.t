# runsctl's result, logs and sessions commands against the coordinator
# and a real agent-runner with the echo executor: result byte for byte
# (UTF-8, NUL, escape sequences unfiltered) and exit 5 when there is none
# yet; logs and logs -f following a run that writes its log over time,
# exiting with the run's status, following on without a byte twice or
# lost after a dropped connection, a reload and a 503; sessions, session,
# stop --session with pending and running runs, delete-session refused
# while a run is active.
#
# The binaries are $TEST_RUNS_BIN/{runsctl,agent-runner} (build.sh:
# build/asan); every flow fails if one printed a sanitizer report.

use utf8;
use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl runsctl_bg runsctl_running runsctl_finish
            runsctl_url no_sanitizer_reports access_log_lines);
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use IO::Socket::INET ();
use IO::Select ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $ID = qr/run_[0-9a-f]{12}/;
my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;
my @NEW = qw(result logs sessions session delete-session);

# the echo executor's result for bytes=N (src/executors/echo/main.c)
sub filler {
    my ($n) = @_;
    my $line = join('', 0 .. 9, 'a' .. 'z', 'A' .. 'Z') . "+\n";
    return substr($line x (int($n / length $line) + 1), 0, $n);
}

# the run's log as the server has it (GET /runs/ID/log), bytes
sub server_log {
    my ($id, $offset) = @_;
    my $r = Runs::req('GET', "/runs/$id/log" . (defined $offset ? "?offset=$offset" : ''));
    return $r->{status} == 200 ? $r->{body} : undef;
}

sub server_detail {
    my ($method, $path) = @_;
    my $r = Runs::req($method, $path);
    return ($r->{status}, ($r->{json} || {})->{detail} // '');
}

sub session_of {
    my ($name) = @_;
    my $r = Runs::req('GET', "/sessions/by-name/$name");
    return $r->{status} == 200 ? $r->{json}{session} : undef;
}

sub lines_of { scalar(() = $_[0] =~ /\n/g) }

# the size of a file, 0 when it is not there
sub fsize { -s $_[0] // 0 }

sub master_pid {
    open my $in, '<', Runs::server_root() . '/logs/nginx.pid' or return undef;
    my $pid = <$in>;
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# A proxy to the coordinator that passes bytes both ways as they come,
# one client connection after the other, except that it cuts the first
# answer whose request line matches $re after $cut bytes of its body
# (closing both connections mid-answer).  Returns (url, pid).
sub cutting_proxy {
    my ($re, $cut) = @_;
    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "listen: $!\n";
    my $url = 'http://127.0.0.1:' . $l->sockport;
    my $pid = fork;
    die "fork: $!\n" if !defined $pid;
    if ($pid == 0) {
        my $armed = 1;
        while (my $c = $l->accept) {
            my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => Runs::port(),
                                          Proto => 'tcp') or last;
            my $sel = IO::Select->new($c, $u);
            my ($req, $res, $cutting) = ('', '', 0);
            RELAY: while (1) {
                for my $fh ($sel->can_read(30)) {
                    my $n = sysread $fh, my $buf, 65536;
                    last RELAY if !$n;
                    if ($fh == $c) {
                        $req .= $buf;
                        $cutting = 1 if $armed && $req =~ /\A[^\r\n]*$re/;
                        syswrite $u, $buf;
                        next;
                    }
                    $res .= $buf;
                    my $h = index $res, "\r\n\r\n";
                    if ($cutting && $h >= 0 && length($res) - $h - 4 >= $cut) {
                        my $keep = $h + 4 + $cut - (length($res) - length $buf);
                        syswrite $c, substr($buf, 0, $keep) if $keep > 0;
                        $armed = 0;
                        last RELAY;
                    }
                    syswrite $c, $buf;
                }
            }
            close $u;
            close $c;
        }
        POSIX::_exit(0);
    }
    close $l;
    return ($url, $pid);
}

flow 'help and usage of the new commands', 13, sub {
    my $r = runsctl(['help']);
    my $missing = join ' ', grep { $r->{out} !~ /^  \Q$_\E\b/m } @NEW;
    ok $r->{rc} == 0 && $missing eq '', 'help lists result, logs, sessions, session, delete-session'
        or diag "missing: $missing";
    like $r->{out}, qr/^  5  result: no result yet/m, 'help documents exit status 5';
    like $r->{out}, qr/^  stop RUN_ID \| --session NAME$/m, 'help shows stop --session';
    for my $c (@NEW) {
        my $a = runsctl(['help', $c]);
        my $b = runsctl([$c, '--help']);
        ok $a->{rc} == 0 && $a->{out} =~ /^Usage: runsctl \Q$c\E\b/
           && $a->{out} eq $b->{out} && $a->{out} =~ /Examples?:/,
           "help $c and $c --help: the same text, with examples";
    }
    my @usage = (
        [['result'], qr/missing arguments/, 'result without a run'],
        [['result', 'run_000000000000', '--session', 's'], qr/not both/, 'result RUN --session'],
        [['logs'], qr/missing arguments/, 'logs without a run'],
        [['logs', 'run_000000000000', '--offset', '-1'], qr/--offset '-1'/, 'a bad --offset'],
        [['logs', 'run_000000000000', '--json'], qr/no\s+JSON form/, 'logs --json'],
        [['logs', 'run_000000000000', '-x'], qr/unknown option '-x'/, 'an unknown short option'],
        [['session', 'bad/name'], qr/is not a session name/, 'a session name that is not one'],
        [['stop'], qr/missing arguments/, 'stop without a run or session'],
        [['sessions', '--limit', 'ten'], qr/--limit 'ten'/, 'sessions --limit ten'],
        [['delete-session', '../runs'], qr/is not a session name/, 'delete-session ../runs'],
    );
    my @bad;
    for my $u (@usage) {
        my ($args, $re, $what) = @$u;
        my $x = runsctl($args);
        push @bad, "$what: rc $x->{rc}, $x->{err}"
            if $x->{rc} != 2 || $x->{err} !~ $re || $x->{out} ne '';
    }
    ok !@bad, 'usage errors: exit 2, the reason, nothing on stdout' or diag join "\n", @bad;
    my $x = runsctl(['logs', 'run_000000000000', '-f', '--url', 'http://127.0.0.1:1']);
    ok $x->{rc} == 3 && $x->{err} =~ /^runsctl: cannot reach the server at /,
       'logs -f with no server: exit 3 at once';
    $x = runsctl(['result', '--session', 'x', '--url', 'http://127.0.0.1:1']);
    is $x->{rc}, 3, 'result --session with no server: exit 3';
    $x = runsctl(['sessions', '--url', 'http://127.0.0.1:1']);
    is $x->{rc}, 3, 'sessions with no server: exit 3';
    no_sanitizer_reports();
};

runner_flow 'result: byte for byte from a real runner, exit 5 while there is none', 17, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my $prompt = "Résumé — 日本語 🚀 \"quoted\" \\ tab\tend";
    my $r = runsctl(['start', 'res-utf8', $prompt, '--wait', '--timeout', '20']);
    my ($id) = $r->{err} =~ /^($ID) pending/;
    my $want = "$prompt\n";
    utf8::encode($want);
    ok $r->{rc} == 0 && $r->{out} eq $want, 'start --wait: the answer on stdout'
        or diag explain $r;
    $r = runsctl(['result', $id // 'none']);
    ok $r->{rc} == 0 && $r->{err} eq '', 'result RUN: exit 0, nothing on stderr';
    is $r->{out}, $want, 'result RUN: the echo executor\'s stdout, byte for byte';
    $r = runsctl(['result', '--session', 'res-utf8']);
    ok $r->{rc} == 0 && $r->{out} eq $want, 'result --session: the same bytes';
    $r = runsctl(['result', $id // 'none', '--json']);
    is_deeply $r->{json}, scalar(get_run($id // 'none')), 'result RUN --json: the run object';
    $r = runsctl(['result', '--session', 'res-utf8', '--json']);
    ok $r->{rc} == 0 && ref $r->{json} eq 'HASH' && $r->{json}{run_id} eq ($id // '')
       && $r->{json}{result} eq "$prompt\n",
       'result --session --json: {"result", "run_id", ...}' or diag $r->{out};

    # 200,000 bytes of answer (runs_result_max 256k)
    my ($big) = create_run(session_name => 'res-big', prompt => 'bytes=200000');
    wait_terminal($big, 20);
    $r = runsctl(['result', $big // 'none']);
    ok $r->{rc} == 0 && $r->{out} eq filler(200000), 'a 200,000-byte result, exactly'
        or diag "rc $r->{rc}, " . length($r->{out}) . " bytes";
    # 300,000: cut at 256k, a note on stderr
    my ($cut) = create_run(session_name => 'res-cut', prompt => 'bytes=300000');
    wait_terminal($cut, 20);
    $r = runsctl(['result', $cut // 'none']);
    ok $r->{rc} == 0 && $r->{out} eq filler(262144)
       && $r->{err} =~ /^runsctl: the result of run \Q$cut\E was cut .*result_truncated/,
       'a result cut at runs_result_max: what is kept, a note on stderr'
       or diag "rc $r->{rc}, " . length($r->{out}) . " bytes, $r->{err}";

    # none yet: a running run, a session with no completed run
    my ($slow) = create_run(session_name => 'res-slow', prompt => 'sleep=30');
    ok wait_status($slow, 'running', 10), 'a long run is running';
    $r = runsctl(['result', $slow]);
    ok $r->{rc} == 5 && $r->{out} eq ''
       && $r->{err} eq "runsctl: run $slow has no result yet (status running)\n",
       'result of a running run: nothing, the reason, exit 5' or diag explain $r;
    my ($st, $detail) = server_detail('GET', '/sessions/' . (session_of('res-slow') || {})->{session_id} . '/result');
    $r = runsctl(['result', '--session', 'res-slow']);
    ok $st == 404 && $r->{rc} == 5 && $r->{out} eq ''
       && $r->{err} eq "runsctl: $detail (HTTP 404)\n",
       "result --session with no completed run: \"$detail\", exit 5" or diag explain $r;
    $r = runsctl(['result', '--session', 'res-slow', '--json']);
    ok $r->{rc} == 5 && $r->{out} eq '', '--json: nothing on stdout, exit 5';
    stop_run($slow);

    $r = runsctl(['result', 'run_000000000000']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Run not found (HTTP 404)\n",
       'result of an unknown run: 404, exit 1';
    $r = runsctl(['result', '--session', 'nobody-here']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Session not found (HTTP 404)\n",
       'result of an unknown session: 404, exit 1';
    wait_terminal($slow, 15);
    no_sanitizer_reports();
};

flow 'result: what a runner reported, unfiltered; a completed run with none', 5, sub {
    my $lid = register_launcher(hostname => 'fake');
    my ($id) = create_run(session_name => 'res-raw');
    my $run = claim($lid);
    launcher_event($id, 'started', { launcher_id => $lid });
    my $raw = "a\x{0}b \e[31mred\e[0m \x{9b}c\r\n\x{e9}\x{1F600}";
    launcher_event($id, 'completed', { launcher_id => $lid, result => $raw });
    my $r = runsctl(['result', $id]);
    my $want = $raw;
    utf8::encode($want);
    ok $r->{rc} == 0 && $r->{out} eq $want,
       'NUL, escape sequences, C1 controls, CR: the bytes as reported'
       or diag explain $r;
    $r = runsctl(['result', '--session', 'res-raw']);
    is $r->{out}, $want, 'result --session: the same';

    my ($none) = create_run(session_name => 'res-none');
    claim($lid);
    launcher_event($none, 'started', { launcher_id => $lid });
    launcher_event($none, 'completed', { launcher_id => $lid });
    $r = runsctl(['result', $none]);
    ok $r->{rc} == 5 && $r->{out} eq ''
       && $r->{err} eq "runsctl: run $none has no result (status completed)\n",
       'a completed run that reported no result: exit 5' or diag explain $r;
    my ($empty) = create_run(session_name => 'res-empty');
    claim($lid);
    launcher_event($empty, 'started', { launcher_id => $lid });
    launcher_event($empty, 'completed', { launcher_id => $lid, result => '' });
    $r = runsctl(['result', $empty]);
    ok $r->{rc} == 0 && $r->{out} eq '' && $r->{err} eq '',
       'an empty result: nothing printed, exit 0';
    no_sanitizer_reports();
};

runner_flow 'logs and logs -f: a run writing its log over time', 18, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my ($id) = create_run(session_name => 'log-slow', prompt => 'lines=20 over=4');
    my $t0 = time;
    my $f = runsctl_bg(['logs', $id, '-f']);
    sleep 2.5;
    my $mid = fsize($f->{files}{out});
    ok runsctl_running($f), 'logs -f still follows while the run writes';
    ok $mid > 0, "some lines are out already ($mid bytes at 2.5 s)";
    my $r = runsctl_finish($f, 20);
    my $log = server_log($id);
    ok $r->{rc} == 0 && $r->{err} eq '', 'logs -f: exit 0 when the run completed'
        or diag explain $r;
    ok defined $log && lines_of($log) == 20 && $r->{out} eq $log && $mid < length $log,
       'the 20 lines, byte for byte the server\'s log, written as they came'
       or diag explain [$r->{out}, $log, $mid];
    my $run = get_run($id);
    cmp_ok $r->{ended}, '>=', $t0 + 3.5, 'it ended with the run, not before';
    my $follows = access_log_lines(qr{GET /runs/\Q$id\E/log\?(offset=\d+&)?follow=1 });
    ok @$follows >= 1 && @$follows <= 3,
       'one held request (and the last, short one): no polling'
       or diag "@$follows";

    $r = runsctl(['logs', $id]);
    ok $r->{rc} == 0 && $r->{out} eq $log, 'logs: the whole log, exit 0';
    $r = runsctl(['logs', $id, '--offset', '10']);
    is $r->{out}, substr($log, 10), 'logs --offset 10: from byte 10';
    $r = runsctl(['logs', $id, '--offset', '100000']);
    ok $r->{rc} == 0 && $r->{out} eq '', '--offset beyond the end: nothing, exit 0';
    $r = runsctl(['logs', $id, '--follow']);
    ok $r->{rc} == 0 && $r->{out} eq $log && $r->{elapsed} < Runs::tf(2),
       'logs --follow on a completed run: the log at once, exit 0';

    # failed: exit 1 with its error
    my ($bad) = create_run(session_name => 'log-fail', prompt => 'lines=3 over=1 fail=3');
    $r = runsctl(['logs', $bad, '-f'], timeout => 20);
    $run = get_run($bad);
    ok $r->{rc} == 1 && $run->{status} eq 'failed' && lines_of($r->{out}) >= 3
       && $r->{out} eq server_log($bad),
       'logs -f on a run that fails: its log, exit 1' or diag explain $r;
    like $r->{err}, qr/^runsctl: run \Q$bad\E failed: /m, 'the failure on stderr';

    # stopped while followed: exit 1
    my ($stop) = create_run(session_name => 'log-stop', prompt => 'lines=100 over=50');
    $f = runsctl_bg(['logs', $stop, '-f']);
    ok wait_for(10, sub { fsize($f->{files}{out}) > 0 }), 'following a long run';
    stop_run($stop);
    $r = runsctl_finish($f, 20);
    ok $r->{rc} == 1 && $r->{err} =~ /^runsctl: run \Q$stop\E was stopped$/m
       && $r->{out} eq server_log($stop),
       'stopped while followed: the log up to then, exit 1' or diag explain $r;

    $r = runsctl(['logs', 'run_000000000000', '-f']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Run not found (HTTP 404)\n",
       'logs -f of an unknown run: 404, exit 1';
    no_sanitizer_reports();
};

runner_flow 'logs -f follows on after a dropped connection, a reload and a 503', 12, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    # the first follow is cut mid-answer, after 50 bytes of log
    my ($purl, $ppid) = cutting_proxy(qr{/log\?follow=1 }, 50);
    my ($id) = create_run(session_name => 'log-cut', prompt => 'lines=30 over=3');
    my $r = runsctl(['logs', $id, '-f'], url => $purl, timeout => 30);
    kill 'KILL', $ppid;
    waitpid $ppid, 0;
    my $log = server_log($id);
    ok $r->{rc} == 0 && defined $log && lines_of($log) == 30 && $r->{out} eq $log,
       'cut after 50 bytes: every byte once, exit 0' or diag explain [$r, $log];
    # (50 bytes of the chunked body: fewer of the log itself)
    my ($at) = $r->{err} =~ /^runsctl: the log of run \Q$id\E broke off at byte (\d+) \(.*\): following on$/m;
    ok defined $at && $at > 0 && $at < 50, 'the break is noted on stderr, with the byte reached'
        or diag $r->{err};
    my $again = access_log_lines(qr{GET /runs/\Q$id\E/log\?offset=\Q@{[ $at // -1 ]}\E&follow=1 });
    ok @$again >= 1, 'it asked again from that byte' or diag $r->{err};

    # a reload while followed: the old worker ends its follows
    ($id) = create_run(session_name => 'log-reload', prompt => 'lines=40 over=4');
    my $f = runsctl_bg(['logs', $id, '-f']);
    ok wait_for(10, sub { fsize($f->{files}{out}) > 0 }), 'following';
    my $pid = master_pid();
    ok $pid && kill('HUP', $pid), 'nginx reloads (SIGHUP)';
    $r = runsctl_finish($f, 30);
    $log = server_log($id);
    ok $r->{rc} == 0 && defined $log && lines_of($log) == 40 && $r->{out} eq $log,
       'across the reload: every byte once, exit 0' or diag explain [$r, $log];
    my $follows = access_log_lines(qr{GET /runs/\Q$id\E/log\?offset=[1-9]\d*&follow=1 });
    ok @$follows >= 2, 'it followed on from the offset reached (then the end)'
        or diag explain [$r, $follows];

    # runs_max_follows 1: a second follower gets 503 + Retry-After, and
    # gets in once the first one's run has ended
    my ($first) = create_run(session_name => 'log-max-1', prompt => 'lines=2 over=2');
    my $c = hold('GET', "/runs/$first/log?follow=1");
    sleep 0.3;
    my ($second) = create_run(session_name => 'log-max-2', prompt => 'lines=5 over=1');
    $r = runsctl(['logs', $second, '-f'], timeout => 30);
    my $held = collect($c, 10);
    ok $held->{status} == 200 && $held->{body} eq server_log($first),
       'the first follower had the whole log of its run';
    my $refused = access_log_lines(qr{GET /runs/\Q$second\E/log\?follow=1 HTTP/1\.1" 503 });
    ok $r->{rc} == 0 && $r->{out} eq server_log($second) && @$refused >= 1,
       'the second was refused (503), waited and followed: the whole log, exit 0'
       or diag explain [$r, $refused];
    no_sanitizer_reports();
};

flow 'logs: bytes no longer kept are said so', 3, sub {
    my $lid = register_launcher(hostname => 'fake');
    my ($id) = create_run(session_name => 'log-trim');
    claim($lid);
    launcher_event($id, 'started', { launcher_id => $lid });
    my $data = join '', map { sprintf "line %04d\n", $_ } 1 .. 300;   # 3,000 bytes
    my $p = launcher_event("$id", 'log', { launcher_id => $lid, offset => 0, data => $data });
    launcher_event($id, 'completed', { launcher_id => $lid });
    my $r = runsctl(['logs', $id]);
    my $start = length($data) - 1024;
    ok $p->{status} == 200 && $r->{rc} == 0 && $r->{out} eq substr($data, $start),
       'runs_log_size 1k: the newest 1,024 bytes' or diag explain [$p, $r];
    is $r->{err}, "runsctl: the log of run $id goes on at byte $start: bytes 0 to "
                  . ($start - 1) . " are no longer kept (runs_log_size)\n",
       'and stderr says which are gone';
    no_sanitizer_reports();
};

runner_flow 'sessions, session, stop --session, delete-session', 23, sub {
    my $h = start_runner(args => ['--max-concurrent', '4']);
    ok runner_launcher($h), 'a runner';

    my $r = runsctl(['start', 'ses-done', 'quick', '--agent', 'coder', '--wait']);
    my ($done) = $r->{err} =~ /^($ID) pending/;
    ($r) = runsctl(['start', 'ses-busy', 'sleep=30', '--agent', 'writer']);
    my ($busy) = $r->{out} =~ /^($ID) pending/;
    ok wait_status($busy // 'none', 'running', 10), 'ses-busy runs';
    my @queued = map { (runsctl(['resume', 'ses-busy', "next $_"])->{out} =~ /^($ID)/)[0] } 1 .. 2;
    ok @queued == 2 && !grep({ !defined || status_of($_) ne 'pending' } @queued),
       'two resumes queued behind it (pending)';

    # sessions
    $r = runsctl(['sessions']);
    my @lines = split /\n/, $r->{out};
    ok $r->{rc} == 0 && $lines[0] =~ /^SESSION\s+STATUS\s+AGENT\s+RUNS\s+LAST RUN\s+UPDATED\s+SESSION ID$/,
       'sessions: a table with its header' or diag $r->{out};
    my ($row) = grep { /^ses-busy / } @lines;
    my $sb = session_of('ses-busy') || {};
    # (a session's status is its latest run's: the queued resume's)
    is_deeply [ split /\s{2,}/, $row // '' ],
              ['ses-busy', 'pending', 'writer', 3, $queued[1] // '', $sb->{updated_at} // '', $sb->{session_id} // ''],
              'the row of a session: name, status, agent, runs, last run, updated, id';
    ok $sb->{session_id} && $sb->{session_id} =~ /^$UUID\z/, 'its session_id is a v4 UUID';
    $r = runsctl(['sessions', '--json']);
    is_deeply $r->{json}, Runs::req('GET', '/sessions')->{json}, 'sessions --json: the server\'s answer';
    $r = runsctl(['sessions', '--status', 'finished', '--agent', 'coder']);
    @lines = split /\n/, $r->{out};
    ok @lines == 2 && $lines[1] =~ /^ses-done\s+finished\s+coder\s+1\s/,
       'sessions --status finished --agent coder' or diag $r->{out};
    $r = runsctl(['sessions', '--status', 'sleeping']);
    ok $r->{rc} == 1 && $r->{err} =~ /\(HTTP 422\)\n\z/, 'a bad --status: the server\'s 422, exit 1';

    # session
    $r = runsctl(['session', 'ses-busy']);
    my ($kv, $table) = split /\n\n/, $r->{out}, 2;
    ok $r->{rc} == 0 && $kv =~ /^session_name:\s+ses-busy\nsession_id:\s+\Q$sb->{session_id}\E\nstatus:\s+pending$/m
       && $kv =~ /^run_count:\s+3$/m && $kv =~ /^parent_session_name:\s+-$/m,
       'session: key: value lines' or diag $r->{out};
    @lines = split /\n/, $table // '';
    ok @lines == 4 && $lines[0] =~ /^RUN ID\s+STATUS\s+TYPE\s+AGENT\s+CREATED\s+PROMPT$/
       && $lines[1] =~ /^\Q$busy\E\s+running\s+start\s+writer\s/ && $lines[3] =~ /^\Q$queued[1]\E\s+pending\s+resume\s/,
       'then its runs, oldest first, without a SESSION column' or diag $table;
    $r = runsctl(['session', 'ses-busy', '--json']);
    my $runs = Runs::req('GET', "/sessions/$sb->{session_id}/runs")->{json};
    is_deeply $r->{json}, { session => session_of('ses-busy'), runs => $runs->{runs} },
        'session --json: {"session", "runs"} as the server has them';

    # delete refused while a run is active
    my ($st, $detail) = server_detail('DELETE', "/sessions/$sb->{session_id}");
    $r = runsctl(['delete-session', 'ses-busy']);
    ok $st == 409 && $r->{rc} == 1 && $r->{err} eq "runsctl: $detail (HTTP 409)\n",
       'delete-session while a run runs: the server\'s 409, exit 1' or diag explain $r;

    # stop --session: the running one stopping, the pending ones cancelled
    $r = runsctl(['stop', '--session', 'ses-busy']);
    my ($first, @rest) = split /(?<=\n)/, $r->{out};
    ok $r->{rc} == 0 && ($first // '') eq "$busy stopping (its runner has been told)\n"
       && join('', sort @rest) eq join('', map { "$_ stopped (cancelled: it was pending)\n" } sort @queued),
       'stop --session: the running run stopping, then one line per pending run'
       or diag explain $r;
    ok wait_terminal($busy, 15) && status_of($busy) eq 'stopped'
       && !grep({ status_of($_) ne 'stopped' } @queued), 'the server has them all stopped';
    $r = runsctl(['stop', '--session', 'ses-busy']);
    ok $r->{rc} == 0 && $r->{out} eq "ses-busy: nothing to stop (no run pending or running)\n",
       'stop --session again: nothing to stop, exit 0';
    $r = runsctl(['stop', '--session', 'ses-busy', '--json']);
    is_deeply $r->{json}, { ok => JSON::PP::true(), session_id => $sb->{session_id}, stopped => [], cancelled => [] },
        'stop --session --json: the server\'s answer';

    # delete, then the name starts anew
    $r = runsctl(['delete-session', 'ses-busy']);
    ok $r->{rc} == 0 && $r->{out} eq "ses-busy deleted (3 runs)\n", 'delete-session: NAME deleted (3 runs)'
        or diag explain $r;
    $r = runsctl(['session', 'ses-busy']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Session not found (HTTP 404)\n" && !@{ list_runs('session_name=ses-busy') },
       'it is gone, with its runs';
    $r = runsctl(['start', 'ses-busy', 'again']);
    my $new = session_of('ses-busy') || {};
    ok $r->{rc} == 0 && $new->{session_id} && $new->{session_id} ne $sb->{session_id},
       'the name starts a new session, with a new session_id';

    my @bad;
    for my $args (['session', 'no-such'], ['delete-session', 'no-such'], ['stop', '--session', 'no-such']) {
        my $x = runsctl($args);
        push @bad, "@$args: $x->{rc} $x->{err}"
            if $x->{rc} != 1 || $x->{err} ne "runsctl: Session not found (HTTP 404)\n" || $x->{out} ne '';
    }
    ok !@bad, 'an unknown session: 404, exit 1, for each command' or diag join "\n", @bad;
    no_sanitizer_reports();
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: help and usage of the new commands



=== TEST 2: result: byte for byte from a real runner, exit 5 while there is none
--- http_config
    runs_zone runs 8m;
    runs_result_max 256k;



=== TEST 3: result: what a runner reported, unfiltered; a completed run with none



=== TEST 4: logs and logs -f: a run writing its log over time



=== TEST 5: logs -f follows on after a dropped connection, a reload and a 503
--- http_config
    runs_zone runs 4m;
    runs_max_follows 1;
--- error_log
holds runs_max_follows log follows already
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 6: logs: bytes no longer kept are said so
--- http_config
    runs_zone runs 4m;
    runs_log_size 1k;



=== TEST 7: sessions, session, stop --session, delete-session
