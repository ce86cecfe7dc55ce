# Concurrency: two workers, four runner processes (register, then a poll
# loop) and four creator processes creating 3000 runs at once over
# keep-alive connections.  Every created run must be claimed exactly once,
# by the launcher the run records, none lost, none handed out twice.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);
log_level('warn');
worker_connections(256);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $RUNS     = $ENV{TEST_NGINX_USE_VALGRIND} ? 200 : 3000;
my $CREATORS = 4;
my $RUNNERS  = 4;
my $DEADLINE = Runs::tf(60);

# one request on a keep-alive connection held in $$cref, reconnecting when
# the server closed the previous one
sub kreq {
    my ($cref, @args) = @_;
    if (!$$cref || $$cref->{closed_by_peer}) {
        $$cref->close if $$cref;
        $$cref = Runs::conn();
    }
    my $r = eval { $$cref->request(@args) };
    if (!$r || !$r->{status}) {
        $$cref->close;
        undef $$cref;
        return $r || { status => 0, error => $@ };
    }
    return $r;
}

sub spawn {
    my ($code) = @_;
    my $pid = fork();
    die "fork: $!" if !defined $pid;
    if ($pid == 0) {
        my $rc = eval { $code->(); 0 } // 1;
        warn "child failed: $@" if $rc;
        POSIX::_exit($rc);
    }
    return $pid;
}

sub creator {
    my ($dir, $k, $n) = @_;
    open my $out, '>', "$dir/created.$k" or die "$!";
    $out->autoflush(1);
    my $conn;
    my $errors = 0;
    for my $i (1 .. $n) {
        my $r = kreq(\$conn, 'POST', '/runs',
                     { type => 'start_session', session_name => "c$k-$i",
                       prompt => "run $i of creator $k" }, undef, 10);
        if ($r->{status} == 201 && $r->{json} && $r->{json}{run_id}) {
            print $out "$r->{json}{run_id}\n";
        } else {
            $errors++;
            print $out "ERROR $r->{status}\n";
        }
    }
    close $out;
    $conn->close if $conn;
}

sub runner {
    my ($dir, $k, $t0) = @_;
    my $reg = Runs::req('POST', '/launcher/register',
                        { hostname => "runner-$k" });
    my $lid = ($reg->{json} || {})->{launcher_id} or die "register failed\n";
    open my $out, '>', "$dir/claimed.$k" or die "$!";
    $out->autoflush(1);
    my $conn;
    my $idle_after_done = 0;
    while (time - $t0 < $DEADLINE) {
        my $r = kreq(\$conn, 'GET', "/launcher/runs?launcher_id=$lid",
                     undef, undef, 10);
        if ($r->{status} == 200 && $r->{json} && $r->{json}{run}) {
            print $out "$lid $r->{json}{run}{run_id}\n";
            next;
        }
        if ($r->{status} == 204 || $r->{status} == 200) {
            if (-e "$dir/done") {
                last if ++$idle_after_done >= 1;
            }
            next;
        }
        print $out "ERROR $r->{status}\n";
        sleep 0.05;
    }
    close $out;
    $conn->close if $conn;
}

sub read_lines {
    my ($f) = @_;
    open my $in, '<', $f or return ();
    chomp(my @l = <$in>);
    close $in;
    return @l;
}

flow 'runs from 4 creators, 4 runners, 2 workers: each run claimed exactly once', 12, sub {
    my $dir = File::Temp::tempdir('runs-conc-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $t0 = time;
    my @runners = map { my $k = $_; spawn(sub { runner($dir, $k, $t0) }) } 1 .. $RUNNERS;
    sleep 0.3;    # let the runners register and start polling
    my $per = $RUNS / $CREATORS;
    my @creators = map { my $k = $_; spawn(sub { creator($dir, $k, $per) }) } 1 .. $CREATORS;

    my $creators_ok = 0;
    for my $pid (@creators) {
        waitpid($pid, 0);
        $creators_ok++ if $? == 0;
    }
    open my $flag, '>', "$dir/done" or die "$!";
    close $flag;
    my $runners_ok = 0;
    for my $pid (@runners) {
        my $left = $DEADLINE - (time - $t0) + 5;
        my $done = 0;
        while ($left > 0) {
            if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $done = 1; last }
            sleep 0.1;
            $left -= 0.1;
        }
        if (!$done) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            next;
        }
        $runners_ok++ if $? == 0;
    }
    my $elapsed = time - $t0;

    my @created = map { read_lines("$dir/created.$_") } 1 .. $CREATORS;
    my @cerr = grep { /^ERROR/ } @created;
    @created = grep { !/^ERROR/ } @created;
    my @claims = map { read_lines("$dir/claimed.$_") } 1 .. $RUNNERS;
    my @rerr = grep { /^ERROR/ } @claims;
    @claims = grep { !/^ERROR/ } @claims;
    my (%owner, %times);
    for (@claims) {
        my ($lid, $id) = split / /;
        $times{$id}++;
        $owner{$id} = $lid;
    }

    is $creators_ok, $CREATORS, 'every creator finished';
    is $runners_ok, $RUNNERS, 'every runner finished';
    is scalar(@cerr), 0, 'no creation failed' or diag "@cerr[0 .. 9]";
    is scalar(@created), $RUNS, "$RUNS runs created";
    is scalar(@rerr), 0, 'no poll failed' or diag "@rerr[0 .. 9]";
    is scalar(grep { $times{$_} > 1 } keys %times), 0, 'no run handed out twice';
    is scalar(grep { !$times{$_} } @created), 0, 'no created run lost';
    is scalar(@claims), scalar(@created), 'as many claims as runs';

    my ($claimed) = list_runs("status=claimed&limit=10000");
    is scalar(@$claimed), $RUNS, "GET /runs?status=claimed counts $RUNS";
    my $wrong = grep { ($owner{ $_->{run_id} } // '') ne ($_->{launcher_id} // '') } @$claimed;
    is $wrong, 0, 'each run records the launcher that received it';
    my ($pending) = list_runs("status=pending&limit=10000");
    is scalar(@$pending), 0, 'nothing left pending';
    cmp_ok $elapsed, '<', $DEADLINE, sprintf('done in %.1f s', $elapsed);
    my %per = ();
    $per{$_}++ for values %owner;
    diag 'claims per runner: ' . join(', ', map { $per{$_} } sort keys %per);
};

# a listing is taken in slices of 1024 runs (sessions, runs read), the
# zone's lock released in between: while other processes create and evict,
# every listing must still be a consistent newest-first walk
flow 'run and session listings in slices while a full zone evicts: no duplicate, in order, filtered', 10, sub {
    my $stop_file = File::Temp->new;
    my $stop = $stop_file->filename;
    unlink $stop;
    my @kids;
    for my $k (1 .. 2) {
        push @kids, spawn(sub {
            my $conn;
            my $i = 0;
            while (!-e $stop) {
                $i++;
                my $r = kreq(\$conn, 'POST', '/runs',
                             { type => 'start_session',
                               session_name => "ev$k-$i",
                               prompt => "evict me $i " . ('x' x 200) },
                             undef, 10);
                next if $r->{status} != 201;
                # every other run finished at once: evictable
                kreq(\$conn, 'POST', "/runs/$r->{json}{run_id}/stop",
                     undef, undef, 10) if $i % 2;
            }
            $conn->close if $conn;
        });
    }

    # let the creators fill the zone: from then on, creating evicts
    sleep 1.5;

    # $kind: runs or sessions
    my %c = map { $_ => { lists => 0, bad_status => 0, dups => 0, order => 0,
                          filter => 0, max => 0 } } qw(runs sessions);
    my $conn;
    for my $i (1 .. 16) {
        my $kind = $i % 2 ? 'sessions' : 'runs';
        my $k = $c{$kind};
        my $filtered = $k->{lists} % 2 == 0;
        my $q = $filtered ? 'status=stopped&limit=10000' : 'limit=10000';
        my $r = kreq(\$conn, 'GET', "/$kind?$q", undef, undef, 10);
        $k->{lists}++;
        if ($r->{status} != 200 || !$r->{json}) {
            $k->{bad_status}++;
            next;
        }
        my $items = $r->{json}{$kind} || [];
        $k->{max} = @$items if @$items > $k->{max};
        my %seen;
        my $prev = '';
        for my $item (@$items) {
            my $id = $item->{run_id} // $item->{session_id};
            $k->{dups}++ if $seen{$id}++;
            $k->{order}++ if $item->{created_at} lt $prev;
            $prev = $item->{created_at};
            $k->{filter}++ if $filtered && $item->{status} ne 'stopped';
        }
    }
    open my $fh, '>', $stop or die "$!";
    close $fh;
    waitpid($_, 0) for @kids;
    $conn->close if $conn;

    for my $kind (qw(runs sessions)) {
        my $k = $c{$kind};
        cmp_ok $k->{max}, '>', 1024,
            "$kind: listings of up to $k->{max}: more than one slice";
        is $k->{bad_status}, 0, "$kind: every listing answered 200";
        is $k->{dups}, 0, "$kind: none twice in a listing";
        is $k->{order}, 0, "$kind: oldest first in every listing";
        is $k->{filter}, 0, "$kind: status=stopped lists only stopped ones";
    }
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: runs from 4 creators, 4 runners, 2 workers: each run claimed exactly once
--- http_config
    runs_zone runs 64m;
    runs_poll_timeout 1s;



=== TEST 2: run and session listings in slices while a full zone evicts: no duplicate, in order, filtered
--- http_config
    runs_zone runs 2m;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[emerg]
[crit]
