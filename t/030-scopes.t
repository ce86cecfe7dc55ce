# Tenant scopes (docs/SECURITY.md): "runs_scope $remote_user;" behind
# auth_basic confines each client to the sessions of its own scope.
# Creates land in it; lists, reads, waits, logs, stops and every session
# operation see only it; another scope's run or session answers 404 as
# if it did not exist, and a session name is unique within a scope only.
# An empty scope value is refused with 403.  Runners, and a location
# without runs_scope, see every scope; scopes survive a restart.

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

# users of auth_basic: Runs::as_user, Runs::start_as
sub as { Runs::as_user(@_) }
sub start_as { Runs::start_as(@_) }

sub ids { join ' ', sort map { $_->{run_id} } @{ $_[0] } }

flow 'two tenants share one coordinator without seeing each other', 27, sub {
    my ($a1) = start_as('alice', 'fix');
    my ($b1, $br) = start_as('bob', 'fix');
    ok $a1 && $b1, 'alice and bob each start a session named "fix": 201, 201 (names are per scope)';
    my ($a2) = start_as('alice', 'other');
    my $ra = as('alice', 'GET', '/runs')->{json}{runs} // [];
    my $rb = as('bob', 'GET', '/runs')->{json}{runs} // [];
    is ids($ra), join(' ', sort $a1, $a2), 'alice lists her two runs only';
    is ids($rb), $b1, 'bob lists his one run only';
    is scalar @{ as('alice', 'GET', '/runs?session_name=fix')->{json}{runs} // [] }, 1,
       'alice\'s runs of "fix": her own';
    my $none = as('alice', 'GET', '/runs/run_000000000000');
    for my $c (['GET', "/runs/$b1", 'read'], ['GET', "/runs/$b1?wait=1", 'wait on'],
               ['GET', "/runs/$b1/log", 'read the log of'], ['POST', "/runs/$b1/stop", 'stop']) {
        my $r = as('alice', $c->[0], $c->[1]);
        ok $r->{status} == 404 && $r->{body} eq $none->{body}, "alice cannot $c->[2] bob's run: 404, as for no run";
    }
    is as('bob', 'GET', "/runs/$b1")->{json}{status}, 'pending', 'bob\'s run is still pending';
    # sessions
    my $sa = as('alice', 'GET', '/sessions')->{json}{sessions} // [];
    my $sb = as('bob', 'GET', '/sessions')->{json}{sessions} // [];
    is join(' ', sort map { $_->{session_name} } @$sa), 'fix other', 'alice lists her sessions';
    is join(' ', map { $_->{session_name} } @$sb), 'fix', 'bob lists his';
    my $bsid = $sb->[0]{session_id} // '';
    my $asid = (as('alice', 'GET', '/sessions/by-name/fix')->{json}{session} || {})->{session_id} // '';
    ok $asid && $bsid && $asid ne $bsid, 'by name, each finds their own "fix"';
    my $snone = as('alice', 'GET', '/sessions/00000000-0000-4000-8000-000000000000');
    for my $c (['GET', "/sessions/$bsid"], ['GET', "/sessions/$bsid/runs"], ['GET', "/sessions/$bsid/result"],
               ['POST', "/sessions/$bsid/stop"], ['DELETE', "/sessions/$bsid"]) {
        my $r = as('alice', @$c);
        ok $r->{status} == 404 && $r->{body} eq $snone->{body}, "alice: $c->[0] $c->[1] of bob's session: 404, as for none";
    }
    is as('bob', 'GET', "/sessions/$bsid")->{json}{session}{run_count}, 1, 'bob\'s session is intact';
    # a resume lands in the resumer's own session of that name
    my $r = as('alice', 'POST', '/runs', { type => 'resume_session', session_name => 'fix', prompt => 'more' });
    is $r->{status}, 201, 'alice resumes her "fix"';
    is as('bob', 'GET', "/sessions/$bsid")->{json}{session}{run_count}, 1, 'bob\'s "fix" did not grow';
    $r = as('bob', 'POST', '/runs', { type => 'resume_session', session_name => 'other', prompt => 'x' });
    is $r->{status}, 404, 'bob resuming alice\'s "other": 404, no such session for him';
    # a location without runs_scope and the runners see every scope
    is scalar @{ req('GET', '/admin/runs')->{json}{runs} // [] }, 4, 'the unscoped location lists all four runs';
    my $lid = register_launcher(hostname => 'h');
    my @got = map { claim($lid) } 1 .. 4;
    is scalar(grep { $_ && $_->{run_id} } @got), 3, 'a runner claims from every scope (three claimable: one waits behind its session)';
    is as('mallory', 'GET', '/runs')->{status}, 401, 'a user auth_basic does not know: 401 (auth_basic\'s own)';
    my $r403 = req('GET', '/tenant/runs');
    ok $r403->{status} == 403 && ($r403->{json}{detail} // '') =~ /runs_scope is empty/,
       'runs_scope $http_x_tenant without the header: 403';
    is ids(req('GET', '/tenant/runs', undef, { 'X-Tenant' => 'bob' })->{json}{runs} // []), $b1,
       'with X-Tenant: bob, bob\'s runs: a scope is its value, wherever it comes from';
    is req('GET', '/tenant/runs', undef, { 'X-Tenant' => 'b' x 1025 })->{status}, 403,
       'a scope value over 1024 bytes: 403';
};

flow 'a child\'s callback goes to its parent in the same scope', 3, sub {
    my ($pa) = start_as('alice', 'lead');
    my ($pb) = start_as('bob', 'lead');
    my $lid = register_launcher(hostname => 'h');
    for my $id ($pa, $pb) {
        my $c = claim($lid);
        launcher_event($c->{run_id}, 'started', { launcher_id => $lid });
        launcher_event($c->{run_id}, 'completed', { launcher_id => $lid, result => 'ok' });
    }
    my ($child) = start_as('bob', 'helper', parent_session_name => 'lead');
    my $c = claim($lid);
    is $c && $c->{run_id}, $child, 'bob\'s child session runs';
    launcher_event($child, 'started', { launcher_id => $lid });
    launcher_event($child, 'completed', { launcher_id => $lid, result => 'the answer' });
    my $runs = wait_for(3, sub {
        my $r = as('bob', 'GET', '/runs?session_name=lead')->{json}{runs} // [];
        @$r == 2 ? $r : undef;
    }) // [];
    is scalar(@$runs), 2, 'bob\'s "lead" gets the callback run';
    is scalar @{ as('alice', 'GET', '/runs?session_name=lead')->{json}{runs} // [] }, 1,
       'alice\'s "lead" does not';
};

flow 'a runner that registers in a location with runs_scope takes that scope\'s runs only', 6, sub {
    my ($a1) = start_as('alice', 'one');
    my ($b1) = start_as('bob', 'two');
    my (undef, $reg) = (undef, req('POST', '/tenant/launcher/register', { hostname => 'ra' }, { 'X-Tenant' => 'alice' }));
    my $ra = $reg->{json}{launcher_id};
    Runs::remember_token($reg);
    ok $ra, 'a runner registers where runs_scope is alice';
    is req('POST', '/tenant/launcher/register', { hostname => 'x' })->{status}, 403,
       'where the scope is empty, registration is refused: 403';
    my $c = claim($ra);
    is $c && $c->{run_id}, $a1, 'alice\'s runner takes alice\'s run';
    my $r = poll_once($ra, 3);
    ok $r->{status} == 204 || !($r->{json} && $r->{json}{run}), 'and not bob\'s';
    my $any = register_launcher(hostname => 'shared');
    $c = claim($any);
    is $c && $c->{run_id}, $b1, 'a runner of no scope takes bob\'s';
    is get_run($b1)->{waiting_for}, undef, '(which waited for nothing)';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: two tenants share one coordinator without seeing each other
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- config
    location /admin/runs { runs_api runs; }
    location /runs { runs_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /sessions { runs_sessions_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /tenant/runs { runs_api runs; runs_scope $http_x_tenant; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
--- user_files
>>> htpasswd
alice:{PLAIN}pw
bob:{PLAIN}pw
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: a child's callback goes to its parent in the same scope
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- config
    location /admin/runs { runs_api runs; }
    location /runs { runs_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
--- user_files
>>> htpasswd
alice:{PLAIN}pw
bob:{PLAIN}pw



=== TEST 3: a runner that registers in a location with runs_scope takes that scope's runs only
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
--- config
    location /admin/runs { runs_api runs; }
    location /runs { runs_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /tenant/launcher { runs_launcher_api runs; runs_scope $http_x_tenant; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
--- user_files
>>> htpasswd
alice:{PLAIN}pw
bob:{PLAIN}pw
