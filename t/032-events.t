# The change stream (runs_events_api): every kind of change to runs,
# sessions and runners as a Server-Sent Event with an increasing id and
# the ids of what changed; filters by run and session; a reconnect with
# Last-Event-ID gets what it missed from the ring, or a reset when that
# is gone; changes made in one worker reach streams held in the other;
# idle streams get comments; caps; a client that leaves; a reload; scopes;
# hostile queries and headers; the blueprint registry's changes;
# sessions removed by retention and for room.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT worker_conns close_all);
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

# a stream held: (connection, head)
sub stream {
    my ($query, $headers, $c) = @_;
    $c //= Runs::Conn->new;
    $c->send('GET', '/events' . ($query // ''), undef, $headers);
    my $h = $c->read_head(5);
    return ($c, $h);
}

sub types { join ' ', map { $_->{event} // '?' } @{ $_[0] } }

sub increasing {
    my ($ev) = @_;
    for my $i (1 .. $#$ev) {
        return 0 if $ev->[$i]{id} <= $ev->[$i - 1]{id};
    }
    return 1;
}

flow 'every kind of change is told, in order, with the ids of what changed', 18, sub {
    my ($s, $h) = stream();
    is $h->{status}, 200, 'a stream is held';
    is $h->{headers}{'content-type'}, 'text/event-stream', 'as text/event-stream';
    is $h->{headers}{'cache-control'}, 'no-cache', 'not to be cached';
    is $h->{headers}{'x-accel-buffering'}, 'no', 'nor buffered by a proxy';

    my $lid = register_launcher(hostname => 'ev-host');
    my $id = create_run(session_name => 'ev-a');
    my $run = claim($lid);
    launcher_event($id, 'started', { launcher_id => $lid });
    launcher_event($id, 'completed', { launcher_id => $lid, result => 'fine' });

    my $ev = $s->read_events(5, 7);
    is types($ev), 'launcher.registered session.created run.created run.claimed '
                   . 'run.started run.result run.completed',
       'registered, created, claimed, started, a result, completed';
    ok increasing($ev), 'ids increase';
    is_deeply [ map { $_->{json}{type} } @$ev ], [ map { $_->{event} } @$ev ],
              'each data says its type';
    is_deeply [ map { $_->{json}{id} } @$ev ], [ map { $_->{id} } @$ev ],
              'and its id';
    my $sid = get_run($id)->{session_id};
    is_deeply [ map { $_->{json}{run_id} // '' } @$ev[2 .. 6] ], [ ($id) x 5 ],
              'the run\'s events name it';
    is_deeply [ map { $_->{json}{session_id} // '' } @$ev[1 .. 6] ], [ ($sid) x 6 ],
              'and its session';
    is_deeply [ map { $_->{json}{status} } @$ev[2 .. 6] ],
              [qw(pending claimed running running completed)],
              'with the run\'s status after each change';
    is $ev->[3]{json}{launcher_id}, $lid, 'a claim names its runner';
    like $ev->[0]{json}{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'a time with each';

    # failed, stopping/stopped, taken back, removed, deleted
    my $f = create_run(session_name => 'ev-b');
    claim($lid);
    launcher_event($f, 'failed', { launcher_id => $lid, error => 'no' });
    my $st = create_run(session_name => 'ev-c');
    claim($lid);
    stop_run($st);
    launcher_event($st, 'stopped', { launcher_id => $lid });
    my $q = create_run(session_name => 'ev-d');
    claim($lid);
    deregister($lid, 1);
    req('DELETE', "/sessions/$sid");
    $ev = $s->read_events(5, 16);
    is types($ev), 'session.created run.created run.claimed run.failed '
                   . 'session.created run.created run.claimed run.stopping run.stopped '
                   . 'session.created run.created run.claimed run.requeued launcher.removed '
                   . 'session.deleted',
       'failed, stopping and stopped, taken back from a runner that left, removed, deleted'
       or diag explain [ map { $_->{data} } @$ev ];
    is $ev->[-1]{json}{session_id}, $sid, 'the deleted session named';

    # stale and online again (runs_heartbeat_timeout 1s, no poll held)
    my $l2 = register_launcher(hostname => 'ev-quiet');
    $ev = $s->read_events(5, 1);
    is types($ev), 'launcher.registered', 'another runner';
    $ev = $s->read_events(4, 1);
    is_deeply [ types($ev), $ev->[0]{json}{launcher_id} ], ['launcher.stale', $l2],
              'silent for runs_heartbeat_timeout: stale';
    req('POST', '/launcher/heartbeat', { launcher_id => $l2 });
    $ev = $s->read_events(4, 1);
    is types($ev), 'launcher.online', 'a heartbeat: online again';
    $s->close;
};

flow 'filters: a run, a session', 7, sub {
    my $a = create_run(session_name => 'flt-a');
    my $b = create_run(session_name => 'flt-b');
    my $sa = get_run($a)->{session_id};
    my ($r) = stream("?run_id=$a");
    my ($ss) = stream("?session_id=$sa");
    my ($both) = stream("?session_id=$sa&run_id=$b");
    my $lid = register_launcher();
    my $x = claim($lid);
    my $y = claim($lid);
    my $ra = create_run(session_name => 'flt-a', type => 'resume_session', prompt => 'again');
    stop_run($b);

    my $ev = $r->read_events(3, 1);
    is_deeply [ types($ev), $ev->[0]{json}{run_id} ], ['run.claimed', $a],
              'by run: its claim only';
    $ev = $ss->read_events(2, 3);
    is types($ev), 'run.claimed run.created',
       'by session: its runs, a resume among them' or diag explain $ev;
    ok !(grep { ($_->{json}{session_id} // '') ne $sa } @$ev), 'none of another session';
    $ev = $both->read_events(1.5);
    is scalar(@$ev), 0, 'a run of another session and that session: nothing';

    my $res = req('GET', '/events?run_id=run_000000000000');
    is $res->{status}, 404, 'an unknown run: 404';
    $res = req('GET', '/events?session_id=nope');
    is_deeply [ $res->{status}, $res->{json}{detail} ], [404, 'Session not found'],
              'an unknown session: 404 with a detail';
    $res = req('GET', "/events?run_id=" . ('%ff' x 40));
    is $res->{status}, 404, 'a run id of invalid UTF-8: 404';
    $_->close for $r, $ss, $both;
};

flow 'Last-Event-ID: what was missed, from the ring; a reset when it is gone', 9, sub {
    my ($s) = stream();
    create_run(session_name => 'le-a');
    my $ev = $s->read_events(5, 2);
    my $last = $ev->[-1]{id};
    $s->close;

    my $lid = register_launcher();
    claim($lid);
    create_run(session_name => 'le-b');
    ($s) = stream('', { 'Last-Event-ID' => $last });
    $ev = $s->read_events(5, 4);
    is types($ev), 'launcher.registered run.claimed session.created run.created',
       'a reconnect gets the changes it missed';
    is $ev->[0]{id}, $last + 1, 'from the one after its last';
    $s->close;

    ($s) = stream("?last_event_id=$last");
    $ev = $s->read_events(5, 4);
    is scalar(@$ev), 4, '?last_event_id= does the same';
    $s->close;

    # the ring holds 16: 40 more changes overtake a client
    create_run(session_name => "le-many-$_") for 1 .. 20;
    ($s) = stream('', { 'Last-Event-ID' => $last });
    $ev = $s->read_events(5, 1);
    is types($ev), 'reset', 'too far behind: a reset';
    my $newest = $ev->[0]{id};
    cmp_ok $newest, '>=', $last + 44, 'whose id is the newest change';
    create_run(session_name => 'le-after');
    $ev = $s->read_events(5, 2);
    is_deeply [ types($ev), $ev->[0]{id} ], ['session.created run.created', $newest + 1],
              'then the changes go on from there';
    $s->close;

    for my $bad ('abc', '99999999999999999999999', '-5', $newest + 1000) {
        ($s) = stream('', { 'Last-Event-ID' => $bad });
        $ev = $s->read_events(3, 1);
        next if types($ev) eq 'reset';
        fail "Last-Event-ID '$bad' was not told to reset: " . types($ev);
        $s->close;
        return;
    }
    pass 'an id the zone never gave (not a number, too long, negative, ahead): a reset';
    ($s) = stream('', { 'Last-Event-ID' => '1' x 4000 });
    $ev = $s->read_events(3, 1);
    is types($ev), 'reset', 'a 4000-byte id: a reset';
    $s->close;
    ($s) = stream('', { 'Last-Event-ID' => $newest + 2 });
    $ev = $s->read_events(1.5);
    is scalar(@$ev), 0, 'the newest id: nothing missed, nothing sent';
    $s->close;
};

flow 'a change in one worker reaches streams held in both', 4, sub {
    my $w = worker_conns(3);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 3 if !$w;
        my ($A, $B) = sort keys %$w;
        my @s = ($w->{$A}[0], $w->{$A}[1], $w->{$B}[0]);
        for my $c (@s) { stream('', undef, $c) }
        my (@lat);
        for my $i (1 .. 10) {
            my $c = $w->{ $i % 2 ? $B : $A }[2];
            my $t0 = time;
            my $r = $c->request('POST', '/runs', { type => 'start_session',
                                                   session_name => "xw-$i",
                                                   prompt => 'p' });
            my $got = 0;
            for my $st (@s) { $got += scalar @{ $st->read_events(5, 2) } }
            push @lat, time - $t0;
            last if $got != 6;
        }
        is scalar(@lat), 10, 'each of 10 changes reached the three streams';
        my @sorted = sort { $a <=> $b } @lat;
        cmp_ok $sorted[-1], '<', Runs::tf(1.0),
               sprintf('within %.3fs (median %.4fs)', $sorted[-1], $sorted[5] // 0);
        my $ev = $s[2]->read_events(1);
        is scalar(@$ev), 0, 'and nothing else';
        close_all($w);
    }
};

flow 'an idle stream gets comments; the cap; a client that leaves is released', 6, sub {
    my ($s) = stream();
    my $ev = $s->read_events(3, 1, comments => 1);
    is_deeply [ map { $_->{comment} // '' } @$ev ], ['ping'],
              'an idle stream: a comment after runs_events_heartbeat';
    my ($s2, $h2) = stream();
    is $h2->{status}, 200, 'a second stream';
    my $r = req('GET', '/events');
    is_deeply [ $r->{status}, $r->{json}{detail} ],
              [503, 'Too many event streams (runs_max_streams): retry later'],
              'beyond runs_max_streams: 503 with a detail';
    $s->close;
    $s2->close;
    my $ok;
    for (1 .. 40) {
        sleep 0.05;
        my ($c, $h) = stream();
        $c->close;
        if ($h->{status} == 200) { $ok = 1; last }
    }
    ok $ok, 'the streams of clients that left are released';
    my $m = req('GET', '/metrics');
    like $m->{body}, qr/runs_refused_total\{zone="runs",reason="max_streams"\} [1-9]/,
         'the refusal counted in runs_metrics';
    like $m->{body}, qr/runs_held_requests\{zone="runs",kind="events"\} \d/,
         'held streams shown';
};

flow 'a reload ends the streams; a reconnect gets what it missed', 3, sub {
    my ($s) = stream();
    create_run(session_name => 'rl-a');
    my $ev = $s->read_events(5, 2);
    my $last = $ev->[-1]{id};
    my $pid = `cat ${\ Runs::server_root()}/logs/nginx.pid`;
    chomp $pid;
    kill 'HUP', $pid;
    my (undef, $ended) = $s->read_events(10);
    ok $ended, 'a reload ends the stream of the old worker';
    $s->close;
    create_run(session_name => 'rl-b');
    sleep 0.3;
    ($s) = stream('', { 'Last-Event-ID' => $last });
    $ev = $s->read_events(5, 2);
    is types($ev), 'session.created run.created', 'the ring is kept: the reconnect gets the missed changes';
    is $ev->[0]{id}, $last + 1, 'numbered on from before the reload';
    $s->close;
};

flow 'scopes: a user sees the changes of its own sessions and every runner', 4, sub {
    require MIME::Base64;
    my $auth = sub { { Authorization => 'Basic ' . MIME::Base64::encode_base64("$_[0]:pw", '') } };
    my ($sa) = stream('', $auth->('alice'));
    my ($sb) = stream('', $auth->('bob'));
    Runs::start_as('alice', 'same');
    Runs::start_as('bob', 'same');
    my $lid = register_launcher();
    my $ea = $sa->read_events(3, 3);
    my $eb = $sb->read_events(3, 3);
    is types($ea), 'session.created run.created launcher.registered', 'alice: her session, her run, the runner';
    is types($eb), 'session.created run.created launcher.registered', 'bob: his';
    isnt $ea->[1]{json}{run_id}, $eb->[1]{json}{run_id}, 'not the same run';
    my $bid = $eb->[1]{json}{run_id};
    my $r = Runs::req('GET', "/events?run_id=$bid", undef, $auth->('alice'));
    is $r->{status}, 404, 'alice cannot follow bob\'s run';
    $_->close for $sa, $sb;
};

flow 'HEAD, other methods, hostile queries', 5, sub {
    my $c = Runs::Conn->new;
    my $r = $c->request('HEAD', '/events');
    is_deeply [ $r->{status}, $r->{headers}{'content-type'} ], [200, 'text/event-stream'],
              'HEAD: the headers, and the answer ends';
    $r = req('POST', '/events', {});
    is_deeply [ $r->{status}, $r->{headers}{allow} ], [405, 'GET, HEAD'], 'POST: 405';
    $r = req('GET', '/events/x');
    is $r->{status}, 404, 'below the location: 404';
    my ($s, $h) = stream('?' . join('&', map { "x$_=" . ('y' x 50) } 1 .. 100));
    is $h->{status}, 200, 'unknown parameters are ignored';
    $s->close;
    $r = req('GET', '/events?session_id=' . ('a' x 5000));
    is $r->{status}, 404, 'a 5000-byte session id: 404';
};

flow 'the ring\'s edge: its oldest change is replayed, one before it is a reset; HTTP/1.0', 7, sub {
    my ($s) = stream();
    create_run(session_name => "edge-$_") for 1 .. 10;
    my $ev = $s->read_events(5, 20);
    is scalar(@$ev), 20, 'twenty changes';
    my $newest = $ev->[-1]{id};
    $s->close;
    ($s) = stream('', { 'Last-Event-ID' => $newest - 16 });
    $ev = $s->read_events(3, 16);
    is_deeply [ scalar(@$ev), $ev->[0]{id}, $ev->[-1]{id} ], [16, $newest - 15, $newest],
              'the id before the oldest kept: the 16 the ring holds (events=16)';
    ok !(grep { ($_->{event} // '') eq 'reset' } @$ev), 'no reset';
    $s->close;
    ($s) = stream('', { 'Last-Event-ID' => $newest - 17 });
    $ev = $s->read_events(3, 1);
    is_deeply [ types($ev), $ev->[0]{id} ], ['reset', $newest], 'one further back: a reset';
    $s->close;
    my $c = Runs::Conn->new;
    $c->send_raw("GET /events HTTP/1.0\r\nHost: x\r\n\r\n", 'GET');
    my $h = $c->read_head(5);
    is_deeply [ $h->{status}, $h->{headers}{'transfer-encoding'} ], [200, undef],
              'HTTP/1.0: a stream without chunks';
    create_run(session_name => 'edge-http10');
    $ev = $c->read_events(5, 2);
    is types($ev), 'session.created run.created', 'its events as they come';
    $c->close;
    my $r = req('GET', '/runs?limit=1');
    is $r->{status}, 200, 'and the worker goes on';
};

flow 'the blueprint registry\'s changes: every stream but those that follow a run or a session', 9, sub {
    my $hdr = sub { { 'X-User' => $_[0] } };
    my ($s) = stream();
    my $sc = Runs::Conn->new;
    $sc->send('GET', '/scoped/events', undef, $hdr->('alice'));
    is $sc->read_head(5)->{status}, 200, 'a stream confined to a scope';
    my $sid = get_run(create_run(session_name => 'ag-sess'))->{session_id};
    my ($sf) = stream("?session_id=$sid");
    my $ev = $s->read_events(5, 2);
    my $before = $ev->[-1]{id};

    my $long = 'a' . ('b.-_9' x 11) . 'zzzz';
    is req('POST', '/agents', { name => 'ag-one', description => 'One' })->{status}, 201, 'a blueprint made';
    req('POST', '/agents', { name => 'ag-one', description => 'Again' });
    req('PATCH', '/agents/ag-one', { description => 'One, changed' });
    req('PATCH', '/agents/ag-one/status', { status => 'inactive' });
    req('PATCH', '/agents/nobody/status', { status => 'inactive' });
    req('DELETE', '/agents/ag-one');
    req('DELETE', '/agents/ag-one');
    req('POST', '/agents', { name => $long, description => 'Long' });
    $ev = $s->read_events(5, 5);
    is types($ev), 'agent.created agent.updated agent.updated agent.deleted agent.created',
       'made, changed, disabled, deleted, made: what failed (409, 404) tells nothing';
    is_deeply [ map { [ $_->{json}{agent}, $_->{json}{status} // '-' ] } @$ev ],
              [ ['ag-one', 'active'], ['ag-one', 'active'], ['ag-one', 'inactive'], ['ag-one', '-'],
                [$long, 'active'] ],
              'each names its blueprint (60 characters in full) and its status after';
    ok !(grep { exists $_->{json}{run_id} || exists $_->{json}{session_id} } @$ev), 'and nothing else';
    is $ev->[0]{id}, $before + 1, 'in the zone\'s order of changes';

    my $evc = $sc->read_events(5, 5);
    is types($evc), types($ev), 'the stream confined to a scope sees them too';
    create_run(session_name => 'ag-sess', type => 'resume_session', prompt => 'again');
    my $evf = $sf->read_events(5, 1);
    is types($evf), 'run.created', 'a stream that follows a session does not';

    $s->close;
    ($s) = stream('', { 'Last-Event-ID' => $before });
    $ev = $s->read_events(5, 6);
    is types($ev), 'agent.created agent.updated agent.updated agent.deleted agent.created run.created',
       'a reconnect gets them from the ring';
    $_->close for $s, $sc, $sf;
};

flow 'a session removed with its last run by retention is told, when it goes', 4, sub {
    my ($s) = stream();
    my $gone = create_run(session_name => 'rt-gone');
    stop_run($gone);
    my $kept = create_run(session_name => 'rt-kept');
    my $ev = $s->read_events(5, 5);
    is types($ev), 'session.created run.created run.stopped session.created run.created',
       'a run stopped, another pending';
    my $sid = $ev->[0]{json}{session_id};
    $ev = $s->read_events(6, 1);
    is_deeply [ types($ev), $ev->[0]{json}{session_id} ], ['session.deleted', $sid],
              'after runs_retention: the stopped run\'s session deleted (the stream woken for it)';
    is req('GET', "/sessions/$sid")->{status}, 404, 'and gone from the API';
    $ev = $s->read_events(2.5);
    is types($ev), '', 'the pending run\'s session stays, and nothing else is told';
    $s->close;
};

flow 'sessions removed for room are told', 3, sub {
    my ($s) = stream();
    my (@sids, @runs);
    for my $i (1 .. 8) {
        my $id = create_run(session_name => "room-$i");
        stop_run($id);
        push @runs, $id;
        push @sids, get_run($id)->{session_id};
    }
    my ($n, $status) = (0, 0);
    while ($n < 3000) {
        my (undef, $r) = create_run(session_name => "room-fill-$n");
        $status = $r->{status};
        last if $status != 201;
        $n++;
    }
    is $status, 503, "the zone filled up ($n more runs)";
    my @evicted = grep { req('GET', "/sessions/$sids[$_]")->{status} == 404 } 0 .. $#sids;
    my %told;
    while (1) {
        my $ev = $s->read_events(1.5);
        last if !@$ev;
        $told{ $_->{json}{session_id} // '' }++ for grep { ($_->{event} // '') eq 'session.deleted' } @$ev;
    }
    cmp_ok scalar(@evicted), '>', 0, scalar(@evicted) . ' sessions evicted to make room';
    is_deeply [ grep { !$told{ $sids[$_] } } @evicted ], [], 'each told as session.deleted';
    $s->close;
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: every kind of change is told, in order, with the ids of what changed
--- http_config
    runs_zone runs 4m;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 60s;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; runs_launcher_auth off; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }
--- no_error_log
[error]
[alert]



=== TEST 2: filters: a run, a session
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }



=== TEST 3: Last-Event-ID: what was missed, from the ring; a reset when it is gone
--- http_config
    runs_zone runs 4m events=16;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /events { runs_events_api runs; }



=== TEST 4: a change in one worker reaches streams held in both
--- config
    location /runs { runs_api runs; add_header X-Worker $pid always; }
    location /events { runs_events_api runs; add_header X-Worker $pid always; }



=== TEST 5: an idle stream gets comments; the cap; a client that leaves is released
--- http_config
    runs_zone runs 4m;
    runs_max_streams 2;
    runs_events_heartbeat 1s;
--- config
    location /runs { runs_api runs; }
    location /events { runs_events_api runs; }
    location = /metrics { runs_metrics runs; }
--- no_error_log
[alert]
[emerg]



=== TEST 6: a reload ends the streams; a reconnect gets what it missed
--- config
    location /runs { runs_api runs; }
    location /events { runs_events_api runs; }
--- no_error_log
[alert]
[emerg]



=== TEST 7: scopes: a user sees the changes of its own sessions and every runner
--- config
    location /admin/runs { runs_api runs; }
    location /runs { runs_api runs; runs_scope $remote_user;
                     auth_basic "runs"; auth_basic_user_file ../html/htpasswd; }
    location /events { runs_events_api runs; runs_scope $remote_user;
                       auth_basic "runs"; auth_basic_user_file ../html/htpasswd; }
    location /launcher { runs_launcher_api runs; }
--- user_files
>>> htpasswd
alice:{PLAIN}pw
bob:{PLAIN}pw



=== TEST 8: HEAD, other methods, hostile queries
--- config
    location /runs { runs_api runs; }
    location /events { runs_events_api runs; }



=== TEST 9: the ring's edge: its oldest change is replayed, one before it is a reset; HTTP/1.0
--- http_config
    runs_zone runs 4m events=16;
--- config
    location /runs { runs_api runs; }
    location /events { runs_events_api runs; }



=== TEST 10: the blueprint registry's changes: every stream but those that follow a run or a session
--- config
    location /runs { runs_api runs; }
    location /agents { runs_agents_api runs; }
    location /events { runs_events_api runs; }
    location /scoped/events { runs_events_api runs; runs_scope $http_x_user; }
--- no_error_log
[error]
[alert]



=== TEST 11: a session removed with its last run by retention is told, when it goes
--- http_config
    runs_zone runs 4m;
    runs_retention 1s;
--- config
    location /runs { runs_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }
--- no_error_log
[alert]



=== TEST 12: sessions removed for room are told
--- http_config
    runs_zone runs 64k events=200;
--- config
    location /runs { runs_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }
--- no_error_log
[alert]
[emerg]
