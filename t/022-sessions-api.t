# The Sessions API (runs_sessions_api) and session ids: every run of a
# session carries its session_id (a version 4 UUID made at its first run,
# new when the session is deleted and started again), in the run object
# and in the runner's poll; sessions are listed, read by id or name, their
# runs and latest result read, stopped and deleted in one step (a delete
# is refused while a runner holds a run of the session).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT log_post);
use Test::More;
use Time::HiRes qw(sleep);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

sub session_of { (get_run($_[0]) || {})->{session_id} }

flow 'session ids', 9, sub {
    my $lid = register_launcher();
    my $a1 = create_run(session_name => 'sid-a', agent_name => 'coder');
    my $sid = session_of($a1);
    like $sid // '', $UUID, 'a run carries a version 4 UUID as its session_id';
    my $b1 = create_run(session_name => 'sid-b');
    isnt session_of($b1), $sid, 'another session: another id';
    my $run = claim($lid);
    is $run->{session_id}, $sid, "the runner's poll carries it";
    launcher_event($a1, 'started', { launcher_id => $lid });
    launcher_event($a1, 'completed', { launcher_id => $lid });
    my $a2 = create_run(type => 'resume_session', session_name => 'sid-a');
    is session_of($a2), $sid, 'a resume carries the same id';
    my $l = list_runs('session_name=sid-a');
    is scalar(grep { $_->{session_id} eq $sid } @$l), 2, 'so does the listing';
    is req('DELETE', "/sessions/$sid")->{status}, 200, 'the session deleted';
    my $a3 = create_run(session_name => 'sid-a');
    my $new = session_of($a3);
    like $new // '', $UUID, 'started again';
    isnt $new, $sid, 'with a new id';
    my %seen;
    $seen{ session_of(create_run()) }++ for 1 .. 50;
    is scalar(keys %seen), 50, '50 sessions, 50 ids';
};

flow 'reading sessions', 22, sub {
    my $lid = register_launcher();
    my $s1 = create_run(session_name => 'rd-one', agent_name => 'coder',
                        project_dir => '/srv/app', parent_session_name => 'boss');
    my $sid = session_of($s1);
    my $r = req('GET', "/sessions/$sid");
    is $r->{status}, 200, 'GET /sessions/{id}: 200';
    my $s = $r->{json}{session} || {};
    is_deeply [sort keys %$s], [sort qw(session_id session_name status agent_name
        project_dir parent_session_name host created_at updated_at run_count last_run_id)],
        'a session object has every field';
    is "$s->{session_id} $s->{session_name} $s->{status}", "$sid rd-one pending", 'id, name, status';
    is "$s->{agent_name} $s->{project_dir} $s->{parent_session_name}", 'coder /srv/app boss',
        'agent, project, parent';
    is "$s->{run_count} $s->{last_run_id}", "1 $s1", 'run count and last run';
    like $s->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'created_at';
    is req('GET', '/sessions/by-name/rd-one')->{json}{session}{session_id}, $sid, 'by name';
    is req('GET', '/sessions/by-name/nope')->{status}, 404, 'unknown name: 404';
    is req('GET', '/sessions/by-name/bad%20name')->{status}, 404, 'an invalid name: 404';
    is req('GET', '/sessions/00000000-0000-4000-8000-000000000000')->{json}{detail},
        'Session not found', 'unknown id: 404 Session not found';
    is req('GET', '/sessions/not-a-uuid')->{status}, 404, 'a malformed id: 404';
    is req('GET', '/sessions/' . uc $sid)->{status}, 200, 'upper-case hex is the same id';

    # statuses as a session shows them
    claim($lid);
    is req('GET', "/sessions/$sid")->{json}{session}{status}, 'running', 'claimed shows as running';
    launcher_event($s1, 'started', { launcher_id => $lid });
    launcher_event($s1, 'completed', { launcher_id => $lid, result => 'first answer' });
    my $g = req('GET', "/sessions/$sid")->{json}{session};
    is $g->{status}, 'finished', 'completed shows as finished';
    ok $g->{updated_at} ge $g->{created_at}, 'updated_at moved';

    my $s2 = create_run(type => 'resume_session', session_name => 'rd-one', prompt => 'again');
    my $runs = req('GET', "/sessions/$sid/runs")->{json}{runs} || [];
    is_deeply [map { $_->{run_id} } @$runs], [$s1, $s2], 'its runs, oldest first';
    is req('GET', "/sessions/$sid")->{json}{session}{run_count}, 2, 'run_count 2';
    my $res = req('GET', "/sessions/$sid/result")->{json} || {};
    is "$res->{result} $res->{run_id}", "first answer $s1", 'the latest completed run\'s result';

    my $other = session_of(create_run(session_name => 'rd-two'));
    my $nr = req('GET', "/sessions/$other/result");
    is "$nr->{status} $nr->{json}{detail}", '404 No completed run in this session', 'none completed: 404';

    # listing
    my $all = req('GET', '/sessions')->{json}{sessions} || [];
    my @names = map { $_->{session_name} } @$all;
    ok((grep { $_ eq 'rd-one' } @names) && (grep { $_ eq 'rd-two' } @names), 'listed');
    my $pend = req('GET', '/sessions?status=pending&limit=1')->{json}{sessions} || [];
    is_deeply [map { $_->{session_name} } @$pend], ['rd-two'], 'status=pending&limit=1: the newest pending';
    my $coder = req('GET', '/sessions?agent_name=coder')->{json}{sessions} || [];
    is_deeply [map { $_->{session_name} } @$coder], ['rd-one'], 'agent_name=coder';
};

flow 'bad listings and methods', 6, sub {
    is req('GET', '/sessions?status=claimed')->{status}, 422, 'status=claimed: 422';
    is req('GET', '/sessions?status=bogus')->{status}, 422, 'an unknown status: 422';
    is req('GET', '/sessions?limit=0')->{status}, 422, 'limit=0: 422';
    is req('GET', '/sessions?agent_name=%2Fx')->{status}, 422, 'a bad agent_name: 422';
    my $m = req('PUT', '/sessions/00000000-0000-4000-8000-000000000000');
    is "$m->{status} $m->{headers}{allow}", '405 GET, HEAD, DELETE', 'PUT: 405 with Allow';
    is req('GET', '/sessions/a/b/c/d')->{status}, 404, 'a deeper path: 404';
};

flow 'stopping a session', 10, sub {
    my $lid = register_launcher();
    my $r1 = create_run(session_name => 'st-a');
    claim($lid);
    launcher_event($r1, 'started', { launcher_id => $lid });
    my $r2 = create_run(type => 'resume_session', session_name => 'st-a');
    my $r3 = create_run(type => 'resume_session', session_name => 'st-a');
    my $sid = session_of($r1);
    my $s = req('POST', "/sessions/$sid/stop");
    is $s->{status}, 200, 'POST /sessions/{id}/stop: 200';
    is_deeply $s->{json}{stopped}, [$r1], 'the running run is asked to stop';
    is_deeply [sort @{ $s->{json}{cancelled} }], [sort $r2, $r3], 'the pending ones are cancelled';
    is status_of($r1), 'stopping', 'running -> stopping';
    is status_of($r2) . ' ' . status_of($r3), 'stopped stopped', 'pending -> stopped';
    my $p = poll_once($lid, 5);
    is_deeply(($p->{json} || {})->{stop_runs}, [$r1], "its runner's poll gets the stop");
    is req('DELETE', "/sessions/$sid")->{status}, 409, 'deleting it while a run is stopping: 409';
    launcher_event($r1, 'stopped', { launcher_id => $lid });
    my $again = req('POST', "/sessions/$sid/stop")->{json} || {};
    is scalar(@{ $again->{stopped} // [1] }) + scalar(@{ $again->{cancelled} // [1] }), 0,
        'a session with nothing live: both lists empty';
    is req('POST', '/sessions/00000000-0000-4000-8000-000000000000/stop')->{status}, 404,
        'unknown session: 404';
    is req('GET', "/sessions/$sid")->{json}{session}{status}, 'stopped', 'the session is stopped';
};

flow 'deleting a session', 11, sub {
    my $lid = register_launcher();
    my $r1 = create_run(session_name => 'del-a');
    claim($lid);
    launcher_event($r1, 'started', { launcher_id => $lid });
    my $r2 = create_run(type => 'resume_session', session_name => 'del-a');
    my $sid = session_of($r1);
    my $d = req('DELETE', "/sessions/$sid");
    is $d->{status}, 409, 'a session with a running run: 409';
    like $d->{json}{detail}, qr/claimed, running or stopping/, 'says why';
    is status_of($r1) . ' ' . status_of($r2), 'running pending', 'and nothing changed';
    log_post($r1, $lid, 0, "log\n");
    launcher_event($r1, 'completed', { launcher_id => $lid });
    my $w = hold('GET', "/runs/$r2?wait=30");
    $d = req('DELETE', "/sessions/$sid");
    is $d->{status}, 200, 'with a finished and a pending run: 200';
    is $d->{json}{deleted_runs}, 2, 'both runs deleted';
    is collect($w, 5)->{status}, 404, 'a ?wait= on the pending run answers 404';
    is req('GET', "/runs/$r1")->{status}, 404, 'the runs are gone';
    is req('GET', "/runs/$r1/log")->{status}, 404, 'and their logs';
    is req('GET', "/sessions/$sid")->{status}, 404, 'the session is gone';
    is req('DELETE', "/sessions/$sid")->{status}, 404, 'deleting it again: 404';
    my $p = poll_once($lid, 5);
    is $p->{status}, 204, 'nothing of it is handed to a runner';
};

# a session's updated_at is the latest time any of its runs moved, also
# when an older run moves after a newer one was made
flow 'updated_at: the latest change of any of its runs', 7, sub {
    my $lid = register_launcher();
    my $a = create_run(session_name => 'upd');
    my $sid = session_of($a);
    my $upd = sub {
        my $one = req('GET', "/sessions/$sid")->{json}{session}{updated_at} // '';
        my ($listed) = grep { $_->{session_id} eq $sid }
                       @{ req('GET', '/sessions?limit=10000')->{json}{sessions} || [] };
        return $one eq ($listed->{updated_at} // '') ? $one : "$one (listed: "
               . ($listed->{updated_at} // 'none') . ')';
    };
    my $t = sub { (get_run($_[0]) || {})->{$_[1]} // 'none' };
    claim($lid);
    launcher_event($a, 'started', { launcher_id => $lid });
    sleep 0.02;
    my $b = create_run(type => 'resume_session', session_name => 'upd', prompt => 'b');
    sleep 0.02;
    my $c = create_run(type => 'resume_session', session_name => 'upd', prompt => 'c');
    is $upd->(), $t->($c, 'created_at'), 'a run made: its creation';
    sleep 0.02;
    stop_run($b);
    is $upd->(), $t->($b, 'completed_at'), 'an older pending run stopped: its end';
    sleep 0.02;
    launcher_event($a, 'completed', { launcher_id => $lid, result => 'a' });
    is $upd->(), $t->($a, 'completed_at'), 'the running one completed: its end';
    sleep 0.02;
    my $got = claim($lid) || {};
    is $got->{run_id}, $c, 'the newest run is handed out next';
    is $upd->(), $t->($c, 'claimed_at'), 'then: its claim';
    sleep 0.02;
    launcher_event($c, 'started', { launcher_id => $lid });
    is $upd->(), $t->($c, 'started_at'), 'its start';
    sleep 0.02;
    launcher_event($c, 'failed', { launcher_id => $lid, error => 'c' });
    is $upd->(), $t->($c, 'completed_at'), 'its end';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: session ids



=== TEST 2: reading sessions



=== TEST 3: bad listings and methods



=== TEST 4: stopping a session



=== TEST 5: deleting a session
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 6: updated_at: the latest change of any of its runs
