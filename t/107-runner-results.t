# agent-runner returns the agent's answer: the executor's stdout is sent
# as the run's result with completed, failed and stopped; a stdout larger
# than the coordinator keeps (result_max_bytes) is read to its end (the
# executor never blocks) and arrives cut and marked.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

runner_flow 'the executor\'s stdout comes back as the result', 9, sub {
    my $h = start_runner(args => ['--max-concurrent', '2']);
    ok runner_launcher($h), 'a runner';

    my ($ok) = create_run(session_name => 'rr-1', prompt => "R\x{e9}sum\x{e9} \"quoted\"");
    my $run = wait_terminal($ok, 10) || {};
    is "$run->{status} " . ($run->{result} // 'null'), "completed R\x{e9}sum\x{e9} \"quoted\"\n",
        'completed: the result is the executor\'s stdout';

    my ($f) = create_run(session_name => 'rr-2', prompt => 'half done fail=3');
    $run = wait_terminal($f, 10) || {};
    is "$run->{status} " . ($run->{result} // 'null'), "failed half done fail=3\n",
        'failed: its stdout comes back too';
    like $run->{error} // '', qr/./, 'beside its error';

    my ($s) = create_run(session_name => 'rr-3', prompt => 'long job sleep=30');
    ok wait_status($s, 'running', 10), 'a long run is running';
    stop_run($s);
    $run = wait_terminal($s, 15) || {};
    # whether the echo executor wrote its line before the SIGTERM took
    # effect depends on timing: either way the result is a string, not null
    ok $run->{status} eq 'stopped' && defined $run->{result}
       && ($run->{result} eq '' || $run->{result} eq "long job sleep=30\n"),
       'stopped: what it wrote (if anything) comes back as a string'
       or diag explain $run;

    # 3,000 bytes of prompt, echoed: over runs_result_max 2k
    my $long = 'a' x 3000;
    my ($b) = create_run(session_name => 'rr-4', prompt => $long);
    $run = wait_terminal($b, 10) || {};
    is length($run->{result} // ''), 2048, 'a large stdout is cut to result_max_bytes';
    is $run->{result_truncated}, JSON::PP::true(), 'and marked';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the executor's stdout comes back as the result
--- http_config
    runs_zone runs 4m;
    runs_result_max 2k;
