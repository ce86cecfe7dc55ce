# Chaos: two workers, three runners and thousands of runs while nginx's
# workers are killed with SIGKILL and nginx is reloaded, again and again.
# Every run created must end completed, executed exactly once (counted
# from the executors the runners started), none left pending, claimed or
# running, none lost.  Bounded: the faults stop after a fixed count, the
# whole flow ends within its timeout.
#
# What a killed worker takes with it: the requests it held (polls,
# ?wait=), the answers it was writing (claims among them, taken back
# after runs_claim_timeout), reports in flight (retried by the runner,
# accepted again as repeats).  A fourth "runner" polls and hangs up
# before reading: the runs claimed for it come back after
# runs_claim_timeout.  Creation is retried by the client; a 409 means the
# first attempt landed.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $RUNS = $ENV{TEST_RUNS_CHAOS_RUNS} || 2000;
my $KILLS = 16;
my $RELOADS = 3;

sub master_pid {
    open my $in, '<', Runs::server_root() . '/logs/nginx.pid' or return undef;
    my $pid = <$in>;
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

sub workers_of {
    my ($master) = @_;
    my @w;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $in, '<', "/proc/$p/stat" or next;
        my $st = <$in> // '';
        close $in;
        my ($ppid) = $st =~ /\)\s+\S+\s+(\d+)/;
        push @w, $p if defined $ppid && $ppid == $master;
    }
    closedir $d;
    return @w;
}

# a child process that creates $RUNS runs, one session each, retrying
# until each is acknowledged (201, or 409: an earlier attempt landed)
sub start_creator {
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;
    my $c;
    my $failed = 0;
    for my $i (1 .. $RUNS) {
        my $body = { type => 'start_session', session_name => "chaos-$i",
                     prompt => "run $i" };
        my $deadline = time + 60;
        while (1) {
            $c //= eval { Runs::conn() };
            my $r = $c && eval { $c->request('POST', '/runs', $body, undef, 10) };
            last if $r && ($r->{status} == 201 || $r->{status} == 409);
            if ($c) { $c->close; undef $c }
            if (time > $deadline) { $failed++; last }
            sleep 0.02;
        }
    }
    POSIX::_exit($failed ? 1 : 0);
}

runner_flow 'every run completes exactly once while workers are killed and nginx reloads', 9, sub {
    my @runners = map {
        start_runner(name => "chaos-$_",
                     args => ['--max-concurrent', '8', '--hostname', "chaos-$_"])
    } 1 .. 3;
    ok !grep({ !runner_launcher($_) } @runners), 'three runners registered';

    my $t0 = time;
    my $creator = start_creator();
    my $master = master_pid();
    my ($kills, $reloads, $vanished) = (0, 0, 0);
    my $step = 0;
    # a runner whose claims never reach it: it polls and hangs up
    my $lossy = register_launcher(hostname => 'lossy');
    while ($kills < $KILLS || $reloads < $RELOADS) {
        sleep 0.6 + rand(0.8);
        $step++;
        for (1 .. 2) {
            my $c = eval { Runs::Conn->new } or next;
            $c->send_raw("GET /launcher/runs?launcher_id=$lossy HTTP/1.1\r\nHost: x\r\n"
                         . "Authorization: Bearer " . Runs::token_of($lossy) . "\r\n\r\n",
                         'GET');
            $c->close;
            $vanished++;
        }
        if ($step % 6 == 3 && $reloads < $RELOADS) {
            $reloads++ if kill 'HUP', $master;
            next;
        }
        my @w = workers_of($master);
        next if !@w;
        $kills++ if kill 'KILL', $w[int rand @w];
    }
    waitpid $creator, 0;
    my $created_ok = $? == 0;
    my $fault_secs = time - $t0;
    ok $created_ok, "all $RUNS runs acknowledged ($kills worker kills, $reloads reloads "
                    . sprintf('in %.0f s)', $fault_secs);

    # every run ends; nothing is stuck
    my %st;
    my $done = Runs::wait_for(Runs::tf(90), sub {
        my ($runs) = list_runs('limit=10000');
        %st = ();
        $st{ $_->{status} }++ for @$runs;
        return ($st{completed} // 0) == $RUNS;
    }, 0.5);
    my ($runs) = list_runs('limit=10000');
    is scalar(@$runs), $RUNS, "$RUNS runs in the store, one per session";
    ok $done, 'every one completed: '
              . join(', ', map { "$_ $st{$_}" } sort keys %st);

    my %exec;
    for my $h (@runners) {
        my $log = runner_log($h);
        $exec{$1}++ while $log =~ /^\S+ INFO (run_[0-9a-f]+) started pid=/mg;
    }
    my @twice = grep { $exec{$_} > 1 } keys %exec;
    my @never = grep { !$exec{ $_->{run_id} } } @$runs;
    is scalar(@twice), 0, 'no run executed twice' or diag("twice: @twice[0 .. 9]");
    is scalar(@never), 0, 'no run left unexecuted';
    my $taken = Runs::error_log_lines(qr/did not confirm it within runs_claim_timeout/);
    my $refused = 0;
    $refused += () = runner_log($_) =~ /not executed: the coordinator refused the claim/g
        for @runners;
    diag(sprintf "chaos: %d runs, %d worker kills, %d reloads, %d polls hung up, "
                 . "%d claims taken back, %d claims refused to a runner, %.1f s in all",
         $RUNS, $kills, $reloads, $vanished, scalar(@{ $taken || [] }), $refused,
         time - $t0);
    ok !grep({ !runner_alive($_) } @runners), 'the runners are still running';
    runner_signal($_, 'TERM') for @runners;
    ok !grep({ (runner_wait($_, 20) // -1) != 0 } @runners), 'and leave cleanly on SIGTERM';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: every run completes exactly once while workers are killed and nginx reloads
--- http_config
    runs_zone runs 32m;
    runs_claim_timeout 3s;
    runs_poll_timeout 5s;
    runs_heartbeat_interval 2s;
--- no_error_log
[crit]
