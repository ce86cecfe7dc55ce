# Runner credentials (docs/SECURITY.md, docs/API.md): registration
# answers a secret token, and every runner call (the poll, a run's
# reports and log, the heartbeat, a runner removing itself) must carry it
# as "Authorization: Bearer"; a launcher id alone, which GET /runs and
# GET /launchers publish, lets no one act as that runner.  Each attack of
# the issue is tried and refused; runs_launcher_auth off lets id-only
# runners in; launcher ids and run ids are drawn apart; tokens survive a
# reload and, with a journal, a restart.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsJournal;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());


flow 'registration answers a token; every runner call needs it', 22, sub {
    my ($a, $reg) = register_launcher(hostname => 'a');
    my $b = register_launcher(hostname => 'b');
    like $reg->{json}{token} // '', qr/^rtk_[0-9a-f]{32}$/, 'registration answers a token of 128 bits';
    isnt Runs::token_of($a), Runs::token_of($b), 'each runner its own';
    my $wrong = Runs::token_of($b);
    my $run = create_run(prompt => 'p');
    my @calls = (
        ['GET', "/launcher/runs?launcher_id=$a", undef, 200, 'the poll'],
        ['POST', "/launcher/runs/$run/started", { launcher_id => $a }, 200, 'started'],
        ['POST', "/launcher/runs/$run/log", { launcher_id => $a, offset => 0, data => "hi\n" }, 200, 'a log piece'],
        ['POST', '/launcher/heartbeat', { launcher_id => $a }, 200, 'the heartbeat'],
        ['POST', "/launcher/runs/$run/completed", { launcher_id => $a, result => 'ok' }, 200, 'completed'],
    );
    for my $c (@calls) {
        my ($m, $path, $body, $want, $what) = @$c;
        my $r = Runs::with_token('', $m, $path, $body);
        ok $r->{status} == 401 && ($r->{json}{detail} // '') =~ /token required/, "$what without a token: 401";
        $r = Runs::with_token($wrong, $m, $path, $body);
        ok $r->{status} == 401 && ($r->{json}{detail} // '') =~ /not this launcher's/, "$what with another runner's token: 401";
        $r = req($m, $path, $body);
        is $r->{status}, $want, "$what with its own: $want";
    }
    my $r = Runs::with_token('', 'HEAD', "/launcher/runs?launcher_id=$a");
    is $r->{status}, 401, 'HEAD of the poll without a token: 401';
    $r = Runs::with_token('rtk_' . ('0' x 32), 'GET', "/launcher/runs?launcher_id=$a");
    is $r->{status}, 401, 'a made-up token: 401';
    $r = req('GET', "/launcher/runs?launcher_id=$a", undef, { Authorization => 'Basic ' . Runs::token_of($a) });
    is $r->{status}, 401, 'the token under another scheme: 401';
    $r = req('GET', "/launcher/runs?launcher_id=$a", undef, { Authorization => 'bearer ' . Runs::token_of($a) });
    is $r->{status}, 204, 'the scheme in any case: 204 (nothing to claim)';
    is scalar(grep { $_ eq 'launcher_id' || $_ eq 'token' } keys %{ $reg->{json} }), 2,
       'the registration answer has both';
};

flow 'the attacks: another party cannot act as a runner whose id it read', 13, sub {
    my $a = register_launcher(hostname => 'victim');
    my $evil = register_launcher(hostname => 'evil');
    my $etok = Runs::token_of($evil);
    my $run = create_run(prompt => 'victim work');
    is Runs::claimed_by($a), $run, 'the victim claims a run';
    # reports on a run someone else holds
    my $r1 = Runs::with_token($etok, 'POST', "/launcher/runs/$run/started", { launcher_id => $a });
    my $r2 = Runs::with_token('', 'POST', "/launcher/runs/$run/completed", { launcher_id => $a, result => 'forged' });
    ok $r1->{status} == 401 && $r2->{status} == 401, 'started and completed for its run as the victim: 401, 401';
    is status_of($run), 'claimed', 'the run is still the victim\'s, claimed';
    # its stop commands and its pending runs
    stop_run($run);
    my $r = Runs::with_token($etok, 'GET', "/launcher/runs?launcher_id=$a");
    is $r->{status}, 401, 'polling as the victim (its stops, its runs): 401';
    $r = poll_once($a, 5);
    is_deeply $r->{json}{stop_runs}, [$run], 'the victim\'s own poll still gets its stop';
    my $next = create_run(prompt => 'next');
    $r = Runs::with_token('', 'GET', "/launcher/runs?launcher_id=$a");
    is $r->{status}, 401, 'taking the victim\'s next run: 401';
    is status_of($next), 'pending', 'the run is not claimed';
    is Runs::claimed_by($a), $next, 'the victim\'s own poll claims it';
    # removing a runner as that runner
    $r = Runs::with_token($etok, 'DELETE', "/launchers/$a?self=true");
    is $r->{status}, 401, 'DELETE /launchers/{victim}?self=true by another: 401';
    ok scalar(grep { $_->{launcher_id} eq $a } @{ req('GET', '/launchers')->{json}{launchers} // [] }),
       'the victim is still registered';
    # a dead runner kept alive by someone else's heartbeats
    my $dead = register_launcher(hostname => 'dead');
    my $held = create_run(prompt => 'held');
    is Runs::claimed_by($dead), $held, 'a runner claims a run, then goes silent';
    launcher_event($held, 'started', { launcher_id => $dead });
    my $deadline = time + 6;
    my $refused = 0;
    while (time < $deadline && status_of($held) ne 'failed') {
        $refused++ if Runs::with_token($etok, 'POST', '/launcher/heartbeat', { launcher_id => $dead })->{status} == 401;
        sleep 0.3;
    }
    ok $refused > 3, "heartbeats sent for it by another party: 401 ($refused times)";
    is status_of($held), 'failed', 'so the silent runner is lost and its running run fails (launcher lost)';
};

flow 'runs_launcher_auth off: a launcher id alone is enough, as before', 4, sub {
    local $Runs::NO_TOKEN = 1;
    my ($a, $reg) = register_launcher(hostname => 'idonly');
    ok $a, 'it registers';
    my $run = create_run(prompt => 'p');
    is Runs::claimed_by($a), $run, 'its poll without a token claims';
    is launcher_event($run, 'started', { launcher_id => $a })->{status}, 200, 'started without a token: 200';
    is launcher_event($run, 'completed', { launcher_id => $a, result => 'x' })->{status}, 200, 'completed: 200';
};

flow 'launcher ids and run ids are drawn apart', 2, sub {
    my @l = map { scalar register_launcher(hostname => "h$_") } 1 .. 40;
    my @r = map { scalar create_run(prompt => "p$_") } 1 .. 40;
    my %run = map { (substr($_, 4) => 1) } grep { defined } @r;
    my @same = grep { $run{ substr($_, 5) } } grep { defined } @l;
    is scalar(@same), 0, 'no runner of 40 has the digits of any of 40 runs';
    is scalar(grep { defined } @l, @r), 80, 'all made';
};

flow 'runs_name_pattern: names that break the policy are refused, naming it', 9, sub {
    my $before = scalar @{ list_runs() };
    my ($ok, $r) = create_run(session_name => 'fix-login', prompt => 'p', agent_name => 'coder');
    is $r->{status}, 201, 'a session name and agent that match: 201';
    for my $c ([session_name => 'Fix_Login'], [agent_name => 'Coder'], [parent_session_name => 'Boss.1']) {
        my (undef, $res) = create_run(session_name => 'fine', prompt => 'p', @$c);
        ok $res->{status} == 422 && ($res->{json}{detail} // '') =~ /^Field '$c->[0]' must match the name policy \^\[a-z\]\[a-z0-9-\]\*\$ \(runs_name_pattern\)$/,
           "$c->[0] '$c->[1]': 422 naming the pattern" or diag($res->{body});
    }
    my (undef, $reg) = register_launcher(hostname => 'h', agents => ['coder', 'Reviewer']);
    ok $reg->{status} == 422 && ($reg->{json}{detail} // '') =~ /Field 'agents' must match/,
       'a runner listing an agent that breaks it: 422';
    is scalar @{ list_runs() }, $before + 1, 'only the good run was made';
    $r = req('POST', '/open/runs', { type => 'start_session', session_name => 'Old_Style', prompt => 'p' });
    is $r->{status}, 201, 'a location with runs_name_pattern off takes any name of the built-in rule';
    $r = req('POST', '/open/runs', { type => 'start_session', session_name => '-bad', prompt => 'p' });
    is $r->{status}, 422, 'but not beyond it';
    (undef, $reg) = register_launcher(hostname => 'h', agents => ['coder']);
    is $reg->{status}, 200, 'a runner whose agents match registers';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: registration answers a token; every runner call needs it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 2: the attacks: another party cannot act as a runner whose id it read
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;



=== TEST 3: runs_launcher_auth off: a launcher id alone is enough, as before
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_launcher_auth off;



=== TEST 4: launcher ids and run ids are drawn apart
--- http_config
    runs_zone runs 4m;



=== TEST 5: runs_name_pattern: names that break the policy are refused, naming it
--- http_config
    runs_zone runs 4m;
    runs_name_pattern "^[a-z][a-z0-9-]*$";
--- config
    location /runs { runs_api runs; }
    location /open/runs { runs_api runs; runs_name_pattern off; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
