# The agent's answer comes back: a run's "result", sent with its
# completed, failed or stopped report, is stored and returned byte for
# byte (any UTF-8, quotes, control characters, NUL), cut at
# runs_result_max between two characters and marked (result_truncated),
# null until reported, kept when a report is repeated, and recorded even
# in a full zone.  Registration tells runners the limit.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

our $n = 0;

sub end_with {
    my ($state, $event, %body) = @_;
    my ($id, $lid) = run_in_state($state, undef, session_name => 'res-' . ++$n);
    my $r = launcher_event($id, $event, { launcher_id => $lid, %body });
    return ($id, $r, $lid);
}

flow 'results round-trip byte for byte', 12, sub {
    my ($lid, $reg) = register_launcher();
    is $reg->{json}{result_max_bytes}, 2048, 'registration announces runs_result_max';
    my ($id) = run_in_state('running', $lid, session_name => 'res-null');
    my $run = get_run($id);
    ok exists $run->{result} && !defined $run->{result}, 'result is null until reported';
    is $run->{result_truncated}, JSON::PP::false(), 'result_truncated is false';

    my $text = "The answer: \x{e9}t\x{e9} \x{1F600} \"quoted\" \\ back\nslash\ttab\x{0}nul\x{1f} end";
    my ($c, $r) = end_with('running', 'completed', result => $text);
    is $r->{status}, 200, 'completed with a result: 200';
    is((get_run($c) || {})->{result}, $text, 'the result, byte for byte');

    my ($e) = end_with('running', 'completed', result => '');
    my $er = get_run($e) || {};
    ok defined $er->{result} && $er->{result} eq '', 'an empty result is "", not null';

    my ($f) = end_with('running', 'failed', error => 'boom', result => 'partial answer');
    my $fr = get_run($f) || {};
    is "$fr->{status} / $fr->{error} / $fr->{result}", 'failed / boom / partial answer',
        'a failed run keeps its error and its result';

    my ($s, undef, $sl) = end_with('stopping', 'stopped', signal => 'SIGTERM', result => 'so far');
    is((get_run($s) || {})->{result}, 'so far', 'a stopped run keeps its result');
    is launcher_event($s, 'stopped', { launcher_id => $sl, result => 'other' })->{status}, 200,
        'the report again: 200';
    is((get_run($s) || {})->{result}, 'so far', 'and the first result stays');

    my $bad = launcher_event($id, 'completed', { launcher_id => $lid, result => 42 });
    is $bad->{status}, 422, 'a result that is not a string: 422';
    is status_of($id), 'running', 'and nothing changed';
};

flow 'escapes are found wherever they fall in an 8-byte word', 2, sub {
    my $lid = register_launcher();
    my (@want, @got);
    for my $k (0 .. 17) {
        for my $c ("\"", "\\", "\n", "\x{1}", "\x{1f}", "\x{7f}", "\x{e9}") {
            my $text = ('a' x $k) . $c . ('b' x (23 - $k)) . $c;
            push @want, $text;
        }
    }
    # one run per text would be slow: 18 x 7 texts joined in 9 runs
    my @chunks;
    push @chunks, join('|', splice(@want, 0, 14)) while @want;
    my @back;
    for my $t (@chunks) {
        my ($id) = end_with('running', 'completed', result => $t);
        push @back, (get_run($id) || {})->{result};
    }
    is scalar(@back), 9, 'nine runs';
    is_deeply \@back, \@chunks, 'every text back byte for byte';
};

flow 'a result over runs_result_max is cut between characters and marked', 6, sub {
    my $exact = 'x' x 2048;
    my ($a) = end_with('running', 'completed', result => $exact);
    my $ar = get_run($a) || {};
    is length($ar->{result} // ''), 2048, 'exactly at the limit: whole';
    is $ar->{result_truncated}, JSON::PP::false(), 'not marked';

    my ($b) = end_with('running', 'completed', result => $exact . 'y');
    my $br = get_run($b) || {};
    is $br->{result}, $exact, 'one byte over: cut to the limit';
    is $br->{result_truncated}, JSON::PP::true(), 'and marked';

    # 2047 ASCII bytes then a 2-byte character: the cut keeps 2047
    my ($c) = end_with('running', 'completed', result => ('z' x 2047) . "\x{e9}tail");
    my $cr = get_run($c) || {};
    is $cr->{result}, 'z' x 2047, 'never inside a character';
    is $cr->{result_truncated}, JSON::PP::true(), 'marked';
};

flow 'results are recorded in a zone full of live runs', 4, sub {
    my $lid = register_launcher();
    my ($id) = run_in_state('running', $lid, session_name => 'res-full');
    my $c = Runs::conn();
    my $k = 0;
    while (1) {
        my $r = $c->request('POST', '/runs', { type => 'start_session',
                                               session_name => 'fill-' . ++$k,
                                               prompt => 'p' x 700 });
        last if $r->{status} != 201 || $k > 100000;
    }
    $c->close;
    my $r = launcher_event($id, 'completed', { launcher_id => $lid, result => 'r' x 60000 });
    is $r->{status}, 200, 'completed with a 60 kB result in a full zone: 200';
    my $run = get_run($id) || {};
    is $run->{status}, 'completed', 'the run is completed';
    ok length($run->{result} // '') <= 1024, 'its result cut to what fits (' . length($run->{result} // '') . ' bytes)';
    is $run->{result_truncated}, JSON::PP::true(), 'and marked';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: results round-trip byte for byte
--- http_config
    runs_zone runs 4m;
    runs_result_max 2k;



=== TEST 2: escapes are found wherever they fall in an 8-byte word



=== TEST 3: a result over runs_result_max is cut between characters and marked
--- http_config
    runs_zone runs 4m;
    runs_result_max 2k;



=== TEST 4: results are recorded in a zone full of live runs
--- http_config
    runs_zone runs 64k;
--- no_error_log
[alert]
[emerg]
[crit]
