# Launchers API (runs_launchers_api): listing, self and external
# deregistration, a held poll woken by a deregistration.

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

sub launchers {
    my $r = Runs::req('GET', '/launchers');
    return ($r->{json} && ref $r->{json}{launchers} eq 'ARRAY')
           ? $r->{json}{launchers} : [];
}

sub launcher {
    my ($lid) = @_;
    my ($l) = grep { ($_->{launcher_id} // '') eq $lid } @{ launchers() };
    return $l;
}

my $TS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

flow 'list launchers with status and seconds_since_heartbeat', 14, sub {
    my $a = register_launcher(hostname => 'alpha', project_dir => '/srv/a',
                              executor_type => 'claude');
    my $b = register_launcher();
    my $r = Runs::req('GET', '/launchers');
    is $r->{status}, 200, 'GET /launchers: 200';
    like $r->{headers}{'content-type'} // '', qr{^application/json\b}, 'JSON';
    my $list = ($r->{json} || {})->{launchers} || [];
    is_deeply [map { $_->{launcher_id} } @$list], [$a, $b],
        'oldest registration first';
    my $l = $list->[0] || {};
    is $l->{hostname}, 'alpha', 'hostname';
    is $l->{project_dir}, '/srv/a', 'project_dir';
    is $l->{executor_type}, 'claude', 'executor_type';
    like $l->{registered_at} // '', $TS, 'registered_at';
    like $l->{last_heartbeat} // '', $TS, 'last_heartbeat';
    is $l->{status}, 'online', 'online';
    ok defined $l->{seconds_since_heartbeat}
       && $l->{seconds_since_heartbeat} =~ /^[0-9.eE+-]+$/
       && $l->{seconds_since_heartbeat} >= 0
       && $l->{seconds_since_heartbeat} < 2, 'seconds_since_heartbeat is a small number';
    ok exists $l->{deregistering} && !$l->{deregistering}, 'deregistering false';
    my $m = $list->[1] || {};
    is_deeply [map { $m->{$_} } qw(hostname project_dir executor_type)],
              [undef, undef, undef], 'unset fields are null';
    ok((grep { !exists $m->{$_} } qw(launcher_id hostname project_dir
        executor_type registered_at last_heartbeat status
        seconds_since_heartbeat deregistering)) == 0, 'every field present');
    like $l->{launcher_id} // '', qr/^lnch_[0-9a-f]{12}$/, 'launcher_id';
};

flow 'a runner lists the agents it can run', 7, sub {
    my ($a) = register_launcher(agents => ['reviewer', 'coder.v2']);
    my ($b) = register_launcher();
    my %by = map { $_->{launcher_id} => $_ }
             @{ (Runs::req('GET', '/launchers')->{json} || {})->{launchers} || [] };
    is_deeply $by{$a}{agents}, ['reviewer', 'coder.v2'], 'its agents, in its order';
    is_deeply $by{$b}{agents}, [], 'none: an empty list';
    for my $bad (['bad name'], 'reviewer', [1], [['x']], ["a\"b"]) {
        my $r = Runs::req('POST', '/launcher/register', { agents => $bad });
        is $r->{status}, 422, 'agents ' . Runs::jenc($bad) . ': 422';
    }
};

flow 'a silent launcher turns stale, a poll brings it back online', 5, sub {
    my $lid = register_launcher();
    is((launcher($lid) || {})->{status}, 'online', 'online at first');
    sleep 1.6;
    my $l = launcher($lid) || {};
    is $l->{status}, 'stale', 'stale after runs_heartbeat_timeout (1s)';
    cmp_ok $l->{seconds_since_heartbeat} // 0, '>=', 1.5, 'seconds_since_heartbeat grows';
    my $p = poll_once($lid, 5);
    is $p->{status}, 204, 'poll (1s timeout) answers 204';
    is((launcher($lid) || {})->{status}, 'online', 'a poll counts as a heartbeat');
};

flow 'DELETE ?self=true removes the launcher now', 11, sub {
    my $lid = register_launcher(hostname => 'self');
    my ($claimed) = run_in_state('claimed', $lid, session_name => 'self-c');
    my ($running) = run_in_state('running', $lid, session_name => 'self-r');
    ok defined $claimed && defined $running, 'a claimed and a running run';
    my $r = deregister($lid, 1);
    is $r->{status}, 200, 'DELETE ?self=true: 200';
    is_deeply $r->{json}, { ok => JSON::PP::true(), message => 'Launcher deregistered',
                            initiated_by => 'self' }, 'body';
    ok !launcher($lid), 'gone from the list';
    is poll_once($lid, 5)->{status}, 401, 'its poll now answers 401';
    is Runs::req('POST', '/launcher/heartbeat', { launcher_id => $lid })->{status},
        401, 'its heartbeat answers 401';
    is deregister($lid, 1)->{status}, 404, 'deleting again: 404';
    my $c = get_run($claimed) || {};
    is $c->{status}, 'pending', 'its claimed run is back to pending';
    my $x = get_run($running) || {};
    is $x->{status}, 'failed', 'its running run failed';
    is $x->{error}, 'launcher deregistered', 'with error "launcher deregistered"';
    my $other = register_launcher();
    my $run = claim($other);
    is $run && $run->{run_id}, $claimed, 'the returned run is handed out again';
};

flow 'DELETE marks for deregistration; the next poll answers deregistered', 9, sub {
    my $lid = register_launcher(hostname => 'ext');
    my $r = deregister($lid);
    is $r->{status}, 200, 'DELETE: 200';
    is_deeply $r->{json}, { ok => JSON::PP::true(),
                            message => 'Launcher marked for deregistration',
                            initiated_by => 'external' }, 'body';
    my $l = launcher($lid);
    ok $l, 'still listed until it polls';
    ok $l && $l->{deregistering}, 'deregistering true';
    create_run(session_name => 'not-for-ext');
    my $p = poll_once($lid, 5);
    is $p->{status}, 200, 'poll: 200';
    is_deeply $p->{json}, { deregistered => JSON::PP::true() },
        '{"deregistered": true}, not the pending run';
    ok !launcher($lid), 'then removed';
    is poll_once($lid, 5)->{status}, 401, 'a later poll: 401';
    my ($pl) = list_runs('session_name=not-for-ext');
    is(($pl->[0] || {})->{status}, 'pending', 'the pending run was not claimed');
};

flow 'deregistration of a held poll answers it at once', 10, sub {
    # external
    my $lid = register_launcher();
    my $c = hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 0.3;
    ok !$c->ready, 'poll held';
    my $t0 = Time::HiRes::time();
    is deregister($lid)->{status}, 200, 'DELETE from another connection: 200';
    my $p = collect($c, 10);
    my $dt = Time::HiRes::time() - $t0;
    is $p->{status}, 200, 'held poll answered 200';
    is_deeply $p->{json}, { deregistered => JSON::PP::true() }, '{"deregistered": true}';
    cmp_ok $dt, '<', Runs::tf(0.5), 'quickly';
    # self
    my $lid2 = register_launcher();
    my $c2 = hold('GET', "/launcher/runs?launcher_id=$lid2");
    sleep 0.3;
    ok !$c2->ready, 'second poll held';
    $t0 = Time::HiRes::time();
    is deregister($lid2, 1)->{status}, 200, 'DELETE ?self=true: 200';
    my $p2 = collect($c2, 10);
    $dt = Time::HiRes::time() - $t0;
    is $p2->{status}, 200, 'held poll answered 200';
    is_deeply $p2->{json}, { deregistered => JSON::PP::true() }, '{"deregistered": true}';
    cmp_ok $dt, '<', Runs::tf(0.5), 'quickly';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: an empty list
--- request
GET /launchers
--- error_code: 200
--- response_body_like: ^\{\s*"launchers"\s*:\s*\[\s*\]\s*\}\s*$



=== TEST 2: list launchers with status and seconds_since_heartbeat



=== TEST 3: a runner lists the agents it can run



=== TEST 4: a silent launcher turns stale, a poll brings it back online
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 60s;



=== TEST 5: DELETE ?self=true removes the launcher now
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 6: DELETE marks for deregistration; the next poll answers deregistered
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 7: deregistration of a held poll answers it at once
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;



=== TEST 8: unknown launchers answer 404 Launcher not found
--- request eval
[
"DELETE /launchers/lnch_000000000000",
"DELETE /launchers/lnch_000000000000?self=true",
"DELETE /launchers/lnch_ffffffffffff?self=false",
"DELETE /launchers/nonsense",
]
--- error_code eval
[404, 404, 404, 404]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Launcher not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Launcher not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Launcher not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"(?:Launcher not found|Not found)"\s*\}\s*$/,
]



=== TEST 9: wrong methods and unknown paths
--- request eval
[
"POST /launchers\n{}",
"DELETE /launchers",
"GET /launchers/lnch_000000000000",
"PUT /launchers/lnch_000000000000\n{}",
"GET /launchers/lnch_000000000000/runs",
]
--- error_code eval
[405, 405, 405, 405, 404]
--- response_headers_like eval
[
"Allow: (?=.*\\bGET\\b)(?!.*\\bPOST\\b)(?!.*\\bDELETE\\b).*",
"Allow: (?=.*\\bGET\\b)(?!.*\\bPOST\\b)(?!.*\\bDELETE\\b).*",
"Allow: (?=.*\\bDELETE\\b)(?!.*\\bGET\\b).*",
"Allow: (?=.*\\bDELETE\\b)(?!.*\\bPUT\\b).*",
"Content-Type: application/json.*",
]
--- response_body_like eval
[
(qr/^\{\s*"detail"\s*:\s*"Method not allowed"\s*\}\s*$/) x 4,
qr/^\{\s*"detail"\s*:\s*"Not found"\s*\}\s*$/,
]
