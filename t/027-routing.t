# Routing by agent (docs/API.md, docs/adr/0012-routing.md): a run that
# names an agent is claimed only by a runner that listed that agent at
# registration, or by one that listed none; a run that names no agent by
# any runner; between sessions a runner takes the oldest run it can
# take, within a session runs still go one at a time, in order; a run
# that no runner can take waits, and a runner registering later with its
# agent gets it; a run made claimable wakes only a held poll whose runner
# can take it, in either worker.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

# the run a poll of $lid hands out now (its id), '' for none
sub claimed {
    my ($lid) = @_;
    my $r = poll_once($lid, 5);
    return ($r->{status} == 200 && $r->{json} && $r->{json}{run})
           ? $r->{json}{run}{run_id} : '';
}

# a run taken to completed by $lid
sub finish {
    my ($lid, $id) = @_;
    launcher_event($id, 'started', { launcher_id => $lid });
    launcher_event($id, 'completed', { launcher_id => $lid, result => 'done' });
}

flow 'a run for an agent goes only to a runner that lists it', 6, sub {
    my $coder = register_launcher(hostname => 'a', agents => ['coder']);
    my $reviewer = register_launcher(hostname => 'b', agents => ['reviewer', 'tester']);
    my $rev = create_run(session_name => 'r1', prompt => 'review', agent_name => 'reviewer');
    my $cod = create_run(session_name => 'c1', prompt => 'code', agent_name => 'coder');
    ok $coder && $reviewer && $rev && $cod, 'two runners, a run for each (the reviewer\'s first)';
    is claimed($coder), $cod, 'the coder takes the run for coder, though it is the newer one';
    is claimed($coder), '', 'and nothing more: the reviewer\'s run is not its own';
    is claimed($reviewer), $rev, 'the reviewer takes the run for reviewer';
    my $test = create_run(session_name => 't1', prompt => 'test', agent_name => 'tester');
    is claimed($reviewer), $test, 'and one for tester, its second agent';
    is status_of($rev), 'claimed', 'each run claimed once';
};

flow 'a run that names no agent goes to any runner; a runner that lists none takes anything', 5, sub {
    my $coder = register_launcher(hostname => 'a', agents => ['coder']);
    my $any = register_launcher(hostname => 'c');
    my $rev = create_run(session_name => 'n-r', prompt => 'review', agent_name => 'reviewer');
    my $free = create_run(session_name => 'n-f', prompt => 'anything');
    my $cod = create_run(session_name => 'n-c', prompt => 'code', agent_name => 'coder');
    is claimed($coder), $free, 'the coder takes the oldest run it can: the one naming no agent';
    is claimed($any), $rev, 'a runner that listed no agents takes the oldest: the reviewer\'s';
    is claimed($any), $cod, 'and then the coder\'s';
    is claimed($coder), '', 'nothing left for the coder';
    is claimed($any), '', 'nor for the other';
};

flow 'within a session runs go one at a time, in order; between sessions the oldest a runner can take', 5, sub {
    my $coder = register_launcher(hostname => 'a', agents => ['coder']);
    my $first = create_run(session_name => 's-1', prompt => 'one', agent_name => 'coder');
    my $second = create_run(type => 'resume_session', session_name => 's-1', prompt => 'two');
    my $other = create_run(session_name => 's-2', prompt => 'other', agent_name => 'coder');
    is claimed($coder), $first, 'the session\'s first run';
    is claimed($coder), $other, 'then the other session\'s (the first session\'s next waits)';
    finish($coder, $first);
    is claimed($coder), $second, 'the first session\'s second run once its first ended (resumes inherit the agent)';
    is status_of($second), 'claimed', 'claimed';
    is claimed($coder), '', 'nothing more';
};

flow 'a run no runner can take waits; a runner that registers later with its agent gets it', 4, sub {
    my $coder = register_launcher(hostname => 'a', agents => ['coder']);
    my $doc = create_run(session_name => 'w-1', prompt => 'write docs', agent_name => 'writer');
    is claimed($coder), '', 'no runner lists "writer": the run is not handed out';
    is status_of($doc), 'pending', 'it waits, pending';
    my $writer = register_launcher(hostname => 'w', agents => ['writer']);
    is claimed($writer), $doc, 'a runner with "writer" registers and gets it';
    is status_of($doc), 'claimed', 'claimed';
};

# The coder's polls are held first, so a wake-up given to the first held
# poll (as before routing) would go to a coder's poll, which cannot take
# the reviewer's run, and the reviewer's polls would not be answered.
flow 'a new run wakes only a held poll whose runner can take it, in either worker', 5, sub {
    # two runners of each agent, one held poll each (a runner's new poll
    # would end its held one), spread over the two workers
    my @coder = map { scalar register_launcher(hostname => "a$_", agents => ['coder']) } 1 .. 2;
    my @reviewer = map { scalar register_launcher(hostname => "b$_", agents => ['reviewer']) } 1 .. 2;
    my @c = map { hold('GET', "/launcher/runs?launcher_id=$_") } @coder;
    sleep 0.2;
    my @r = map { hold('GET', "/launcher/runs?launcher_id=$_") } @reviewer;
    sleep 0.3;
    my $rev = create_run(session_name => 'h-r', prompt => 'review', agent_name => 'reviewer');
    # (collect() gives up after 1 s with status 0: not answered)
    my @got = map { collect($_, 1) } @r;
    my @with = grep { $_->{status} == 200 && $_->{json} && $_->{json}{run} } @got;
    is scalar(@with), 1, 'one of the reviewer\'s held polls is answered with the run within 1 s';
    is $with[0] && $with[0]{json}{run}{run_id}, $rev, 'the reviewer\'s run';
    is scalar(grep { $_->{status} == 0 } @got), 1, 'the other is still held';
    my $cod = create_run(session_name => 'h-c', prompt => 'code', agent_name => 'coder');
    my @cg = map { collect($_, 1) } @c;
    my @cw = grep { $_->{status} == 200 && $_->{json} && $_->{json}{run} } @cg;
    is scalar(@cw) == 1 && $cw[0]{json}{run}{run_id}, $cod,
       'the coder\'s polls were still held: one takes the coder\'s run';
    is status_of($rev), 'claimed', 'the reviewer\'s run claimed once';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a run for an agent goes only to a runner that lists it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 2: a run that names no agent goes to any runner; a runner that lists none takes anything
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 3: within a session runs go one at a time, in order; between sessions the oldest a runner can take
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 4: a run no runner can take waits; a runner that registers later with its agent gets it
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 5: a new run wakes only a held poll whose runner can take it, in either worker
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;
