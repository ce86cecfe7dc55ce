# Sessions: start/resume rules, inheritance of agent_name and project_dir,
# retry of a failed start, one run at a time per session, FIFO claims.

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

# finish a claimed run the way a runner would
sub finish {
    my ($id, $lid, $how) = @_;
    $how //= 'completed';
    if ($how eq 'completed') {
        launcher_event($id, 'started', { launcher_id => $lid });
        return launcher_event($id, 'completed', { launcher_id => $lid })->{status};
    }
    if ($how eq 'failed') {
        return launcher_event($id, 'failed', { launcher_id => $lid,
                                               error => 'exit 1' })->{status};
    }
    return launcher_event($id, 'stopped', { launcher_id => $lid })->{status};
}

sub claimed_id {
    my ($lid) = @_;
    my $run = claim($lid);
    return $run ? $run->{run_id} : undef;
}

flow 'a resume inherits agent_name and project_dir from the start run', 8, sub {
    my ($s) = create_run(type => 'start_session', session_name => 'inh',
                         agent_name => 'coder', project_dir => '/srv/app',
                         prompt => 'start');
    my ($r1, $res) = create_run(type => 'resume_session', session_name => 'inh',
                                prompt => 'more');
    is $res->{status}, 201, 'resume accepted while the start is pending';
    my $run = get_run($r1) || {};
    is $run->{type}, 'resume_session', 'type resume_session';
    is $run->{agent_name}, 'coder', 'agent_name inherited';
    is $run->{project_dir}, '/srv/app', 'project_dir inherited';
    my ($r2) = create_run(type => 'resume_session', session_name => 'inh',
                          agent_name => 'reviewer', project_dir => '/srv/other',
                          prompt => 'own values');
    $run = get_run($r2) || {};
    is $run->{agent_name}, 'reviewer', 'own agent_name kept';
    is $run->{project_dir}, '/srv/other', 'own project_dir kept';
    my ($r3) = create_run(type => 'resume_session', session_name => 'inh',
                          agent_name => 'solo', prompt => 'half');
    $run = get_run($r3) || {};
    is $run->{agent_name}, 'solo', 'own agent_name';
    is $run->{project_dir}, '/srv/app', 'project_dir still inherited';
};

flow 'a start without agent_name or project_dir gives nothing to inherit', 3, sub {
    create_run(type => 'start_session', session_name => 'bare', prompt => 's');
    my ($r, $res) = create_run(type => 'resume_session', session_name => 'bare',
                               prompt => 'r');
    is $res->{status}, 201, 'resume created';
    my $run = get_run($r) || {};
    ok !defined $run->{agent_name}, 'agent_name null';
    ok !defined $run->{project_dir}, 'project_dir null';
};

flow 'a failed or stopped start may be retried; other starts answer 409', 12, sub {
    my $lid = register_launcher();

    my ($a1) = create_run(type => 'start_session', session_name => 'retry',
                          agent_name => 'first', prompt => 'try 1');
    my (undef, $dup) = create_run(type => 'start_session', session_name => 'retry',
                                  prompt => 'dup');
    is $dup->{status}, 409, 'start while the first is pending: 409';
    like $dup->{body}, qr/"detail"/, 'with a detail';
    is claimed_id($lid), $a1, 'first start claimed';
    is finish($a1, $lid, 'failed'), 200, 'first start failed';

    my ($a2, $res2) = create_run(type => 'start_session', session_name => 'retry',
                                 agent_name => 'second', prompt => 'try 2');
    is $res2->{status}, 201, 'a failed start may be retried';
    is claimed_id($lid), $a2, 'retry claimed';
    is finish($a2, $lid, 'stopped'), 200, 'retry stopped';

    my ($a3, $res3) = create_run(type => 'start_session', session_name => 'retry',
                                 agent_name => 'third', project_dir => '/p3',
                                 prompt => 'try 3');
    is $res3->{status}, 201, 'a stopped start may be retried';
    is claimed_id($lid), $a3, 'third start claimed';
    is finish($a3, $lid, 'completed'), 200, 'third start completed';

    my (undef, $res4) = create_run(type => 'start_session', session_name => 'retry',
                                   prompt => 'try 4');
    is $res4->{status}, 409, 'after a completed run a start answers 409';

    my ($r) = create_run(type => 'resume_session', session_name => 'retry',
                         prompt => 'resume');
    is((get_run($r) || {})->{agent_name}, 'third',
       'a resume inherits from the latest start');
};

flow 'a pending stopped start frees the session too', 2, sub {
    my ($s) = create_run(type => 'start_session', session_name => 'ps', prompt => 'a');
    is stop_run($s)->{status}, 200, 'pending start stopped';
    my (undef, $res) = create_run(type => 'start_session', session_name => 'ps',
                                  prompt => 'b');
    is $res->{status}, 201, 'start again: 201';
};

flow 'a resume waits while the earlier run is active', 14, sub {
    my $l1 = register_launcher();
    my $l2 = register_launcher();
    my ($s)  = create_run(type => 'start_session', session_name => 'seq', prompt => 's');
    my ($r1) = create_run(type => 'resume_session', session_name => 'seq', prompt => 'r1');
    my ($r2) = create_run(type => 'resume_session', session_name => 'seq', prompt => 'r2');

    is claimed_id($l1), $s, 'the start is claimed first';
    my $p = poll_once($l2, 5);
    is $p->{status}, 204, 'the resume is not claimable while the start is claimed';
    is status_of($r1), 'pending', 'resume 1 stays pending';

    launcher_event($s, 'started', { launcher_id => $l1 });
    is poll_once($l2, 5)->{status}, 204, 'nor while it runs';

    # a held poll is answered when the start ends
    my $c = hold('GET', "/launcher/runs?launcher_id=$l2");
    sleep 0.3;
    ok !$c->ready, 'poll held';
    my $t0 = time;
    is launcher_event($s, 'completed', { launcher_id => $l1 })->{status}, 200,
        'the start completes';
    my $res = collect($c, 5);
    is $res->{status}, 200, 'the held poll is answered';
    is(($res->{json} && $res->{json}{run}) ? $res->{json}{run}{run_id} : undef,
       $r1, 'with resume 1');
    cmp_ok time - $t0, '<', Runs::tf(0.5), 'at once';
    is status_of($r2), 'pending', 'resume 2 waits for resume 1';
    is poll_once($l1, 5)->{status}, 204, 'resume 2 not claimable';

    is finish($r1, $l2, 'failed'), 200, 'resume 1 fails';
    is claimed_id($l1), $r2, 'resume 2 claimable once resume 1 ended (failed)';
    is status_of($r2), 'claimed', 'claimed';
};

flow 'stopping the pending earlier run releases the next one', 3, sub {
    my $l = register_launcher();
    my ($s)  = create_run(type => 'start_session', session_name => 'rel', prompt => 's');
    my ($r1) = create_run(type => 'resume_session', session_name => 'rel', prompt => 'r1');
    is stop_run($s)->{status}, 200, 'pending start stopped';
    is status_of($s), 'stopped', 'stopped at once';
    is claimed_id($l), $r1, 'the resume is claimable';
};

flow 'claims are FIFO across sessions', 8, sub {
    my $l = register_launcher();
    my @ids = map {
        scalar create_run(type => 'start_session', session_name => "fifo$_",
                          prompt => "n$_")
    } 1 .. 5;
    my @got = map { claimed_id($l) } 1 .. 5;
    is_deeply \@got, \@ids, 'five sessions claimed in creation order';
    is poll_once($l, 5)->{status}, 204, 'then nothing';

    # a blocked run that becomes claimable keeps its place in the queue
    my ($a)  = create_run(type => 'start_session', session_name => 'qa', prompt => 'a');
    my ($a2) = create_run(type => 'resume_session', session_name => 'qa', prompt => 'a2');
    my ($b)  = create_run(type => 'start_session', session_name => 'qb', prompt => 'b');
    is claimed_id($l), $a, 'qa start first';
    is finish($a, $l), 200, 'qa start completed';
    my ($c) = create_run(type => 'start_session', session_name => 'qc', prompt => 'c');
    is claimed_id($l), $a2, 'qa resume (created before qb) next';
    is claimed_id($l), $b, 'then qb';
    is claimed_id($l), $c, 'then qc';
    is poll_once($l, 5)->{status}, 204, 'then nothing';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a resume inherits agent_name and project_dir from the start run



=== TEST 2: a start without agent_name or project_dir gives nothing to inherit



=== TEST 3: a failed or stopped start may be retried; other starts answer 409
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 4: a pending stopped start frees the session too



=== TEST 5: a resume waits while the earlier run is active
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 6: stopping the pending earlier run releases the next one
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 7: claims are FIFO across sessions
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 8: a resume of a session whose runs were all refused answers 404
--- request
POST /runs
{"type":"resume_session","session_name":"ghost","prompt":"x"}
--- error_code: 404
--- response_body_like: ^\{\s*"detail"\s*:\s*".+"\s*\}\s*$



=== TEST 9: start and resume in one nginx lifetime, read back by session
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"life","prompt":"one","agent_name":"ag","project_dir":"/w"}',
"POST /runs\n" . '{"type":"resume_session","session_name":"life","prompt":"two"}',
"POST /runs\n" . '{"type":"start_session","session_name":"life","prompt":"three"}',
"GET /runs?session_name=life",
]
--- error_code eval
[201, 201, 409, 200]
--- response_body_like eval
[
qr/"pending"/,
qr/"pending"/,
qr/"detail"/,
qr/^(?!.*"three")(?=(?:.*?"run_id"){2})(?!(?:.*?"run_id"){3}).*"prompt"\s*:\s*"one".*"prompt"\s*:\s*"two"/s,
]
