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

flow 'tags, hostname, project_dir and executor_type: a run goes to a runner that offers every one it demands', 9, sub {
    my $gpu = register_launcher(hostname => 'ha', project_dir => '/srv/a', executor_type => 'claude',
                                tags => ['linux', 'gpu', 'linux']);
    my $cpu = register_launcher(hostname => 'hb', executor_type => 'echo', tags => ['linux']);
    my $ls = Runs::req('GET', '/launchers')->{json}{launchers} // [];
    my ($l) = grep { $_->{launcher_id} eq ($gpu // '') } @$ls;
    is_deeply $l && $l->{tags}, ['gpu', 'linux'], 'GET /launchers shows the tags, sorted, each once';
    my ($t, $res) = create_run(prompt => 'train', demands => { tags => ['gpu'] });
    is_deeply $res->{json} && get_run($t)->{demands},
       { tags => ['gpu'], hostname => undef, project_dir => undef, executor_type => undef },
       'the run shows what it demands';
    my $h = create_run(prompt => 'on b', demands => { hostname => 'hb' });
    my $both = create_run(prompt => 'both', demands => { tags => ['linux', 'gpu'], executor_type => 'claude',
                                                         project_dir => '/srv/a' });
    my $none = create_run(prompt => 'nobody', demands => { tags => ['gpu'], executor_type => 'echo' });
    is claimed($cpu), $h, 'the runner without gpu skips the gpu run and takes the one for its host';
    is claimed($cpu), '', 'nothing else is its own';
    is claimed($gpu), $t, 'the gpu runner takes the gpu run';
    is claimed($gpu), $both, 'and the one demanding two tags, its executor_type and its project_dir';
    is claimed($gpu), '', 'not the one demanding gpu with executor_type echo';
    is status_of($none), 'pending', 'which no runner offers: it waits';
    like get_run($none)->{waiting_for} // '', qr/^a runner with tags gpu, executor_type echo$/,
         'saying what for';
};

flow 'a resume goes to the host of its session\'s first run, unless it says "affinity": false', 9, sub {
    my $a = register_launcher(hostname => 'ha');
    my $b = register_launcher(hostname => 'hb');
    my $first = create_run(session_name => 'aff', prompt => 'one');
    is claimed($a), $first, 'host ha takes the session\'s first run';
    finish($a, $first);
    my $resume = create_run(type => 'resume_session', session_name => 'aff', prompt => 'two');
    my $sess = Runs::req('GET', '/sessions/by-name/aff')->{json}{session} // {};
    is $sess->{host}, 'ha', 'the session shows the host its resumes go to';
    is claimed($b), '', 'host hb does not get the resume';
    is claimed($a), $resume, 'host ha does';
    finish($a, $resume);
    my $free = create_run(type => 'resume_session', session_name => 'aff', prompt => 'three', affinity => JSON::PP::false);
    is get_run($free)->{affinity} ? 1 : 0, 0, 'a resume that says "affinity": false shows it';
    is claimed($b), $free, 'and goes to any host';
    finish($b, $free);
    # a child's end makes a resume of its parent: pinned as well
    my $child = create_run(session_name => 'aff-child', prompt => 'child', parent_session_name => 'aff');
    is claimed($b), $child, 'the child session runs on hb';
    finish($b, $child);
    my $cb = wait_for(3, sub { my $r = list_runs('session_name=aff&status=pending'); @$r ? $r->[0]{run_id} : '' });
    is claimed($b), '', 'the callback to the parent does not go to hb';
    is claimed($a), $cb, 'it goes to ha, where the parent ran first';
};

flow 'a waiting run says what it waits for, in GET /runs and GET /runs/{id}', 6, sub {
    my $coder = register_launcher(hostname => 'a', agents => ['coder']);
    my $doc = create_run(session_name => 'wf-1', prompt => 'docs', agent_name => 'writer');
    my $cod = create_run(session_name => 'wf-2', prompt => 'code', agent_name => 'coder');
    is get_run($doc)->{waiting_for}, 'a runner with agent writer', 'a run for an agent no runner lists';
    is get_run($cod)->{waiting_for}, undef, 'a run a runner can take waits for nothing (null)';
    my ($r) = grep { $_->{run_id} eq $doc } @{ list_runs('status=pending') };
    is $r && $r->{waiting_for}, 'a runner with agent writer', 'listed as such by GET /runs';
    my $writer = register_launcher(hostname => 'w', agents => ['writer']);
    is get_run($doc)->{waiting_for}, undef, 'a runner with the agent registers: null';
    deregister($writer);
    is get_run($doc)->{waiting_for}, 'a runner with agent writer', 'it goes away: waiting again';
    my $resume = create_run(type => 'resume_session', session_name => 'wf-2', prompt => 'more');
    is get_run($resume)->{waiting_for}, undef, 'a run behind its session\'s earlier run is not claimable: null';
};

flow 'runs_demand_timeout: a run that no runner offers fails saying what was missing', 9, sub {
    my $coder = register_launcher(hostname => 'ha', agents => ['coder']);
    my $first = create_run(session_name => 'dt-3', prompt => 'one', agent_name => 'coder');
    is claimed($coder), $first, 'host ha runs a session\'s first run';
    finish($coder, $first);
    deregister($coder, 1);
    my $doc = create_run(session_name => 'dt-1', prompt => 'docs', agent_name => 'writer');
    my $plain = create_run(session_name => 'dt-2', prompt => 'anything', demands => {});
    my $resume = create_run(type => 'resume_session', session_name => 'dt-3', prompt => 'two');
    like get_run($resume)->{waiting_for} // '', qr/on host ha \(where its session ran first\)/,
         'its resume waits for host ha';
    wait_for(6, sub { status_of($doc) eq 'failed' && status_of($resume) eq 'failed' });
    my $d = get_run($doc);
    is $d->{status}, 'failed', 'the run for agent writer failed after the timeout';
    like $d->{error} // '', qr/a runner with agent writer was not registered for 2000 ms \(runs_demand_timeout\)/,
         'its error says what no runner offered';
    my $r = get_run($resume);
    is $r->{status}, 'failed', 'the resume pinned to a host that is gone failed';
    like $r->{error} // '', qr/on host ha .*"affinity": false/, 'naming the host, and how to run it elsewhere';
    is status_of($plain), 'pending', 'a run that demands nothing waits for any runner, however long';
    my $w = register_launcher(hostname => 'hw', agents => ['writer']);
    is claimed($w), $plain, 'the run that demands nothing goes to the first runner';
    my $late = create_run(session_name => 'dt-4', prompt => 'docs', agent_name => 'writer');
    sleep 2.5;
    is claimed($w), $late, 'a run whose demand a runner offers does not time out';
};

flow 'hostile registrations and demands are refused whole (422)', 16, sub {
    my $before = scalar @{ list_runs() };
    my @reg = (
        [{ tags => 'gpu' }, qr/Field 'tags' must be an array of at most 64 names/],
        [{ tags => [map { "t$_" } 1 .. 65] }, qr/at most 64 names/],
        [{ tags => ['-bad'] }, qr/Field 'tags'/],
        [{ tags => [1] }, qr/Field 'tags'/],
        [{ tags => ['a' x 61] }, qr/Field 'tags'/],
    );
    for my $c (@reg) {
        my $res = Runs::req('POST', '/launcher/register', $c->[0]);
        ok $res->{status} == 422 && ($res->{json}{detail} // '') =~ $c->[1],
           'registration ' . Runs::jenc($c->[0]) =~ s/^(.{40}).*/$1.../r . ' refused: ' . ($res->{json}{detail} // $res->{status});
    }
    my @runs = (
        [{ demands => 'gpu' }, qr/Field 'demands' must be an object/],
        [{ demands => ['gpu'] }, qr/Field 'demands' must be an object/],
        [{ demands => { tag => ['gpu'] } }, qr/Field 'demands' has an unknown member 'tag'/],
        [{ demands => { tags => 'gpu' } }, qr/Field 'demands.tags' must be an array/],
        [{ demands => { tags => [map { "t$_" } 1 .. 65] } }, qr/Field 'demands.tags' must be an array of at most 64/],
        [{ demands => { hostname => 7 } }, qr/Field 'demands.hostname' must be a string/],
        [{ demands => { hostname => '' } }, qr/Field 'demands.hostname' must not be empty/],
        [{ demands => { project_dir => 'rel/dir' } }, qr/Field 'demands.project_dir' must be an absolute path/],
        [{ demands => { executor_type => 'x' x 5000 } }, qr/Field 'demands.executor_type' must be at most 4096 bytes/],
        [{ affinity => 'no' }, qr/Field 'affinity' must be true or false/],
    );
    for my $c (@runs) {
        my (undef, $res) = create_run(prompt => 'p', %{ $c->[0] });
        ok $res->{status} == 422 && ($res->{json}{detail} // '') =~ $c->[1],
           'run ' . Runs::jenc($c->[0]) =~ s/^(.{40}).*/$1.../r . ' refused: ' . ($res->{json}{detail} // $res->{status});
    }
    is scalar @{ list_runs() }, $before, 'no run was made';
};

# a POST written by hand: $body sent in chunks of $chunk bytes when given
sub raw_post {
    my ($path, $body, $chunk) = @_;
    my $c = Runs::Conn->new;
    my $req = "POST $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              . "Content-Type: application/json\r\n";
    if ($chunk) {
        $req .= "Transfer-Encoding: chunked\r\n\r\n";
        for (my $o = 0; $o < length $body; $o += $chunk) {
            my $part = substr($body, $o, $chunk);
            $req .= sprintf("%x\r\n%s\r\n", length $part, $part);
        }
        $req .= "0\r\n\r\n";
    } else {
        $req .= "Content-Length: " . length($body) . "\r\n\r\n$body";
    }
    $c->send_raw($req, 'POST');
    my $res = eval { $c->read(10) } // { status => 0 };
    $c->close;
    return $res;
}

flow 'demands and tags by the byte: chunked, truncated, invalid UTF-8, at their limits', 9, sub {
    my $run = '{"type":"start_session","session_name":"%s","prompt":"p","demands":%s}';
    my $res = raw_post('/runs', sprintf($run, 'ch-1', '{"tags":["gpu","linux"],"hostname":"h1"}'), 7);
    is $res->{status}, 201, 'a body with demands sent in 7-byte chunks: 201';
    is_deeply $res->{json} && get_run($res->{json}{run_id})->{demands}{tags}, ['gpu', 'linux'], 'its demands whole';
    $res = raw_post('/runs', substr(sprintf($run, 'tr-1', '{"tags":["gpu","linux"]}'), 0, -5));
    ok $res->{status} == 400 && ($res->{json}{detail} // '') =~ /line 1, column/, 'truncated inside demands: 400 saying where';
    $res = raw_post('/runs', sprintf($run, 'u8-1', qq({"hostname":"h\xff\xfe"})));
    ok $res->{status} == 400 && ($res->{json}{detail} // '') =~ /UTF-8/, 'invalid UTF-8 in demands.hostname: 400';
    $res = raw_post('/launcher/register', qq({"hostname":"h","tags":["gpu","\xc3\x28"]}));
    ok $res->{status} == 400, 'invalid UTF-8 in tags: 400';
    my @tags64 = map { sprintf('t%02d-%s', $_, 'x' x 56) } 1 .. 64;
    my ($lid, $r) = register_launcher(hostname => 'big', tags => \@tags64);
    ok $lid, 'a runner with 64 tags of 60 characters registers';
    my ($id, $cr) = create_run(prompt => 'big', demands => { tags => \@tags64, hostname => 'h' x 4096,
                                                             executor_type => 'e' x 4096,
                                                             project_dir => '/' . ('d' x 4095) });
    is $cr->{status}, 201, 'a run demanding 64 tags and three fields of 4096 bytes: 201';
    my $g = get_run($id);
    is scalar(@{ $g->{demands}{tags} // [] }) . ' ' . length($g->{demands}{hostname} // ''), '64 4096',
       'shown whole';
    like $g->{waiting_for} // '', qr/^a runner with tags t01-x+,t02/, 'and what it waits for';
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



=== TEST 6: tags, hostname, project_dir and executor_type: a run goes to a runner that offers every one it demands
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 7: a resume goes to the host of its session's first run, unless it says "affinity": false
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 8: a waiting run says what it waits for, in GET /runs and GET /runs/{id}
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 9: runs_demand_timeout: a run that no runner offers fails saying what was missing
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_demand_timeout 2s;



=== TEST 10: hostile registrations and demands are refused whole (422)
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;



=== TEST 11: demands and tags by the byte: chunked, truncated, invalid UTF-8, at their limits
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
