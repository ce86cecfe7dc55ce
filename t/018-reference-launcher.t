# The reference launcher (the Python daemon this product replaces) works
# unmodified where the operator lets id-only runners in
# (runs_launcher_auth off): its requests, byte for byte as it sends them
# (json.dumps spacing, null for what it does not know, status "success"
# on completion), drive runs from claim to every end.  It sends no token,
# so with the default (on) its calls are refused.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });

# the reference launcher knows nothing of tokens
$Runs::NO_TOKEN = 1;
add_response_body_check(Runs::flow_hook());

# a request as the reference launcher sends it (python-requests, json=)
sub ref_post {
    my ($path, $text) = @_;
    return Runs::req('POST', $path, $text,
                     { 'Content-Type' => 'application/json',
                       'User-Agent' => 'python-requests/2.31.0',
                       'Accept' => '*/*' });
}

sub ref_register {
    my ($text) = @_;
    my $r = ref_post('/launcher/register', $text);
    return ($r->{json} || {})->{launcher_id}, $r;
}

flow 'the reference launcher runs a session from claim to completion', 10, sub {
    my ($lid, $reg) = ref_register('{"hostname": "box-1", "project_dir": "/srv/app", '
                                    . '"executor_type": "claude-code"}');
    is $reg->{status}, 200, 'register: 200';
    like $lid // '', qr/^lnch_[0-9a-f]{12}$/, 'with a launcher id';
    is_deeply [grep { !exists $reg->{json}{$_} }
               qw(heartbeat_interval_seconds launcher_id poll_endpoint poll_timeout_seconds)],
        [], 'the fields it reads are there';

    my $id = create_run(session_name => 'ref-1', prompt => 'hello');
    my $poll = Runs::req('GET', "/launcher/runs?launcher_id=$lid");
    is $poll->{json} && $poll->{json}{run}{run_id}, $id, 'poll with ?launcher_id=: the run';
    is ref_post('/launcher/heartbeat', qq({"launcher_id": "$lid"}))->{status}, 200,
        'heartbeat: 200';
    is ref_post("/launcher/runs/$id/started", qq({"launcher_id": "$lid"}))->{status}, 200,
        'started: 200';
    my $done = ref_post("/launcher/runs/$id/completed",
                        qq({"launcher_id": "$lid", "status": "success"}));
    is $done->{status}, 200, 'completed with "status": "success": 200';
    is status_of($id), 'completed', 'the run is completed';
    my $again = ref_post("/launcher/runs/$id/completed",
                         qq({"launcher_id": "$lid", "status": "success"}));
    is $again->{status}, 200, 'the same report again (a retry): 200';
    is Runs::req('DELETE', "/launchers/$lid?self=true")->{status}, 200,
        'it deregisters itself';
};

flow 'failed and stopped as the reference launcher sends them', 8, sub {
    my ($lid) = ref_register('{"hostname": "box-2", "project_dir": null, '
                             . '"executor_type": "claude-code"}');
    ok $lid, 'register with a null project_dir';
    my $a = create_run(session_name => 'ref-2');
    claim($lid);
    ref_post("/launcher/runs/$a/started", qq({"launcher_id": "$lid"}));
    my $f = ref_post("/launcher/runs/$a/failed",
                     qq({"launcher_id": "$lid", "error": "Process exited with code 1: )
                     . qq(Traceback (most recent call last):\\n  File \\"x.py\\"\\nValueError"}));
    is $f->{status}, 200, 'failed with its error text: 200';
    like((get_run($a) || {})->{error} // '', qr/^Process exited with code 1: Traceback.*\n.*ValueError$/s,
         'the error as sent, newlines and quotes decoded');

    my $b = create_run(session_name => 'ref-3');
    claim($lid);
    ref_post("/launcher/runs/$b/started", qq({"launcher_id": "$lid"}));
    stop_run($b);
    my $p = Runs::req('GET', "/launcher/runs?launcher_id=$lid");
    is_deeply $p->{json}, { stop_runs => [$b] }, 'the poll carries the stop';
    is ref_post("/launcher/runs/$b/stopped", qq({"launcher_id": "$lid", "signal": "SIGTERM"}))->{status},
        200, 'stopped with "signal": "SIGTERM": 200';
    is status_of($b), 'stopped', 'the run is stopped';

    my $c = create_run(session_name => 'ref-4');
    claim($lid);
    stop_run($c);
    is ref_post("/launcher/runs/$c/stopped", qq({"launcher_id": "$lid", "signal": 15}))->{status},
        200, 'stopped with a signal number: 200';
    is ref_post('/launcher/register', '')->{status}, 200, 'register with no body at all: 200';
};

flow 'with runs_launcher_auth on (the default) the reference launcher is refused', 4, sub {
    my ($lid, $reg) = ref_register('{"hostname": "box-1", "project_dir": "/srv/app", '
                                    . '"executor_type": "claude-code"}');
    is $reg->{status}, 200, 'it registers (the token in the answer is not read)';
    my $r = Runs::req('GET', "/launcher/runs?launcher_id=$lid", undef,
                      { 'User-Agent' => 'python-requests/2.31.0' });
    is $r->{status}, 401, 'its poll without a token: 401';
    like $r->{json}{detail} // '', qr/Launcher token required/, 'saying a token is required';
    is $r->{headers}{'www-authenticate'}, 'Bearer realm="runs"', 'with WWW-Authenticate: Bearer';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the reference launcher runs a session from claim to completion
--- http_config
    runs_zone runs 4m;
    runs_launcher_auth off;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: failed and stopped as the reference launcher sends them
--- http_config
    runs_zone runs 4m;
    runs_launcher_auth off;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: with runs_launcher_auth on (the default) the reference launcher is refused
