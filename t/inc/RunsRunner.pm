package RunsRunner;

# Helpers for the agent-runner suites (t/1xx-runner-*.t): start the runner
# ($ENV{TEST_RUNS_BIN}/agent-runner, the ASan/UBSan build under build.sh)
# against the nginx Test::Nginx::Socket started, signal it, wait for it,
# read its log, and check that no sanitizer report appeared.
#
# A flow that starts runners is declared with runner_flow instead of flow:
# it begins with cleanup() (whatever an earlier flow left running is
# ended), and after the flow's code, even when it died, every runner still
# running gets SIGTERM and its stop_wait to leave, then one assertion of
# the flow's count: runners_clean_ok (each runner ended, exit status 0
# when it was stopped there, no sanitizer report in its log).
#
# Every runner started is remembered; cleanup() ends the ones still
# running (SIGTERM, then SIGKILL) and kills the executors their logs name,
# so a flow that dies early leaves nothing behind; it also runs at exit.
#
# start_proxy() puts a small HTTP proxy between a runner and the
# coordinator: it logs when each request arrives and when its answer is
# in hand, and can hold chosen requests and answer them 503, for flows
# about the order and concurrency of what the runner sends.  It also
# notes the runner token each request carries and each registration
# answers (as digests: proxy_auth), and can take the token out of
# registration answers or out of chosen requests, for flows about the
# runner's credentials.

use strict;
use warnings;

use Digest::MD5 ();
use File::Spec ();
use File::Basename ();
use File::Temp ();
use Fcntl ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(time sleep);
use Test::More ();

use Exporter 'import';

our @EXPORT = qw(
    runner_flow
    start_runner runner_alive runner_wait runner_signal runner_stop
    runner_log runner_out runner_pids runner_launcher
    wait_terminal wait_status launcher_info coordinator_url
    restart_nginx start_proxy proxy_events proxy_auth token_digest
);

my @RUNNERS;
my @PROXIES;

sub bin_dir {
    return $ENV{TEST_RUNS_BIN} if $ENV{TEST_RUNS_BIN};
    my $dir = File::Spec->rel2abs(File::Basename::dirname(__FILE__));
    return File::Spec->catdir($dir, '..', '..', 'build', 'asan');
}

sub coordinator_url { 'http://127.0.0.1:' . Runs::port() }

# start_runner(args => [...], env => {NAME => value|undef}, cwd => DIR,
# url => URL (default: the test's nginx; undef in args means none), name,
# stop_wait => seconds it is given to exit on SIGTERM (runner_stop and
# the end of a runner_flow; default 10)) -> handle.  -v and --url are
# added unless no_defaults.
sub start_runner {
    my (%o) = @_;
    my $tmp = File::Temp->newdir('runner-XXXXXX', TMPDIR => 1);
    my %f = map { $_ => "$tmp/$_" } qw(out err);
    my @args = @{ $o{args} || [] };
    unshift @args, '--url', $o{url} // coordinator_url(), '-v'
        if !$o{no_defaults};
    my %env = (
        ASAN_OPTIONS  => $ENV{ASAN_OPTIONS}
                         || 'detect_leaks=1:abort_on_error=0:exitcode=86',
        UBSAN_OPTIONS => $ENV{UBSAN_OPTIONS}
                         || 'print_stacktrace=1:halt_on_error=1',
        # nothing from the caller's environment configures it by surprise
        AGENT_ORCHESTRATOR_API_URL => undef, AGENT_MCP_URL => undef,
        AGENT_EXECUTOR_PATH => undef,
        POLL_TIMEOUT => undef, HEARTBEAT_INTERVAL => undef,
        PROJECT_DIR => undef, AGENT_TAGS => undef,
        %{ $o{env} || {} },
    );
    my $bin = bin_dir() . '/agent-runner';
    my $pid = fork;
    die "fork: $!\n" if !defined $pid;
    if ($pid == 0) {
        eval {
            for my $k (keys %env) {
                if (defined $env{$k}) { $ENV{$k} = $env{$k} }
                else { delete $ENV{$k} }
            }
            chdir $o{cwd} or die "chdir $o{cwd}: $!\n" if defined $o{cwd};
            open STDIN, '<', '/dev/null' or die "stdin: $!\n";
            open STDOUT, '>', $f{out} or die "stdout: $!\n";
            open STDERR, '>', $f{err} or die "stderr: $!\n";
            exec { $bin } $bin, @args or die "exec $bin: $!\n";
        };
        print STDERR $@;
        POSIX::_exit(127);
    }
    my $h = { pid => $pid, t0 => time, tmp => $tmp, files => \%f,
              args => \@args, name => $o{name} // "runner $pid",
              stop_wait => $o{stop_wait} // 10 };
    push @RUNNERS, $h;
    return $h;
}

# still running?  (once it ended, its status is kept in {status})
sub runner_alive {
    my ($h) = @_;
    return 0 if defined $h->{status};
    my $w = waitpid($h->{pid}, POSIX::WNOHANG());
    return 1 if $w == 0;
    $h->{status} = $w < 0 ? -1 : $?;
    $h->{ended} = time;
    return 0;
}

# its exit code (128 + N when killed by signal N), or undef when it is
# still running after $timeout seconds
sub runner_wait {
    my ($h, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (runner_alive($h)) {
        return undef if time >= $deadline;
        sleep 0.02;
    }
    my $st = $h->{status};
    return $st & 127 ? 128 + ($st & 127) : $st >> 8;
}

sub runner_signal {
    my ($h, $sig) = @_;
    return kill $sig, $h->{pid};
}

# SIGTERM (unless it has ended), then runner_wait: its exit code, or undef
# when it is still running after $timeout (default: its stop_wait) seconds
sub runner_stop {
    my ($h, $timeout) = @_;
    runner_signal($h, 'TERM') if runner_alive($h);
    return runner_wait($h, $timeout // $h->{stop_wait});
}

sub _slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    binmode $in;
    local $/;
    my $s = <$in> // '';
    close $in;
    return $s;
}

sub runner_log { _slurp($_[0]{files}{err}) }
sub runner_out { _slurp($_[0]{files}{out}) }

# { run_id => executor pid } from its "started pid=N" lines
sub runner_pids {
    my ($h) = @_;
    my %p;
    my $log = runner_log($h);
    while ($log =~ /^\S+ INFO (run_[0-9a-f]+) started pid=(\d+)/mg) {
        $p{$1} = $2;
    }
    return \%p;
}

# the launcher id of its last registration, waiting up to $timeout for one
sub runner_launcher {
    my ($h, $timeout) = @_;
    return Runs::wait_for($timeout // 10, sub {
        my @ids = runner_log($h) =~ /INFO registered launcher_id=(lnch_[0-9a-f]+)/g;
        return $ids[-1];
    });
}

# GET /launchers entry of $lid, or undef
sub launcher_info {
    my ($lid) = @_;
    my $r = Runs::req('GET', '/launchers');
    my ($l) = grep { ($_->{launcher_id} // '') eq ($lid // '') }
              @{ ($r->{json} || {})->{launchers} || [] };
    return $l;
}

# the run once terminal (GET ?wait), or as it is after $timeout
sub wait_terminal {
    my ($id, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my $run;
    while (1) {
        my $left = $deadline - time;
        $left = 0 if $left < 0;
        my $r = Runs::req('GET', "/runs/$id?wait=" . sprintf('%.1f', $left),
                          undef, undef, $left + 5);
        $run = $r->{json} if $r->{status} == 200;
        return $run if $run && $run->{status} =~ /^(completed|failed|stopped)$/;
        return $run if time >= $deadline;
        sleep 0.05 if $r->{status} != 200;
    }
}

# wait until run $id has status $want (a string or a regexp)
sub wait_status {
    my ($id, $want, $timeout) = @_;
    my $last = '';
    my $ok = Runs::wait_for($timeout // 10, sub {
        $last = Runs::status_of($id);
        return ref $want ? $last =~ $want : $last eq $want;
    }, 0.02);
    return $ok ? $last : undef;
}

sub _kill_group_of_executors {
    my ($h) = @_;
    for my $pid (values %{ runner_pids($h) }) {
        # only executors of ours: a process group led by that pid
        my $stat = _slurp("/proc/$pid/stat");
        next if !$stat;
        my ($pgrp) = $stat =~ /\)\s+\S+\s+\d+\s+(\d+)/;
        kill 'KILL', -$pid if defined $pgrp && $pgrp == $pid;
    }
}

# end every runner still running and the executors they started
sub cleanup {
    for my $h (@RUNNERS) {
        if (runner_alive($h)) {
            kill 'TERM', $h->{pid};
            if (!defined runner_wait($h, 5)) {
                kill 'KILL', $h->{pid};
                runner_wait($h, 5);
            }
        }
        _kill_group_of_executors($h);
    }
    @RUNNERS = ();
    for my $p (@PROXIES) {
        # the proxy and its connections (its group, once it made one)
        kill 'KILL', -$p->{pid};
        kill 'KILL', $p->{pid};
        waitpid $p->{pid}, 0;
    }
    @PROXIES = ();
}

END { cleanup() }

# runner_flow('block title', $n, sub { ... }): a flow (see Runs::flow)
# that starts runners; $n counts the runners_clean_ok assertion it ends with
sub runner_flow ($$&) {
    my ($title, $n, $code) = @_;
    Runs::flow($title, $n, sub {
        cleanup();
        my $ok = eval { $code->(@_); 1 };
        my $err = $@;
        runners_clean_ok();
        die $err if !$ok;
    });
}

# one assertion: every runner of this flow has ended (those still running
# are sent SIGTERM first, and must then exit 0 within their stop_wait),
# and none printed a sanitizer report
sub runners_clean_ok {
    my ($name) = @_;
    my @bad;
    my @left = grep { runner_alive($_) } @RUNNERS;
    runner_signal($_, 'TERM') for @left;
    for my $h (@left) {
        my $rc = runner_wait($h, $h->{stop_wait});
        if (!defined $rc) {
            push @bad, "$h->{name}: still running $h->{stop_wait} s after SIGTERM";
        } elsif ($rc != 0) {
            push @bad, "$h->{name}: exit status $rc on SIGTERM";
        }
    }
    my @all = @RUNNERS;
    cleanup();
    for my $h (@all) {
        push @bad, map { "$h->{name}: $_" }
                   grep { /ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer/ }
                   split /\n/, runner_log($h);
    }
    Test::More::ok(!@bad, $name // 'runners ended, no ASan/UBSan/LSan report')
        or Test::More::diag(join "\n", @bad,
                            map { "--- log of $_->{name}:\n" . runner_log($_) } @all);
}

sub _pid_file { Runs::server_root() . '/logs/nginx.pid' }

sub _nginx_pid {
    my $s = _slurp(_pid_file());
    $s =~ s/\s+//g;
    return $s =~ /^\d+$/ ? $s : undef;
}

# Stops the nginx Test::Nginx::Socket started (SIGQUIT) and starts the same
# binary with the same prefix and configuration: its shared-memory zone is
# new and empty.  Both harnesses find nginx through logs/nginx.pid, which
# the new nginx writes, so they stop it after the block as usual.
# $down: seconds to stay down.  Returns 1 when the new nginx answers.
sub restart_nginx {
    my ($down) = @_;
    my $pid = _nginx_pid() or return 0;
    kill 'QUIT', $pid or return 0;
    Runs::wait_for(10, sub { !kill(0, $pid) || _zombie($pid) }) or return 0;
    sleep $down if $down;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $root = Runs::server_root();
    my $rc = system($bin, '-p', "$root/", '-c', "$root/conf/nginx.conf");
    return 0 if $rc != 0;
    return Runs::wait_for(10, sub { Runs::req('GET', '/launchers')->{status} == 200 });
}

# start_proxy(rules => [{ match => qr{PATH}, fail => N, hold => SECONDS,
# delay => SECONDS }], strip_token => 1) -> handle with {url}.  Forwards
# every request to the coordinator, one connection per request
# ("Connection: close" both ways).  The first N requests whose path
# matches a rule are held for its hold and answered 503 without reaching
# the coordinator; the others that match wait its delay, then go on.  A
# rule { match => qr{PATH}, auth => 'drop' | 'wrong', times => N } instead
# takes the Authorization header out of the first N requests that match
# (all of them without times), or puts another launcher's well-formed
# token in its place, and lets them go on.  strip_token: registration
# answers reach the runner without their "token".  proxy_events() reads
# its log, proxy_auth() its notes of tokens.
sub start_proxy {
    my (%o) = @_;
    my $tmp = File::Temp->newdir('proxy-XXXXXX', TMPDIR => 1);
    my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "proxy listen: $!\n";
    my $h = { tmp => $tmp, log => "$tmp/log", url => 'http://127.0.0.1:' . $l->sockport };
    my $pid = fork;
    die "fork: $!\n" if !defined $pid;
    if ($pid == 0) {
        eval { _proxy_serve($l, $o{rules} || [], "$tmp", \%o); };
        print STDERR "proxy: $@" if $@;
        POSIX::_exit(0);
    }
    close $l;
    $h->{pid} = $pid;
    push @PROXIES, $h;
    return $h;
}

# [ [time, 'in'|'out', method, path, status (out only)], ... ] in time order
sub proxy_events {
    my ($h) = @_;
    my @e = map { [split / /] } grep { /\S/ } split /\n/, _slurp($h->{log});
    return [sort { $a->[0] <=> $b->[0] } @e];
}

# [ [method, path, bearer, token], ... ] in arrival order: bearer is the
# token_digest() of the token the request carried to the coordinator
# (after the proxy's rules), '-' for none; token that of the token a
# registration's answer held ('-' for none; undef for other requests)
sub proxy_auth {
    my ($h) = @_;
    return [ map { my @f = split / /; [@f[1 .. 4]] }
             sort grep { /\S/ } split /\n/, _slurp("$h->{tmp}/auth") ];
}

# a token as the proxy notes it: a digest, not the secret
sub token_digest { substr(Digest::MD5::md5_hex($_[0]), 0, 12) }

sub _proxy_serve {
    my ($l, $rules, $dir, $o) = @_;
    setpgrp(0, 0);                  # cleanup() kills the group
    local $SIG{CHLD} = 'IGNORE';    # connections reap themselves
    while (1) {
        my $c = $l->accept or next;
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            close $l;
            eval { _proxy_one($c, $rules, $dir, $o); };
            print STDERR "proxy: $@" if $@;
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _proxy_log {
    my ($dir, @f) = @_;
    open my $out, '>>', "$dir/log" or die "proxy log: $!\n";
    syswrite $out, join(' ', sprintf('%.6f', time), @f) . "\n";
    close $out;
}

# reads one request from $s: (head, body), or () at EOF
sub _proxy_read_request {
    my ($s) = @_;
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        my $n = sysread $s, $buf, 65536, length $buf;
        return () if !$n;
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    while (length($body) < ($len // 0)) {
        my $n = sysread $s, $body, 65536, length $body;
        die "proxy: short request body\n" if !$n;
    }
    return ($head, $body);
}

# is this one of the first N requests matching rule $i (N: its fail)?
# Counted across the connections' processes with a file per turn.
sub _proxy_fails {
    my ($dir, $i, $rule) = @_;
    return _proxy_turn($dir, $i, $rule->{fail} // 0);
}

# one of the first $n turns of rule $i?
sub _proxy_turn {
    my ($dir, $i, $n) = @_;
    for my $k (1 .. $n) {
        return 1 if sysopen my $f, "$dir/rule$i-$k",
                            Fcntl::O_CREAT() | Fcntl::O_EXCL() | Fcntl::O_WRONLY();
    }
    return 0;
}

# a rule's auth: the request's Authorization header taken out, or
# another token put in its place
sub _proxy_auth_rule {
    my ($dir, $i, $rule, $head) = @_;
    return $head if defined $rule->{times} && !_proxy_turn($dir, $i, $rule->{times});
    $head =~ s/\r\nAuthorization:[^\r\n]*//gi;
    $head .= "\r\nAuthorization: Bearer rtk_" . ('0' x 32) if $rule->{auth} eq 'wrong';
    return $head;
}

# the notes of proxy_auth(); strip_token: a registration's answer
# without its token
sub _proxy_auth_note {
    my ($dir, $o, $method, $path, $head, $res) = @_;
    my ($bearer) = $head =~ /\r\nAuthorization:\s*Bearer\s+(\S+)/i;
    my @f = (sprintf('%.6f', time), $method, $path,
             defined $bearer ? token_digest($bearer) : '-');
    if ($path =~ m{/launcher/register$}) {
        my ($rh, $rb) = split /\r\n\r\n/, $res, 2;
        my ($token) = ($rb // '') =~ /"token"\s*:\s*"([^"]*)"/;
        push @f, defined $token ? token_digest($token) : '-';
        if ($o->{strip_token} && defined $token) {
            die "proxy: a chunked registration answer\n" if $rh =~ /^Transfer-Encoding:/mi;
            $rb =~ s/"token"\s*:\s*"[^"]*"\s*,?//;
            $rh =~ s/^Content-Length:\s*\d+/'Content-Length: ' . length $rb/mie;
            $res = "$rh\r\n\r\n$rb";
        }
    }
    open my $out, '>>', "$dir/auth" or die "proxy auth log: $!\n";
    syswrite $out, "@f\n";
    close $out;
    return $res;
}

sub _proxy_one {
    my ($c, $rules, $dir, $o) = @_;
    my ($head, $body) = _proxy_read_request($c) or return;
    my ($method, $path) = $head =~ /^(\S+) (\S+)/;
    _proxy_log($dir, 'in', $method, $path);
    for my $i (0 .. $#$rules) {
        my $rule = $rules->[$i];
        next if $path !~ $rule->{match};
        if ($rule->{auth}) {
            $head = _proxy_auth_rule($dir, $i, $rule, $head);
            next;
        }
        if (!_proxy_fails($dir, $i, $rule)) {
            sleep $rule->{delay} if $rule->{delay};
            last;
        }
        sleep $rule->{hold} if $rule->{hold};
        my $b = '{"detail":"held by the test proxy"}';
        _proxy_log($dir, 'out', $method, $path, 503);
        print {$c} "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                   . "Content-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b";
        close $c;
        return;
    }
    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => Runs::port(),
                                  Proto => 'tcp') or die "proxy connect: $!\n";
    $head =~ s/\r\nConnection:[^\r\n]*//gi;
    print {$u} "$head\r\nConnection: close\r\n\r\n$body";
    my $res = '';
    1 while sysread $u, $res, 65536, length $res;
    close $u;
    my ($st) = $res =~ m{^HTTP/1\.\d (\d+)};
    $res = _proxy_auth_note($dir, $o, $method, $path, $head, $res);
    # logged before the runner can have it: what it sends next comes later
    _proxy_log($dir, 'out', $method, $path, $st // 0);
    print {$c} $res;
    close $c;
}

sub _zombie {
    my ($pid) = @_;
    return _slurp("/proc/$pid/stat") =~ /\)\s+Z\s/ ? 1 : 0;
}

1;
