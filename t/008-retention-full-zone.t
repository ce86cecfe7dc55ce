# Retention of finished runs (runs_retention) and a full zone: finished
# runs are evicted oldest first, then POST /runs answers 503 with a detail
# and the error log names runs_zone; filling and draining many times
# neither crashes nor loses a pending run.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $PROMPT = join '', map { chr(0x61 + $_ % 26) } 1 .. 900;
my $n = 0;

# create runs on one keep-alive connection until one is refused;
# returns (\@ids, $refusal)
sub fill {
    my ($max) = @_;
    my $c = Runs::conn();
    my @ids;
    my $refusal;
    while (@ids < ($max // 100000)) {
        $n++;
        my $r = $c->request('POST', '/runs',
                            { type => 'start_session',
                              session_name => "fill-$n",
                              prompt => "$n $PROMPT" });
        if ($r->{status} == 201 && $r->{json}) {
            push @ids, $r->{json}{run_id};
            next;
        }
        $refusal = $r;
        last;
    }
    $c->close;
    return (\@ids, $refusal);
}

sub present {
    my ($id) = @_;
    return Runs::req('GET', "/runs/$id")->{status} == 200;
}

sub all_runs {
    my ($runs) = list_runs('limit=10000');
    return { map { $_->{run_id} => $_->{status} } @$runs };
}

flow 'finished runs are removed after runs_retention', 9, sub {
    my $lid = register_launcher();
    my ($running) = run_in_state('running', $lid, session_name => 'ret-running');
    my ($stopped) = create_run(session_name => 'ret-stopped');
    stop_run($stopped);
    my ($done) = run_in_state('completed', $lid, session_name => 'ret-done');
    my ($pending) = create_run(session_name => 'ret-pending');
    my (undef, $dup) = create_run(session_name => 'ret-done');
    is $dup->{status}, 409, 'the completed session still blocks a new start';
    sleep 2.6;    # runs_retention 1s, maintenance every second
    is Runs::req('GET', "/runs/$stopped")->{status}, 404, 'stopped run removed';
    is Runs::req('GET', "/runs/$done")->{status}, 404, 'completed run removed';
    is status_of($pending), 'pending', 'the pending run is kept';
    my ($list) = list_runs('session_name=ret-done');
    is scalar(@$list), 0, 'not listed any more';
    my (undef, $res) = create_run(type => 'resume_session', session_name => 'ret-done');
    is $res->{status}, 404, 'the session is forgotten with its last run';
    my (undef, $res2) = create_run(session_name => 'ret-done');
    is $res2->{status}, 201, 'a new start of that name is accepted';
    sleep 1.2;
    is status_of($running), 'running', 'a running run is never removed by retention';
    is status_of($pending), 'pending', 'nor a pending one';
};

flow 'a full zone evicts finished runs oldest first, then answers 503', 14, sub {
    my $t0 = time;
    my ($ids, $refusal) = fill();
    my $n1 = @$ids;
    cmp_ok $n1, '>', 10, "the zone holds some runs ($n1)";
    is $refusal && $refusal->{status}, 503, 'then POST /runs answers 503';
    like $refusal ? $refusal->{body} : '', qr/^\{\s*"detail"\s*:\s*".*runs_zone.*"\s*\}\s*$/,
        'with a detail naming runs_zone';
    my $all = all_runs();
    is scalar(grep { ($all->{$_} // '') eq 'pending' } @$ids), $n1,
        'every pending run is still there';

    # finish the older half: they become evictable, oldest first
    my $half = int($n1 / 2);
    my @finished = @$ids[0 .. $half - 1];
    my @live = @$ids[$half .. $n1 - 1];
    stop_run($_) for @finished;
    my ($more) = fill(int($half / 2));
    is scalar(@$more), int($half / 2), 'creation succeeds again by evicting finished runs';
    my @present = map { present($_) ? 1 : 0 } @finished;
    my $first_kept = 0;
    $first_kept++ while $first_kept < @present && !$present[$first_kept];
    ok $first_kept > 0, "some finished runs were evicted ($first_kept)";
    ok !grep({ !$_ } @present[$first_kept .. $#present]), 'the oldest ones, in order';
    ok !grep({ !present($_) } @live, @$more), 'no pending run was evicted';

    my ($rest, $refusal2) = fill();
    is $refusal2 && $refusal2->{status}, 503, 'full again: 503';
    ok !grep({ present($_) } @finished), 'only when no finished run is left';
    $all = all_runs();
    my @pending = (@live, @$more, @$rest);
    is scalar(grep { ($all->{$_} // '') eq 'pending' } @pending), scalar(@pending),
        'every pending run is listed as pending';
    is scalar(keys %$all), scalar(@pending), 'and nothing else';

    my $lines = Runs::error_log_lines(qr/runs_zone "runs".*full|full.*runs_zone "runs"/);
    SKIP: {
        skip 'error log not readable from here', 2 if !defined $lines;
        cmp_ok scalar(@$lines), '>=', 1, 'the error log names runs_zone';
        my $allowed = 1 + int((time - $t0) / 10);
        cmp_ok scalar(@$lines), '<=', $allowed, 'at most one line every 10 s';
    }
};

flow 'fill and drain many times', 5, sub {
    my $lid = register_launcher();
    my @counts;
    my $lost = 0;
    my $bad = 0;
    my $live = [];
    for my $round (1 .. 25) {
        # drain: finish every run, in a mix of ways
        my $i = 0;
        for my $id (@$live) {
            $i++;
            if ($i % 3 == 0) {
                my $run = claim($lid);
                if ($run) {
                    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
                    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid });
                }
            }
            stop_run($id) if status_of($id) eq 'pending';
        }
        my ($ids, $refusal) = fill();
        push @counts, scalar @$ids;
        $bad++ if !$refusal || $refusal->{status} != 503;
        my $all = all_runs();
        $lost += grep { ($all->{$_} // '') ne 'pending' } @$ids;
        $live = $ids;
    }
    is $bad, 0, 'every round ends with a 503';
    is $lost, 0, 'no pending run was lost';
    ok !grep({ $_ == 0 } @counts), 'every round could create runs';
    cmp_ok $counts[-1], '>=', int($counts[0] * 0.8),
        "no space leaks: last round $counts[-1], first $counts[0]";
    is Runs::req('GET', '/runs?limit=1')->{status}, 200, 'still answering';
};

flow 'a launcher registration in a full zone answers 503 or 200, never a crash', 2, sub {
    my ($ids, $refusal) = fill();
    my $r = Runs::req('POST', '/launcher/register', '{}');
    ok $r->{status} == 200 || $r->{status} == 503, "register: $r->{status}";
    is Runs::req('GET', '/runs?limit=1')->{status}, 200, 'still answering';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: finished runs are removed after runs_retention
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_retention 1s;



=== TEST 2: a full zone evicts finished runs oldest first, then answers 503
--- http_config
    runs_zone runs 64k;
    runs_poll_timeout 1s;
--- error_log eval
qr/runs_zone "runs".*enlarge runs_zone/
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: fill and drain many times
--- http_config
    runs_zone runs 64k;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: a launcher registration in a full zone answers 503 or 200, never a crash
--- http_config
    runs_zone runs 32k;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[emerg]
[crit]
