# Callbacks (docs/CALLBACKS.md): parent_session_name is a session
# attribute (set by the start run, inherited by resumes, a loop refused);
# when a run of a child session ends, the same change queues a resume of
# the parent whose prompt reports it, or appends the report to the
# parent's pending callback run; never twice for one run; a missing
# parent costs one info line; a full zone refuses the callback whole with
# a warn line while the child's own end stands.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

sub session_runs {
    my ($name) = @_;
    return scalar list_runs("session_name=$name&limit=100");
}

sub callbacks_of {
    my ($name) = @_;
    return [grep { $_->{type} eq 'resume_session' } @{ session_runs($name) }];
}

# a child run taken to its end by launcher $lid
sub end_child {
    my ($lid, $id, $event, %body) = @_;
    my $run = claim($lid);
    die "claimed $run->{run_id}, not $id\n" if !$run || $run->{run_id} ne $id;
    launcher_event($id, 'started', { launcher_id => $lid });
    return launcher_event($id, $event, { launcher_id => $lid, %body });
}

# the parent's run, claimed and running, so that callbacks wait
sub busy_parent {
    my ($lid, $name, %f) = @_;
    my $id = create_run(session_name => $name, agent_name => 'lead',
                        project_dir => '/srv/lead', %f);
    my $run = claim($lid);
    launcher_event($id, 'started', { launcher_id => $lid });
    return $id;
}

flow 'the parent is an attribute of the session', 8, sub {
    my $k = create_run(session_name => 'pa-kid', parent_session_name => 'pa-boss');
    my $r = create_run(type => 'resume_session', session_name => 'pa-kid');
    is((get_run($r) || {})->{parent_session_name}, 'pa-boss', 'a resume inherits it');
    my ($x, $res) = create_run(type => 'resume_session', session_name => 'pa-kid',
                               parent_session_name => 'pa-boss');
    is $res->{status}, 201, 'a resume naming the same parent: 201';
    ($x, $res) = create_run(type => 'resume_session', session_name => 'pa-kid',
                            parent_session_name => 'someone-else');
    is $res->{status}, 409, 'a resume naming another: 409';
    like $res->{json}{detail}, qr/another parent/, 'says so';
    my $sid = (get_run($k) || {})->{session_id};
    is req('GET', "/sessions/$sid")->{json}{session}{parent_session_name}, 'pa-boss',
        'the session shows it';
    ($x, $res) = create_run(session_name => 'pa-self', parent_session_name => 'pa-self');
    is $res->{status}, 409, 'its own parent: 409';
    # pa-boss (not started yet) with parent pa-kid: pa-kid's parent is pa-boss
    ($x, $res) = create_run(session_name => 'pa-boss', parent_session_name => 'pa-kid');
    is $res->{status}, 409, 'a parent chain back to itself: 409';
    like $res->{json}{detail}, qr/own ancestor/, 'callbacks would loop';
};

flow 'a child that completes reports to its parent', 11, sub {
    my $lid = register_launcher();
    my $boss = busy_parent($lid, 'cb-boss', parent_session_name => 'cb-top');
    my $kid = create_run(session_name => 'cb-kid', parent_session_name => 'cb-boss',
                         prompt => 'sub task');
    is scalar(@{ callbacks_of('cb-boss') }), 0, 'nothing while the child runs';
    end_child($lid, $kid, 'completed', result => "the answer\nin two lines");
    my $cbs = callbacks_of('cb-boss');
    is scalar(@$cbs), 1, 'the parent has a resume';
    my $cb = $cbs->[0] || {};
    is $cb->{prompt}, qq{[child session "cb-kid" run $kid completed]\nthe answer\nin two lines\n[end of run $kid]\n},
        'its prompt is the report, in the documented format';
    is "$cb->{status} $cb->{agent_name} $cb->{project_dir} $cb->{parent_session_name}",
        'pending lead /srv/lead cb-top', "pending, with the parent's agent, project and own parent";
    is $cb->{session_id}, (get_run($boss) || {})->{session_id}, "in the parent's session";
    is_deeply [ map { ref $_ ? ($_ ? 1 : 0) : "not a boolean" } $cb->{callback}, (get_run($boss) || {})->{callback},
                (get_run($kid) || {})->{callback} ], [1, 0, 0],
              'it says it is a callback ("callback": true); the runs clients made say false';
    is poll_once($lid, 10)->{status}, 204, 'not claimable while the parent runs';
    launcher_event($boss, 'completed', { launcher_id => $lid });
    my $next = claim($lid);
    is(($next || {})->{run_id}, $cb->{run_id}, 'then it is claimed');
    is launcher_event($kid, 'completed', { launcher_id => $lid, result => 'again' })->{status}, 200,
        "the child's report repeated (a lost answer): 200";
    is scalar(@{ callbacks_of('cb-boss') }), 1, 'and no second callback';
    like $next->{prompt}, qr/^\[child session "cb-kid"/, 'the runner gets the report as the prompt';
};

flow 'children that end while the parent is busy: one resume', 7, sub {
    my $lid = register_launcher();
    my $boss = busy_parent($lid, 'mg-boss');
    my @kids = map { scalar create_run(session_name => "mg-kid$_", parent_session_name => 'mg-boss') } 1 .. 3;
    end_child($lid, $kids[0], 'completed', result => 'first');
    end_child($lid, $kids[1], 'failed', error => 'it broke', result => 'half');
    my $k3 = claim($lid);
    stop_run($kids[2]);
    launcher_event($kids[2], 'stopped', { launcher_id => $lid, signal => 'SIGTERM' });
    my $cbs = callbacks_of('mg-boss');
    is scalar(@$cbs), 1, 'three children, one callback run';
    my $p = ($cbs->[0] || {})->{prompt} // '';
    is $p, qq{[child session "mg-kid1" run $kids[0] completed]\nfirst\n[end of run $kids[0]]\n}
         . qq{[child session "mg-kid2" run $kids[1] failed]\nerror: it broke\nhalf\n[end of run $kids[1]]\n}
         . qq{[child session "mg-kid3" run $kids[2] stopped]\n[end of run $kids[2]]\n},
        'every report in it, in the order they ended';
    launcher_event($boss, 'completed', { launcher_id => $lid });
    my $cb = claim($lid);
    is(($cb || {})->{run_id}, $cbs->[0]{run_id}, 'the callback is claimed');
    my $k4 = create_run(session_name => 'mg-kid4', parent_session_name => 'mg-boss');
    end_child($lid, $k4, 'completed', result => 'late');
    $cbs = callbacks_of('mg-boss');
    is scalar(@$cbs), 2, 'a child ending after that: a new callback run';
    like $cbs->[1]{prompt}, qr/^\[child session "mg-kid4" run $k4 completed\]\nlate\n/, 'with its report only';
    # a pending child stopped before it ran reports too
    my $k5 = create_run(session_name => 'mg-kid5', parent_session_name => 'mg-boss');
    stop_run($k5);
    like callbacks_of('mg-boss')->[1]{prompt}, qr/\[child session "mg-kid5" run $k5 stopped\]\n\[end of run $k5\]\n$/,
        'a child stopped while pending: appended to the pending callback';
    is status_of($cbs->[1]{run_id}), 'pending', 'which stays pending';
};

flow 'a grandparent hears when the parent\'s callback run ends', 2, sub {
    my $lid = register_launcher();
    my $top = busy_parent($lid, 'gp-top');
    my $mid = create_run(session_name => 'gp-mid', parent_session_name => 'gp-top');
    my $low = create_run(session_name => 'gp-low', parent_session_name => 'gp-mid');
    end_child($lid, $mid, 'completed', result => 'mid done');
    end_child($lid, $low, 'completed', result => 'low done');
    my $mcb = callbacks_of('gp-mid')->[0] || {};
    end_child($lid, $mcb->{run_id}, 'completed', result => 'mid read low');
    my $tp = join '', map { $_->{prompt} } @{ callbacks_of('gp-top') };
    like $tp, qr/\[child session "gp-mid" run $mid completed\]\nmid done\n/, "the parent's own end reported up";
    like $tp, qr/\[child session "gp-mid" run $mcb->{run_id} completed\]\nmid read low\n/,
        'and its callback run\'s end too';
};

flow 'long texts are cut; a missing parent costs one line', 5, sub {
    my $lid = register_launcher();
    my $boss = busy_parent($lid, 'ct-boss');
    my $kid = create_run(session_name => 'ct-kid', parent_session_name => 'ct-boss');
    my $long = ('x' x 16383) . "\x{e9}" . ('y' x 100);
    end_child($lid, $kid, 'completed', result => $long);
    my $p = (callbacks_of('ct-boss')->[0] || {})->{prompt} // '';
    is length($p), length(qq{[child session "ct-kid" run $kid completed]\n}) + 16383 + 1
                   + length("[cut at 16384 bytes: GET /runs/$kid has it whole]\n[end of run $kid]\n"),
        'cut at 16 KB between two characters';
    like $p, qr/\n\[cut at 16384 bytes: GET \/runs\/$kid has it whole\]\n\[end of run $kid\]\n$/, 'and marked';
    my $orphan = create_run(session_name => 'ct-orphan', parent_session_name => 'ct-nobody');
    is end_child($lid, $orphan, 'completed', result => 'x')->{status}, 200, 'a child of no one ends';
    is status_of($orphan), 'completed', 'completed';
    ok !req('GET', '/sessions/by-name/ct-nobody')->{json}{session}, 'no session was made for the parent';
};

flow 'a child whose runner is lost reports it failed', 2, sub {
    my $lid = register_launcher();
    my $kid = create_run(session_name => 'rl-kid', parent_session_name => 'rl-boss');
    claim($lid);
    launcher_event($kid, 'started', { launcher_id => $lid });
    my $boss = create_run(session_name => 'rl-boss');
    # the kid's runner falls silent: the sweep finds it lost
    my $st = '';
    for (1 .. 60) {
        $st = status_of($kid);
        last if $st eq 'failed';
        Time::HiRes::sleep(0.1);
    }
    is $st, 'failed', 'the kid fails when its runner is lost';
    like join('', map { $_->{prompt} } @{ callbacks_of('rl-boss') }),
        qr/\[child session "rl-kid" run $kid failed\]\nerror: launcher lost\n\[end of run $kid\]\n/,
        'its parent hears it, with the error';
};

flow 'a deleted child session reports nothing', 2, sub {
    my $lid = register_launcher();
    my $boss = busy_parent($lid, 'dl-boss');
    my $kid = create_run(session_name => 'dl-kid', parent_session_name => 'dl-boss');
    create_run(type => 'resume_session', session_name => 'dl-kid');
    my $sid = (get_run($kid) || {})->{session_id};
    is req('DELETE', "/sessions/$sid")->{status}, 200, 'the child session deleted with its pending runs';
    is scalar(@{ callbacks_of('dl-boss') }), 0, 'no callback for them';
};

flow 'a full zone refuses the callback whole; the child ends', 5, sub {
    my $lid = register_launcher();
    my $boss = busy_parent($lid, 'fz-boss');
    # a pending callback run with ten 16 KB reports: 160 KB of prompt
    for my $i (1 .. 10) {
        my $kid = create_run(session_name => "fz-kid$i", parent_session_name => 'fz-boss');
        end_child($lid, $kid, 'completed', result => 'k' x 16000);
    }
    my $cb = callbacks_of('fz-boss')->[0] || {};
    cmp_ok length($cb->{prompt} // ''), '>', 160000, 'a callback run of 160 KB';
    my $last = create_run(session_name => 'fz-last', parent_session_name => 'fz-boss');
    my $run = claim($lid);
    launcher_event($last, 'started', { launcher_id => $lid });
    # the zone filled up: appending needs a new 160 KB copy of the prompt
    my $c = Runs::conn();
    my $k = 0;
    while (1) {
        my $r = $c->request('POST', '/runs', { type => 'start_session',
                                               session_name => 'fz-fill-' . ++$k,
                                               prompt => 'p' x 700 });
        last if $r->{status} != 201 || $k > 100000;
    }
    $c->close;
    my $r = launcher_event($last, 'completed', { launcher_id => $lid, result => 'last' });
    is $r->{status}, 200, 'the child completes in a full zone';
    is status_of($last), 'completed', 'its end stands';
    my $after = callbacks_of('fz-boss');
    is scalar(@$after), 1, 'no new callback run';
    is $after->[0]{prompt}, $cb->{prompt}, 'and the pending one unchanged: not half made';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the parent is an attribute of the session



=== TEST 2: a child that completes reports to its parent
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 3: children that end while the parent is busy: one resume



=== TEST 4: a grandparent hears when the parent's callback run ends



=== TEST 5: long texts are cut; a missing parent costs one line
--- error_log
parent session "ct-nobody" does not exist or was never started



=== TEST 6: a child whose runner is lost reports it failed
--- http_config
    runs_zone runs 4m;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 2s;



=== TEST 7: a deleted child session reports nothing



=== TEST 8: a full zone refuses the callback whole; the child ends
--- http_config
    runs_zone runs 1m;
--- error_log eval
qr/was not made: runs_zone "runs" is full \(\d+ callbacks? refused since the last such line\)/
