# agent-runner streams each run's log, its executor's stderr, to the
# coordinator while the run runs (POST /launcher/runs/{id}/log), and the
# executor gets contract 1.1: run_id and session_id in its payload,
# AGENT_SESSION_ID, AGENT_RUN_ID and AGENT_ORCHESTRATOR_API_URL in its
# environment.  Logs arrive whole and in order (GET /runs/{id}/log), while
# the run runs (followers in both workers), beyond runs_log_size (the
# newest bytes kept), through a proxy that fails, delays or loses the
# answers of posts (nothing doubled, nothing reordered), with invalid UTF-8
# scrubbed, and with a marker where the runner had to drop bytes it could
# not post.  A failed run keeps its log, its error tail and its result.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local ();
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

our $CONFIG = <<'_EOC_';
    location /runs { runs_api runs; add_header X-Worker $pid always; }
    location /launcher { runs_launcher_api runs; add_header X-Worker $pid always; }
    location /launchers { runs_launchers_api runs; }
_EOC_

my $UUID4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

# the stderr of the echo executor's lines=N
sub lines_text {
    my ($n) = @_;
    return join '', map { "log line $_ of $n\n" } 1 .. $n;
}

# its spew=N
sub spew_text {
    my ($n) = @_;
    my $s = '';
    for (my $left = $n; $left > 0; $left -= 80) {
        $s .= ('x' x ($left < 80 ? $left - 1 : 79)) . "\n";
    }
    return $s;
}

# GET /runs/$id/log[?query]: the response, its body as bytes
sub get_log {
    my ($id, $query) = @_;
    return Runs::req('GET', "/runs/$id/log" . (defined $query ? "?$query" : ''));
}

# the log posts the runner made for run $id (its -v request lines)
sub posts_of {
    my ($h, $id) = @_;
    my @p = runner_log($h) =~ m{DEBUG request method=POST url=\S+/launcher/runs/\Q$id\E/log(?: auth=bearer)?$}mg;
    return scalar @p;
}

sub lines_of {
    my ($file) = @_;
    open my $in, '<', $file or return [];
    my @l = map { Runs::jdec($_) } <$in>;
    close $in;
    return \@l;
}

sub epoch_of {
    my ($t) = @_;
    my ($Y, $M, $D, $h, $m, $s) = ($t // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):([\d.]+)Z$/
        or return undef;
    return Time::Local::timegm(0, $m, $h, $D, $M - 1, $Y) + $s;
}

# { pid => [keep-alive connections served by that worker] } with a
# connection in each of two workers, or undef
sub worker_conns {
    my %by;
    for my $try (1 .. 40) {
        for my $c (map { Runs::conn() } 1 .. 8) {
            my $r = eval { $c->request('GET', '/runs?limit=1', undef, undef, 5) };
            if ($r && $r->{status} == 200 && $r->{worker}) {
                push @{ $by{ $r->{worker} } }, $c;
            } else {
                $c->close;
            }
        }
        my @pids = keys %by;
        if (@pids >= 2) {
            $_->close for map { @{ $by{$_} }[1 .. $#{ $by{$_} }] } @pids;
            return { map { $_ => $by{$_}[0] } @pids[0, 1] };
        }
        sleep 0.05;
    }
    diag 'no connections in two workers';
    return undef;
}

# reads the held answers of GET ?follow=1 sent on the connections @$conns,
# all at once, until each has ended or $timeout passes: for each, status,
# headers, body, data chunks [[time, bytes], ...], end (time of the last
# chunk, or undef)
sub follow_all {
    my ($conns, $timeout) = @_;
    my $deadline = time + $timeout;
    my @st = map { { c => $_, status => 0, headers => {}, body => '', chunks => [],
                     head => 0, end => undef } } @$conns;
    while (time < $deadline && grep { !defined $_->{end} } @st) {
        my $sel = IO::Select->new(map { $_->{c}{sock} } grep { !defined $_->{end} } @st);
        my @ready = $sel->can_read($deadline - time) or last;
        for my $f (@st) {
            next if defined $f->{end} || !grep { $_ == $f->{c}{sock} } @ready;
            my $n = sysread $f->{c}{sock}, my $chunk, 65536;
            if (!$n) {
                $f->{end} = -1 if defined $n;       # closed without a last chunk
                next;
            }
            $f->{c}{buf} .= $chunk;
            follow_parse($f);
        }
    }
    return \@st;
}

sub follow_parse {
    my ($f) = @_;
    my $b = \$f->{c}{buf};
    if (!$f->{head}) {
        return if $$b !~ s/^(.*?)\r\n\r\n//s;
        my @l = split /\r\n/, $1;
        ($f->{status}) = (shift @l) =~ m{^HTTP/\d\.\d\s+(\d+)};
        for (@l) {
            my ($k, $v) = split /:\s*/, $_, 2;
            $f->{headers}{ lc $k } = $v;
        }
        $f->{head} = 1;
    }
    while ($$b =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
        my ($len, $hl) = (hex $1, length $&);
        return if length($$b) < $hl + $len + 2;
        $f->{body} .= substr($$b, $hl, $len);
        substr($$b, 0, $hl + $len + 2) = '';
        if ($len == 0) {
            $f->{end} = time;
            return;
        }
        push @{ $f->{chunks} }, [time, $len];
    }
}

# A proxy in front of the coordinator that forwards everything and, for
# the first $lose requests whose path matches $match, closes the
# connection instead of passing the coordinator's answer on: the
# coordinator did what was asked, the runner never hears of it.
# Returns { url, pid, log }.
sub start_lossy_proxy {
    my ($match, $lose) = @_;
    my $dir = File::Temp->newdir('lossy-XXXXXX', TMPDIR => 1);
    my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', ReuseAddr => 1) or die "listen: $!\n";
    my $p = { dir => $dir, log => "$dir/log", url => 'http://127.0.0.1:' . $l->sockport };
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        setpgrp(0, 0);
        local $SIG{CHLD} = 'IGNORE';
        while (1) {
            my $c = $l->accept or next;
            my $k = fork;
            if (defined $k && $k == 0) {
                close $l;
                eval { lossy_one($c, $match, $lose, "$dir") };
                POSIX::_exit(0);
            }
            close $c;
        }
    }
    close $l;
    $p->{pid} = $pid;
    return $p;
}

sub lossy_one {
    my ($c, $match, $lose, $dir) = @_;
    my ($head, $body) = RunsRunner::_proxy_read_request($c) or return;
    my ($method, $path) = $head =~ /^(\S+) (\S+)/;
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => Runs::port(),
                                  Proto => 'tcp') or die "connect: $!\n";
    $head =~ s/\r\nConnection:[^\r\n]*//gi;
    print {$u} "$head\r\nConnection: close\r\n\r\n$body";
    my $res = '';
    1 while sysread $u, $res, 65536, length $res;
    close $u;
    if ($path =~ $match) {
        for my $k (1 .. $lose) {
            if (sysopen my $f, "$dir/lost-$k", POSIX::O_CREAT() | POSIX::O_EXCL() | POSIX::O_WRONLY()) {
                open my $lg, '>>', "$dir/log";
                my ($off) = $body =~ /"offset":(\d+)/;
                print $lg "lost $path offset=$off\n";
                close $lg;
                close $c;
                return;
            }
        }
    }
    print {$c} $res;
    close $c;
}

sub stop_lossy_proxy {
    my ($p) = @_;
    kill 'KILL', -$p->{pid};
    kill 'KILL', $p->{pid};
    waitpid $p->{pid}, 0;
}

# ---------------------------------------------------------------------

runner_flow 'contract 1.1: run_id, session_id and the AGENT_ variables reach the executor', 8, sub {
    my $d = File::Temp->newdir('runner-logs-XXXXXX', TMPDIR => 1);
    my $h = start_runner();
    ok runner_launcher($h), 'a runner';
    my ($id) = create_run(session_name => 'lg-env', prompt => "env out=$d/env.jsonl");
    my $run = wait_terminal($id, 10) || {};
    is $run->{status}, 'completed', 'completed';
    like $run->{session_id} // '', $UUID4, 'the run has a session_id, a UUID v4';
    my $e = lines_of("$d/env.jsonl")->[0] || {};
    my $p = $e->{payload} || {};
    ok $p->{schema_version} eq '1.1' && $p->{run_id} eq $id
       && ($p->{session_id} // '') eq ($run->{session_id} // 'none'),
       'payload: schema 1.1, run_id, session_id' or diag explain $e;
    ok +($e->{AGENT_SESSION_ID} // '') eq ($run->{session_id} // 'none')
       && ($e->{AGENT_RUN_ID} // '') eq $id && ($e->{AGENT_SESSION_NAME} // '') eq 'lg-env'
       && ($e->{AGENT_ORCHESTRATOR_API_URL} // '') eq coordinator_url(),
       'environment: AGENT_SESSION_NAME, AGENT_SESSION_ID, AGENT_RUN_ID, '
       . 'AGENT_ORCHESTRATOR_API_URL' or diag explain $e;
    my $want = "AGENT_SESSION_NAME=lg-env\nAGENT_SESSION_ID=" . ($run->{session_id} // '')
               . "\nAGENT_RUN_ID=$id\nAGENT_ORCHESTRATOR_API_URL=" . coordinator_url() . "\n";
    my $r = get_log($id);
    is $r->{body}, $want, 'what it wrote to stderr is the run\'s log';
    is join(' ', map { $r->{headers}{$_} // '-' } qw(x-log-offset x-log-end x-run-status)),
       '0 ' . length($want) . ' completed', 'X-Log-Offset, X-Log-End, X-Run-Status';
};

runner_flow 'a log written over seconds arrives while the run runs, in order, byte for byte', 6, sub {
    my $h = start_runner();
    ok runner_launcher($h), 'a runner';
    my ($id) = create_run(session_name => 'lg-lines', prompt => 'lines=300 over=2.5');
    ok wait_status($id, 'running', 10), 'running';
    sleep 1.2;
    my $mid = get_log($id);
    my $n = () = $mid->{body} =~ /\n/g;
    ok $n > 10 && $n < 300 && index(lines_text(300), $mid->{body}) == 0
       && ($mid->{headers}{'x-run-status'} // '') eq 'running',
       "while it runs, the lines so far ($n)" or diag $mid->{body};
    my $run = wait_terminal($id, 15) || {};
    my $r = get_log($id);
    ok $run->{status} eq 'completed' && $r->{body} eq lines_text(300),
       'at the end: every line, in order, byte for byte'
       or diag sprintf('%s, %d bytes', $run->{status} // '?', length $r->{body});
    my $posts = posts_of($h, $id);
    ok $posts >= 5 && $posts <= 100, "streamed in batches ($posts posts for 300 lines)";
};

runner_flow 'a log larger than runs_log_size: the coordinator keeps its newest bytes', 5, sub {
    my $h = start_runner();
    ok runner_launcher($h), 'a runner';
    # about 100 KB, most of it at once (several full chunks)
    my ($id) = create_run(session_name => 'lg-big', prompt => 'lines=4000');
    my $run = wait_terminal($id, 15) || {};
    is $run->{status}, 'completed', 'completed';
    my $all = lines_text(4000);
    my $r = get_log($id);
    my $off = $r->{headers}{'x-log-offset'} // -1;
    ok $off == length($all) - 8192 && ($r->{headers}{'x-log-end'} // -1) == length($all),
       'X-Log-Offset: the end minus runs_log_size, X-Log-End: every byte posted'
       or diag explain $r->{headers};
    ok $r->{body} eq substr($all, length($all) - 8192), 'the newest 8k, byte for byte';
};

runner_flow 'followers in both workers get the lines while the run runs; their answers end with it', 7, sub {
    my $h = start_runner();
    ok runner_launcher($h), 'a runner';
    my $w = worker_conns();
    ok $w, 'connections in two workers';
    my ($id) = create_run(session_name => 'lg-follow', prompt => 'lines=60 over=3');
    # one follower per worker: the runner's posts land in one of them, so
    # at least one follower is woken from the other
    my @pids = sort keys %{ $w || {} };
    $w->{$_}->send('GET', "/runs/$id/log?follow=1") for @pids;
    my $st = follow_all([map { $w->{$_} } @pids], 20);
    my $run = get_run($id) || {};
    my $done = epoch_of($run->{completed_at});
    my $want = lines_text(60);
    my @ok = grep { $_->{status} == 200 && $_->{body} eq $want } @$st;
    is scalar(@ok), 2, 'both followers got the whole log, in order'
        or diag explain [map { { status => $_->{status}, bytes => length $_->{body} } } @$st];
    my @early = grep { @{ $_->{chunks} } >= 5 && $_->{chunks}[0][0] < $done - 1.5 } @$st;
    is scalar(@early), 2, 'in many pieces, the first ones well before the run ended'
        or diag explain [map { [map { $_->[0] - $done } @{ $_->{chunks} }] } @$st];
    my @ended = grep { defined $_->{end} && $_->{end} > 0 && $_->{end} < $done + 2 } @$st;
    is scalar(@ended), 2, 'both answers ended when the run did'
        or diag explain [map { $_->{end} } @$st];
    is_deeply [sort map { $_->{headers}{'x-worker'} // '' } @$st], \@pids,
        'one in each worker';
    $_->close for values %{ $w || {} };
};

runner_flow 'failed and stopped runs keep their log, their result, and the failed one its error tail', 8, sub {
    my $h = start_runner(args => ['--stop-grace', '5']);
    ok runner_launcher($h), 'a runner';
    my ($f) = create_run(session_name => 'lg-fail', prompt => 'lines=200 stderr=LAST fail=3');
    my $run = wait_terminal($f, 10) || {};
    my $want = "LAST\n" . lines_text(200)
               . "agent-executor-echo: failing with exit status 3 as asked\n";
    is $run->{status}, 'failed', 'failed';
    my $got = get_log($f)->{body};
    is $got, $want, 'its whole log' or diag explain [length $got, length $want, substr($got, 0, 300)];
    my $e = $run->{error} // '';
    ok length($e) > 1500 && length($e) <= 2048 + 3 && $e =~ /^\.\.\./
       && "$e\n" eq '...' . substr($want, length($want) - (length($e) - 3) - 1),
       'its error: the last 2 KB of the same stderr' or diag $e;
    is $run->{result}, "lines=200 stderr=LAST fail=3\n", 'its result: its stdout';

    my ($s) = create_run(session_name => 'lg-stop', prompt => 'lines=1000 over=50 term-exit=1');
    ok wait_for(10, sub { (get_log($s)->{body} =~ tr/\n//) >= 5 }), 'a long run logs';
    stop_run($s);
    $run = wait_terminal($s, 10) || {};
    my $body = get_log($s)->{body};
    my $n = $body =~ tr/\n//;
    ok $run->{status} eq 'stopped' && $n >= 5
       && $body eq join('', map { "log line $_ of 1000\n" } 1 .. $n)
       && $run->{result} eq "lines=1000 over=50 term-exit=1\n",
       "stopped: its log up to the stop ($n lines) and its result" or diag explain [$run, $body];
};

runner_flow 'posts failed or delayed by a proxy: nothing doubled, nothing reordered', 5, sub {
    my $p = start_proxy(rules => [{ match => qr{/log$}, fail => 3, hold => 0.2,
                                    delay => 0.05 }]);
    my $h = start_runner(url => $p->{url});
    ok runner_launcher($h), 'a runner behind the proxy';
    my ($id) = create_run(session_name => 'lg-proxy', prompt => 'lines=400 over=2 spew=50000');
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'completed', 'completed';
    my $body = get_log($id)->{body};
    ok $body eq spew_text(50000) . lines_text(400), 'the whole log, once, in order'
        or diag sprintf('%d bytes of %d', length $body, length(spew_text(50000) . lines_text(400)));
    my @retried = runner_log($h) =~ /WARN \Q$id\E log post not delivered offset=\d+ bytes=\d+ status=503 /g;
    is scalar(@retried), 3, 'the three posts answered 503 were posted again';
};

runner_flow 'posts whose answers are lost: sent again, the coordinator skips what it has', 5, sub {
    my $p = start_lossy_proxy(qr{/log$}, 4);
    my $h = start_runner(url => $p->{url});
    ok runner_launcher($h), 'a runner behind the proxy';
    my ($id) = create_run(session_name => 'lg-lossy', prompt => 'spew=40000 lines=200 over=1');
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'completed', 'completed';
    my $body = get_log($id)->{body};
    ok $body eq spew_text(40000) . lines_text(200), 'the whole log, once, in order'
        or diag sprintf('%d bytes of %d', length $body, length(spew_text(40000) . lines_text(200)));
    my $lost = do { local @ARGV = ($p->{log}); local $/; <> } // '';
    my @lost = $lost =~ /offset=(\d+)/g;
    my @again = runner_log($h) =~ /WARN \Q$id\E log post not delivered offset=(\d+) /g;
    ok @lost == 4 && "@lost" eq "@again",
       'four answers lost after the coordinator took the bytes: posted again at the same offsets'
       or diag "lost: @lost; posted again: @again";
    runner_stop($h);
    stop_lossy_proxy($p);
};

runner_flow 'invalid UTF-8 on stderr arrives scrubbed, characters split between writes whole', 3, sub {
    my $h = start_runner();
    ok runner_launcher($h), 'a runner';
    my ($id) = create_run(session_name => 'lg-utf8', prompt => 'bad-utf8');
    wait_terminal($id, 10);
    my $r = "\xef\xbf\xbd";                 # U+FFFD
    is get_log($id)->{body},
       "utf8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ok\n"
       . "bad: $r $r$r $r$r$r $r$r end\n",
       'split characters whole, invalid bytes U+FFFD';
};

runner_flow 'a coordinator that does not take the log: the oldest unposted bytes dropped, and said so', 5, sub {
    # about 2 s of failed log posts while 200 KB come at once
    my $p = start_proxy(rules => [{ match => qr{/log$}, fail => 4, hold => 0.1 }]);
    my $h = start_runner(url => $p->{url}, args => ['--log-buffer', '32k']);
    ok runner_launcher($h), 'a runner with --log-buffer 32k behind the proxy';
    my ($id) = create_run(session_name => 'lg-drop', prompt => 'spew=200000 sleep=0.5');
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'completed', 'completed';
    my $all = spew_text(200000);
    my $body = get_log($id, 'offset=0')->{body};
    my ($pre, $nl, $n, $post) =
        $body =~ /^(.*?)(\n?)\[agent-runner: (\d+) bytes of this log were dropped\]\n(.*)$/s;
    # the marker starts with a newline of its own when what was posted
    # before it does not end a line
    my $fits = grep { defined $n && length($_) + $n + length($post) == length($all)
                      && index($all, $_) == 0 } defined $n ? ($pre . $nl, $pre) : ();
    ok $fits && substr($all, length($all) - length($post)) eq $post && $n >= 200000 - 65536,
       'what was posted, one line for the bytes dropped, then the newest bytes'
       or diag sprintf('%d bytes: %s', length $body, substr($body, 0, 200));
    my $said = $n // 'x';
    like runner_log($h), qr/WARN \Q$id\E log: \Q$said\E bytes of it were dropped/,
        'the runner says how many bytes of which run\'s log it dropped';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: contract 1.1: run_id, session_id and the AGENT_ variables reach the executor
--- config eval
$main::CONFIG



=== TEST 2: a log written over seconds arrives while the run runs, in order, byte for byte
--- config eval
$main::CONFIG



=== TEST 3: a log larger than runs_log_size: the coordinator keeps its newest bytes
--- http_config
    runs_zone runs 4m;
    runs_log_size 8k;
--- config eval
$main::CONFIG



=== TEST 4: followers in both workers get the lines while the run runs; their answers end with it
--- config eval
$main::CONFIG



=== TEST 5: failed and stopped runs keep their log, their result, and the failed one its error tail
--- config eval
$main::CONFIG



=== TEST 6: posts failed or delayed by a proxy: nothing doubled, nothing reordered
--- config eval
$main::CONFIG



=== TEST 7: posts whose answers are lost: sent again, the coordinator skips what it has
--- config eval
$main::CONFIG



=== TEST 8: invalid UTF-8 on stderr arrives scrubbed, characters split between writes whole
--- config eval
$main::CONFIG



=== TEST 9: a coordinator that does not take the log: the oldest unposted bytes dropped, and said so
--- config eval
$main::CONFIG
