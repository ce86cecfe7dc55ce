# agent-runner and the runner tokens (runs_launcher_auth): the token a
# registration answers goes as "Authorization: Bearer" on every call the
# runner makes as that launcher (polls, heartbeats, reports, log posts,
# its deregistration), and nowhere else: not in its log (at -v), not in
# its executors' environment or payload.  Any 401 (the launcher
# forgotten, its token missing or not its own) makes it register again,
# with its backoff when that does not help; a report of a run claimed
# under an earlier registration is dropped as before, and makes no new
# registration.  A coordinator with runs_launcher_auth off, whether its
# answer holds a token or not, takes the runner as before.
#
# What the runner sends is seen through RunsRunner::start_proxy, which
# notes each request's token as a digest and can take tokens out of the
# answers or the requests.  The coordinator restart is RunsRunner::
# restart_nginx (a new, empty zone: every launcher forgotten).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

# what an operator's shell might hold for runsctl: never an agent's
my $OPERATOR_TOKEN = 'rtk_' . ('5eed' x 8);

# the registrations in a runner's log: [launcher id, auth]
sub registrations {
    my ($h) = @_;
    my @r;
    my $log = runner_log($h);
    push @r, [$1, $2] while $log =~ /INFO registered launcher_id=(lnch_[0-9a-f]+) .* auth=(\w+)$/mg;
    return \@r;
}

# the launcher id of its registration after $old, once there is one
sub registered_after {
    my ($h, $old, $timeout) = @_;
    return Runs::wait_for($timeout // 10, sub {
        my $r = registrations($h);
        return @$r >= 2 && $r->[-1][0] ne $old ? $r->[-1][0] : undef;
    });
}

# the proxy's notes, by the kind of call: "register", "poll", "heartbeat",
# "started", "log", "completed", "failed", "stopped", "deregister"
sub call_kind {
    my ($method, $path) = @_;
    return 'register' if $path =~ m{/launcher/register$};
    return 'poll' if $path =~ m{/launcher/runs\?launcher_id=};
    return 'heartbeat' if $path =~ m{/launcher/heartbeat$};
    return $1 if $path =~ m{/launcher/runs/run_\w+/(\w+)$};
    return 'deregister' if $method eq 'DELETE' && $path =~ m{/launchers/lnch_\w+\?self=true$};
    return "other: $method $path";
}

# the calls a runner made with each token: { digest => { kind => n } }
sub calls_by_token {
    my ($notes) = @_;
    my %by;
    $by{ $_->[2] }{ call_kind(@$_[0, 1]) }++ for @$notes;
    return \%by;
}

# is text free of tokens (any "rtk_" and hex, the operator's fake one)?
# (the coordinator's detail "... Bearer rtk_..." names none)
sub token_free {
    my ($text) = @_;
    return $text !~ /rtk_[0-9a-f]|\Q$OPERATOR_TOKEN\E/;
}

runner_flow 'with runs_launcher_auth on: every call carries the token, which stays in the runner', 12, sub {
    my $p = start_proxy();
    my $h = start_runner(url => $p->{url},
                         args => ['--heartbeat-interval', '0.3', '--max-concurrent', '2'],
                         env => { RUNS_LAUNCHER_TOKEN => $OPERATOR_TOKEN });
    my $lid = runner_launcher($h);
    my $reg = registrations($h)->[0] || [];
    ok $lid && ($reg->[1] // '') eq 'bearer', 'registered; its log says a token came, not which';

    my $out = File::Temp->new(SUFFIX => '-payload');
    my ($id) = create_run(session_name => 'auth-env',
                          prompt => "out=$out lines=3 env\nsh: env");
    my $run = wait_terminal($id, 15) || {};
    my $log = Runs::req('GET', "/runs/$id/log")->{body} // '';
    ok +($run->{status} // '') eq 'completed' && $log =~ /log line 3 of 3/
       && $log =~ /^AGENT_RUN_ID=\Q$id\E$/m,
       'a run completes, its log posted (the whole environment of its executor in it)'
        or diag explain [$run, $log];
    ok token_free($log) && $log !~ /RUNS_LAUNCHER_TOKEN/,
       'no token in the executor\'s environment, not even the runner\'s own RUNS_LAUNCHER_TOKEN'
        or diag $log;
    my $payload = do { local $/; open my $in, '<', "$out" or die "$out: $!\n"; <$in> } // '';
    ok $payload =~ /\Q$id\E/ && token_free($payload), 'nor in its payload' or diag $payload;

    my ($s) = create_run(session_name => 'auth-stop', prompt => 'sleep=30');
    wait_status($s, 'running', 10);
    Runs::stop_run($s);
    is((wait_terminal($s, 15) || {})->{status}, 'stopped', 'a run stopped: its report taken');
    ok Runs::wait_for(5, sub { my @n = runner_log($h) =~ /DEBUG heartbeat launcher_id/g; @n >= 3 }),
       'heartbeats taken';

    is runner_stop($h), 0, 'SIGTERM: exit status 0';
    like runner_log($h), qr/INFO deregistered launcher_id=\Q$lid\E$/m, 'it deregistered itself';
    ok !launcher_info($lid), 'and is gone from the coordinator';

    my $notes = proxy_auth($p);
    my ($reg_note) = grep { defined $_->[3] } @$notes;
    my $tok = $reg_note ? $reg_note->[3] : '-';
    my $by = calls_by_token($notes);
    my @kinds = sort keys %{ $by->{$tok} || {} };
    ok $tok ne '-' && "@kinds" eq 'completed deregister heartbeat log poll started stopped'
       && (keys %$by) == 2 && $by->{'-'}{register} == 1 && (keys %{ $by->{'-'} }) == 1,
       'every call after the registration carried its token (only the registration none)'
        or diag explain $by;
    ok token_free(runner_log($h)), 'no token in the runner\'s log (-v)' or diag runner_log($h);
};

runner_flow 'forgotten by the coordinator (restart, no journal): registers again with a new token', 9, sub {
    my $p = start_proxy();
    my $h = start_runner(url => $p->{url}, args => ['--heartbeat-interval', '0.5']);
    my $lid = runner_launcher($h);
    ok $lid, 'registered';
    # a run that runs while the coordinator goes and comes back empty
    my ($during) = create_run(session_name => 'auth-rs-b', prompt => 'sleep=2');
    wait_status($during, 'running');
    ok RunsRunner::restart_nginx(0.5), 'nginx stopped and started again (empty zone)';

    my $lid2 = registered_after($h, $lid);
    ok $lid2 && launcher_info($lid2), 'it registered again';
    like runner_log($h), qr/WARN the coordinator does not know this launcher launcher_id=\Q$lid\E seen_in=\w+ status=401 detail="Launcher not registered" action=register_again/,
        'after the 401, with the coordinator\'s detail';
    my ($after) = create_run(session_name => 'auth-rs-c', prompt => 'sleep=0.1');
    my $r = wait_terminal($after, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid2", 'and completes new runs';

    # the run claimed under the first registration reports as that one:
    # refused by the new coordinator, dropped, no registration more
    ok Runs::wait_for(15, sub { runner_log($h) =~ /WARN \Q$during\E report refused, dropped event=completed status=40[149]/ }),
       'the report of the run of the first registration: refused and dropped'
        or diag runner_log($h);
    sleep 1;
    is scalar(@{ registrations($h) }), 2, 'no registration more for it';

    my $notes = proxy_auth($p);
    my @tokens = map { $_->[3] } grep { defined $_->[3] } @$notes;
    my ($late) = grep { $_->[1] =~ m{/\Q$during\E/completed$} } @$notes;
    my ($new) = grep { $_->[1] =~ m{/\Q$after\E/completed$} } @$notes;
    ok @tokens == 2 && $tokens[0] ne $tokens[1] && $late && $late->[2] eq $tokens[0]
       && $new && $new->[2] eq $tokens[1],
       'a new token; each report went with the token of the registration that claimed its run'
        or diag explain [\@tokens, $late, $new];
};

runner_flow 'a token missing or not its own (401): registers again; a proxy that drops every token: backoff', 10, sub {
    # the first poll loses its token, then the next registration's first
    # heartbeat carries another launcher's
    my $p = start_proxy(rules => [
        { match => qr{/launcher/runs\?}, auth => 'drop', times => 1 },
        { match => qr{/launcher/heartbeat$}, auth => 'wrong', times => 1 },
    ]);
    my $h = start_runner(url => $p->{url}, args => ['--heartbeat-interval', '0.5']);
    my $lid = runner_launcher($h);
    my $lid2 = registered_after($h, $lid);
    my $lid3 = $lid2 && registered_after($h, $lid2);
    ok $lid3, 'three registrations' or diag runner_log($h);
    my $log = runner_log($h);
    like $log, qr/WARN the coordinator does not know this launcher launcher_id=\Q$lid\E seen_in=poll status=401 detail="Launcher token required: /,
        'a poll without the token: "token required"';
    like $log, qr/WARN the coordinator does not know this launcher launcher_id=\Q$lid2\E seen_in=heartbeat status=401 detail="Launcher token is not this launcher's: register again"/,
        'a heartbeat with another token: "not this launcher\'s"';
    # (the proxy keeps the poll of the second registration open at the
    # coordinator after the runner left it, until the poll timeout: a run
    # created before would be lost to it until runs_claim_timeout)
    sleep 2.5;
    my ($id) = create_run(session_name => 'auth-again', prompt => 'lines=2');
    my $r = wait_terminal($id, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid3", 'and works as the third';
    is scalar(@{ registrations($h) }), 3, 'registered no more';
    ok token_free(runner_log($h)), 'no token in its log' or diag runner_log($h);

    # every token taken out on the way: each registration's first poll is
    # refused, and the runner registers again after its backoff
    my $q = start_proxy(rules => [{ match => qr{/launcher/(?:runs|heartbeat)}, auth => 'drop' }]);
    my $g = start_runner(url => $q->{url});
    ok runner_launcher($g), 'a runner behind it registers';
    sleep 4;
    my $n = scalar @{ registrations($g) };
    ok $n >= 2 && $n <= 5, "not in a tight loop: $n registrations in 4 s"
        or diag runner_log($g);
    my @refusals = runner_log($g) =~ /WARN the coordinator does not know this launcher launcher_id=\S+ seen_in=poll status=401 detail="Launcher token required: [^\n]*" action=register_again$/mg;
    ok @refusals >= $n - 1, 'each refusal logged, with the coordinator\'s detail'
        or diag runner_log($g);
};

runner_flow 'runs_launcher_auth off: a runner with a token that is ignored, or none at all', 10, sub {
    my $url = coordinator_url() . '/open';
    my $h = start_runner(url => $url);
    my $lid = runner_launcher($h);
    ok $lid && (registrations($h)->[0][1] // '') eq 'bearer',
       'registered where the token is not needed (one came with the answer)';
    my ($id) = create_run(session_name => 'open-a', prompt => 'lines=2');
    my $r = wait_terminal($id, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid", 'a run completes';
    is runner_stop($h), 0, 'SIGTERM: exit 0';
    ok !launcher_info($lid) && runner_log($h) =~ /INFO deregistered launcher_id=\Q$lid\E$/m,
       'deregistered';

    # a coordinator whose answer holds no token: the runner sends none
    my $p = start_proxy(strip_token => 1);
    my $g = start_runner(url => "$p->{url}/open", args => ['--heartbeat-interval', '0.3']);
    my $lid2 = runner_launcher($g);
    ok $lid2 && (registrations($g)->[0][1] // '') eq 'none', 'a registration without a token';
    my ($id2) = create_run(session_name => 'open-b', prompt => 'lines=2 sleep=1');
    $r = wait_terminal($id2, 10) || {};
    is "$r->{status} $r->{launcher_id}", "completed $lid2", 'a run completes';
    is runner_stop($g), 0, 'SIGTERM: exit 0';
    ok !launcher_info($lid2), 'deregistered';
    my $by = calls_by_token(proxy_auth($p));
    ok +(keys %$by) == 1 && $by->{'-'}{poll} && $by->{'-'}{heartbeat} && $by->{'-'}{completed}
       && $by->{'-'}{deregister},
       'no Authorization on any call' or diag explain $by;
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: with runs_launcher_auth on: every call carries the token, which stays in the runner
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: forgotten by the coordinator (restart, no journal): registers again with a new token
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: a token missing or not its own (401): registers again; a proxy that drops every token: backoff
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: runs_launcher_auth off: a runner with a token that is ignored, or none at all
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /open/launcher { runs_launcher_api runs; runs_launcher_auth off; }
    location /open/launchers { runs_launchers_api runs; runs_launcher_auth off; }
--- no_error_log
[alert]
[emerg]
[crit]
