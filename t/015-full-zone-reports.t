# A zone full of live runs: every report about a run already in the zone
# is recorded (the transition always, the text whole, cut at a character
# boundary, or replaced by a fixed note), so a runner's view and the
# coordinator's never part; runner loss needs no room either.

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

my $PROMPT = 'p' x 700;
my $n = 0;

# pending runs until the zone refuses one; returns the ids
sub fill {
    my $c = Runs::conn();
    my @ids;
    while (1) {
        $n++;
        my $r = $c->request('POST', '/runs', { type => 'start_session',
                                               session_name => "full-$n",
                                               prompt => "$n $PROMPT" });
        last if $r->{status} != 201;
        push @ids, $r->{json}{run_id};
        die "the zone never filled\n" if @ids > 100000;
    }
    $c->close;
    return \@ids;
}

# the error of run $id as stored: whole, cut with its mark, or the note
sub error_kind {
    my ($id, $text) = @_;
    my $e = (get_run($id) || {})->{error};
    return 'null' if !defined $e;
    return 'whole' if $e eq $text;
    return 'note' if $e eq '(the error text was dropped: the runs_zone was full)';
    if ($e =~ /^(.*) \[cut: the runs_zone was full\]$/s) {
        my $prefix = $1;
        return 'cut' if length($prefix) <= 1024 && substr($text, 0, length $prefix) eq $prefix;
    }
    return "unexpected: " . substr($e, 0, 80);
}

flow 'every report about a live run is recorded in a full zone', 16, sub {
    my $lid = register_launcher(hostname => 'full');
    my %run;
    for my $s (qw(fail fail8 complete stop start lost)) {
        my ($id) = run_in_state($s eq 'start' ? 'claimed' : 'running', $lid,
                                session_name => "live-$s");
        $run{$s} = $id;
    }
    ok !grep({ !defined } values %run), 'six live runs held by one launcher';
    my $pending = fill();
    cmp_ok scalar(@$pending), '>', 10, 'then the zone is full of pending runs ('
        . scalar(@$pending) . ')';

    my $text = join '', map { chr(0x41 + $_ % 26) } 1 .. 6000;
    my $r = launcher_event($run{fail}, 'failed', { launcher_id => $lid, error => $text });
    is $r->{status}, 200, 'failed with a 6 kB error: 200';
    is status_of($run{fail}), 'failed', 'the run is failed';
    note("6 kB error stored: " . error_kind($run{fail}, $text));
    like error_kind($run{fail}, $text), qr/^(whole|cut|note)$/,
        'its error is the text, a marked prefix of it, or the fixed note';

    # two-byte characters: a cut never splits one; a few finished runs
    # give the cut text room
    stop_run($_) for grep { defined } @$pending[0 .. 29];
    my $utf8 = "\x{e9}" x 100000;
    $r = launcher_event($run{fail8}, 'failed', { launcher_id => $lid, error => $utf8 });
    is $r->{status}, 200, 'failed with 200 kB of two-byte characters: 200';
    my ($got, $res) = get_run($run{fail8});
    ok $got && defined $got->{error}, 'the run reads back as JSON with an error';
    note("two-byte error stored: " . error_kind($run{fail8}, $utf8));
    is error_kind($run{fail8}, $utf8), 'cut',
        'cut between two characters, marked, where the whole text does not fit';

    is launcher_event($run{complete}, 'completed',
                      { launcher_id => $lid, status => 'success' })->{status}, 200,
        'completed: 200';
    is status_of($run{complete}), 'completed', 'the run is completed';

    stop_run($run{stop});
    is launcher_event($run{stop}, 'stopped',
                      { launcher_id => $lid, signal => 'SIGTERM' })->{status}, 200,
        'stopped: 200';
    is status_of($run{stop}), 'stopped', 'the run is stopped';

    is launcher_event($run{start}, 'started', { launcher_id => $lid })->{status}, 200,
        'started: 200';
    is status_of($run{start}), 'running', 'the run is running';

    # the launcher leaves: its running runs fail with a fixed text
    is deregister($lid, 1)->{status}, 200, 'the launcher deregisters itself';
    my $lost = get_run($run{lost}) || {};
    is(($lost->{status} // '') . ' / ' . ($lost->{error} // 'null'),
       'failed / launcher deregistered', 'its running run failed: launcher deregistered');
};

flow 'refusals in a full zone are logged once per 10 s', 3, sub {
    my $t0 = time;
    my $pending = fill();
    my $refused = 0;
    for (1 .. 50) {
        my (undef, $res) = create_run(prompt => $PROMPT);
        $refused++ if $res->{status} == 503;
    }
    is $refused, 50, 'fifty more creations refused';
    my $r = Runs::req('POST', '/runs', { type => 'start_session',
                                         session_name => 'one-more', prompt => 'x' });
    is $r->{headers}{'retry-after'}, '1', 'a refusal says when to retry';
    my $lines = Runs::error_log_lines(qr/runs_zone "runs".*refused with 503/);
    my $allowed = 1 + int((time - $t0) / 10);
    ok $lines && @$lines >= 1 && @$lines <= $allowed,
        'one error-log line per 10 s for all of them (' . scalar(@{ $lines || [] }) . ')';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: every report about a live run is recorded in a full zone
--- http_config
    runs_zone runs 64k;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[crit]



=== TEST 2: refusals in a full zone are logged once per 10 s
--- http_config
    runs_zone runs 64k;
    runs_poll_timeout 1s;
--- no_error_log
[alert]
[crit]
