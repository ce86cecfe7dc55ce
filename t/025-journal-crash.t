# The journal under a crash loop: two workers, two agent-runners executing
# runs, three clients creating them, and every nginx process (the master
# and its workers, in one kill()) SIGKILLed three to five times at random
# moments, nginx started again each time.  In the strict mode an answer
# that reports a change is sent only once the change is on disk, so at
# the end every run answered 201 is there and completed, executed exactly
# once (counted from the executors the runners started), with its
# result; no run is there twice; the runners carried on with the
# launcher ids they registered at the start.
#
# A client retries a creation that got no answer with the same session
# name: a 409 then means an earlier attempt landed (it was on disk
# without an answer).  A claim whose answer was lost in a crash is taken
# back after runs_claim_timeout (3 s here).  compact=64k: the journal is
# rewritten from the live state again and again meanwhile, so kills also
# land in the middle of rewrites.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use RunsJournal;
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

my $CLIENTS = 3;
my $PER = $ENV{TEST_RUNS_CRASH_RUNS} || 100;     # runs per client
my $KILLS = 3 + int rand 3;                       # 3 to 5

# a client: creates $PER runs, one session each, retrying each until it
# is acknowledged; writes "201 run_id name", "409 - name" or "lost -
# name" (gave up) lines to $file as soon as it knows
sub start_creator {
    my ($n, $file) = @_;
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;
    open my $out, '>>', $file or POSIX::_exit(2);
    my $c;
    for my $i (1 .. $PER) {
        my $name = "crash-$n-$i";
        my $body = { type => 'start_session', session_name => $name,
                     prompt => "jc $n $i sleep=0.1" };
        my $deadline = time + 90;
        while (1) {
            $c //= eval { Runs::conn() };
            my $r = $c && eval { $c->request('POST', '/runs', $body, undef, 10) };
            if ($r && $r->{status} == 201 && $r->{json}) {
                syswrite $out, "201 $r->{json}{run_id} $name\n";
                last;
            }
            if ($r && $r->{status} == 409) {
                syswrite $out, "409 - $name\n";
                last;
            }
            if ($c) { $c->close; undef $c }
            if (time > $deadline) {
                syswrite $out, "lost - $name\n";
                last;
            }
            sleep 0.05;
        }
        sleep 0.08;
    }
    close $out;
    POSIX::_exit(0);
}

runner_flow 'every run answered 201 is completed exactly once across SIGKILLs of every nginx process', 15, sub {
    my @runners = map {
        start_runner(name => "crash-$_",
                     args => ['--max-concurrent', '8', '--hostname', "crash-$_"])
    } 1 .. 2;
    my @lids = map { runner_launcher($_) } @runners;
    ok !grep({ !$_ } @lids), 'two runners registered';

    my $t0 = time;
    my $dir = Runs::server_root() . '/logs';
    my @files = map { "$dir/creator-$_" } 1 .. $CLIENTS;
    unlink @files;
    my @creators = map { start_creator($_, $files[$_ - 1]) } 1 .. $CLIENTS;

    my ($kills, $starts) = (0, 0);
    my @when;
    for my $k (1 .. $KILLS) {
        sleep 1 + rand(3);
        my $n = scalar(RunsJournal::nginx_pids());
        $kills++ if nginx_down('kill');
        push @when, sprintf('%.1fs (%d processes)', time - $t0, $n);
        sleep rand(0.5);
        $starts++ if nginx_up(20);
    }
    ok $kills == $KILLS && $starts == $KILLS,
       "$KILLS SIGKILLs of the master and all workers at once, each started again: "
       . join(', ', @when);

    my $cdead = time + Runs::tf(120);
    for my $pid (@creators) {
        while (waitpid($pid, POSIX::WNOHANG()) == 0) {
            if (time > $cdead) { kill 'KILL', $pid; waitpid $pid, 0; last }
            sleep 0.1;
        }
    }
    my (%acked, %landed, @lost);
    for my $f (@files) {
        for my $l (split /\n/, slurp($f) // '') {
            my ($what, $id, $name) = split / /, $l;
            if ($what eq '201') { $acked{$id} = $name }
            elsif ($what eq '409') { $landed{$name} = 1 }
            else { push @lost, $name }
        }
    }
    my $sessions = scalar(keys %acked) + scalar(keys %landed);
    ok $sessions == $CLIENTS * $PER && !@lost,
       sprintf('all %d sessions acknowledged: %d answered 201, %d 409 (an earlier attempt '
               . 'landed without an answer)', $CLIENTS * $PER, scalar(keys %acked),
               scalar(keys %landed))
        or diag("gave up: @lost");

    # every run ends
    my %st;
    my $all = $CLIENTS * $PER;
    my $done = Runs::wait_for(Runs::tf(90), sub {
        my ($runs) = list_runs('limit=10000');
        %st = ();
        $st{ $_->{status} }++ for @$runs;
        return ($st{completed} // 0) >= $all;
    }, 0.5);
    my ($runs) = list_runs('limit=10000');
    my (%by_id, %by_name, @dup);
    for my $r (@$runs) {
        push @dup, $r->{run_id} if $by_id{ $r->{run_id} }++;
        push @{ $by_name{ $r->{session_name} } }, $r;
    }
    is scalar(@dup), 0, 'no run id listed twice'
        or diag(join ' ', grep { defined } @dup[0 .. 9]);
    is scalar(@$runs), $all, "$all runs in the store";
    my @twice_sess = grep { @{ $by_name{$_} } > 1 } keys %by_name;
    is scalar(@twice_sess), 0, 'one run per session, none created twice'
        or diag(join ' ', grep { defined } @twice_sess[0 .. 9]);

    my %run = map { $_->{run_id} => $_ } @$runs;
    my @missing = grep { !$run{$_} || $run{$_}{session_name} ne $acked{$_} } sort keys %acked;
    ok scalar(keys %acked) > 0 && !@missing,
       sprintf('every one of the %d runs answered 201 is there, in its session',
               scalar keys %acked)
        or diag(scalar(@missing) . ' missing: '
                . join(' ', grep { defined } @missing[0 .. 9]));
    ok $done, 'every run completed: ' . join(', ', map { "$_ $st{$_}" } sort keys %st)
        or do {
            # what the runners said of the runs that did not end
            for my $r (grep { $_->{status} ne 'completed' } @$runs) {
                diag(Runs::jenc($r));
                diag(join "\n", grep { /\Q$r->{run_id}\E/ } map { split /\n/, runner_log($_) } @runners);
            }
        };
    my @bad_result = grep {
        my ($n, $i) = $_->{session_name} =~ /^crash-(\d+)-(\d+)$/;
        $_->{status} eq 'completed'
            && (!defined $n || ($_->{result} // '') !~ /^jc \Q$n $i\E\b/);
    } @$runs;
    is scalar(@bad_result), 0, 'each with its result (the prompt, from the echo executor)'
        or diag(Runs::jenc($bad_result[0]));

    my %exec;
    for my $h (@runners) {
        my $log = runner_log($h);
        $exec{$1}++ while $log =~ /^\S+ INFO (run_[0-9a-f]+) started pid=/mg;
    }
    my @twice = grep { $exec{$_} > 1 } keys %exec;
    my @never = grep { !$exec{ $_->{run_id} } } @$runs;
    is scalar(@twice), 0, 'no run executed twice'
        or diag('twice: ' . join(' ', grep { defined } @twice[0 .. 9]));
    is scalar(@never), 0, 'no run left unexecuted'
        or diag(scalar(@never) . ' never executed, e.g. ' . Runs::jenc($never[0]));

    my @regs = map { scalar(() = runner_log($_) =~ /INFO registered launcher_id=/g) } @runners;
    my @forgot = map { scalar(() = runner_log($_) =~ /does not know this launcher/g) } @runners;
    ok "@regs" eq '1 1' && "@forgot" eq '0 0',
       'the runners carried on without registering again'
        or diag("registrations: @regs; told unknown: @forgot");

    my $torn = Runs::error_log_lines(qr/torn record/) || [];
    my $taken = Runs::error_log_lines(qr/did not confirm it within runs_claim_timeout/) || [];
    my $rew = Runs::error_log_lines(qr/runs_journal .* rewritten: \d+ bytes/) || [];
    my $cut = Runs::error_log_lines(qr/rewrite of the runs_journal was cut short/) || [];
    diag(sprintf "journal crash loop: %d runs, %d SIGKILLs, %d torn tails dropped, "
                 . "%d claims taken back, %d compactions (%d cut short), %.1f s in all",
         $all, $kills, scalar(@$torn), scalar(@$taken), scalar(@$rew), scalar(@$cut),
         time - $t0);
    ok !grep({ !runner_alive($_) } @runners), 'the runners are still running';
    runner_signal($_, 'TERM') for @runners;
    ok !grep({ (runner_wait($_, 20) // -1) != 0 } @runners), 'and leave cleanly on SIGTERM';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: every run answered 201 is completed exactly once across SIGKILLs of every nginx process
--- http_config
    runs_zone runs 32m;
    runs_claim_timeout 3s;
    runs_poll_timeout 5s;
    runs_heartbeat_interval 2s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal compact=64k;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]
[emerg]
