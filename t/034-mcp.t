# runs_mcp: the MCP Streamable HTTP transport (initialize and version
# negotiation, sessions, notifications, batches, errors), every tool, a
# sync call held until its run ends and woken by a report in the other
# worker, the timeout, a client that leaves, a reload with held calls;
# hostile and huge bodies, chunked bodies.

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

my $JSON_CT = { 'Content-Type' => 'application/json',
                Accept => 'application/json, text/event-stream' };

# a session: (its id, the initialize response)
sub mcp_init {
    my ($version, $c) = @_;
    my $r = ($c // Runs::Conn->new)->request('POST', '/mcp',
        { jsonrpc => '2.0', id => 1, method => 'initialize',
          params => { protocolVersion => $version // '2025-06-18',
                      capabilities => {}, clientInfo => { name => 't', version => '1' } } },
        $JSON_CT);
    return ($r->{headers}{'mcp-session-id'}, $r);
}

sub mcp {
    my ($sid, $msg, $c, $timeout, $extra) = @_;
    my $h = { %$JSON_CT, ($sid ? ('Mcp-Session-Id' => $sid) : ()), %{ $extra // {} } };
    return ($c // Runs::Conn->new)->request('POST', '/mcp', $msg, $h, $timeout);
}

my $id = 10;
sub call {
    my ($sid, $tool, $args, $c, $timeout, $extra) = @_;
    my $r = mcp($sid, { jsonrpc => '2.0', id => ++$id, method => 'tools/call',
                        params => { name => $tool, arguments => $args // {} } },
                $c, $timeout, $extra);
    my $res = ($r->{json} || {})->{result} || {};
    my $text = ($res->{content} && $res->{content}[0]) ? $res->{content}[0]{text} : undef;
    return ($text, $res->{isError} ? 1 : 0, $r);
}

flow 'initialize, versions, sessions, notifications, methods', 16, sub {
    my ($sid, $r) = mcp_init('2025-06-18');
    is $r->{status}, 200, 'initialize: 200';
    is $r->{json}{result}{protocolVersion}, '2025-06-18', 'the version asked, served';
    like $sid, qr/^mcp[0-9][0-9a-f]{40}$/, 'an Mcp-Session-Id';
    ok $r->{json}{result}{capabilities}{tools}, 'tools offered';
    is $r->{json}{result}{serverInfo}{name}, 'ngx_http_runs_module', 'the server named';
    my (undef, $r2) = mcp_init('1999-01-01');
    is $r2->{json}{result}{protocolVersion}, '2025-11-25', 'an unknown version: the newest instead';
    $r = mcp($sid, { jsonrpc => '2.0', method => 'notifications/initialized' });
    is_deeply [ $r->{status}, $r->{body} ], [202, ''], 'a notification: 202, no body';
    $r = mcp($sid, { jsonrpc => '2.0', id => 'p', method => 'ping' });
    is_deeply $r->{json}, { jsonrpc => '2.0', id => 'p', result => {} }, 'ping, a string id';
    $r = mcp($sid, { jsonrpc => '2.0', id => 7, method => 'tools/list' });
    my @names = map { $_->{name} } @{ $r->{json}{result}{tools} || [] };
    is_deeply [ sort @names ], [ sort qw(list_agent_blueprints list_agent_sessions
        start_agent_session resume_agent_session get_agent_session_status
        get_agent_session_result delete_all_agent_sessions stop_agent_session) ],
        'tools/list: the eight tools';
    ok !(grep { ref $_->{inputSchema} ne 'HASH' || $_->{inputSchema}{type} ne 'object' }
         @{ $r->{json}{result}{tools} }), 'each with an object input schema';
    $r = mcp($sid, { jsonrpc => '2.0', id => 8, method => 'resources/list' });
    is $r->{json}{error}{code}, -32601, 'an unknown method: -32601';
    $r = mcp(undef, { jsonrpc => '2.0', id => 9, method => 'tools/list' });
    is_deeply [ $r->{status}, $r->{json}{error}{code} ], [400, -32600], 'no Mcp-Session-Id: 400';
    $r = mcp('mcp0' . ('0' x 40), { jsonrpc => '2.0', id => 9, method => 'tools/list' });
    is $r->{status}, 404, 'a session id not made here: 404 (initialize again)';
    substr(my $forged = $sid, -1) = substr($sid, -1) eq 'a' ? 'b' : 'a';
    $r = mcp($forged, { jsonrpc => '2.0', id => 9, method => 'tools/list' });
    is $r->{status}, 404, 'one character changed: 404';
    $r = mcp($sid, { jsonrpc => '2.0', id => 9, method => 'ping' }, undef, undef,
             { 'MCP-Protocol-Version' => '2000-01-01' });
    is $r->{status}, 400, 'an unsupported MCP-Protocol-Version: 400';
    $r = req('GET', '/mcp');
    is $r->{status}, 405, 'GET: 405 (nothing is pushed)';
};

flow 'malformed messages, batches, hostile bodies', 15, sub {
    my ($sid) = mcp_init();
    my $r = mcp($sid, '{"jsonrpc":"2.0","id":1,"method":');
    is_deeply [ $r->{status}, $r->{json}{error}{code}, $r->{json}{id} ], [400, -32700, undef],
              'not JSON: 400, parse error, id null';
    $r = mcp($sid, '{"jsonrpc":"1.0","id":1,"method":"ping"}');
    is_deeply [ $r->{status}, $r->{json}{error}{code} ], [400, -32600], 'jsonrpc 1.0: invalid request';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":1.5,"method":"ping"}');
    is $r->{json}{error}{code}, -32600, 'a fractional id: invalid request';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":null,"method":"ping"}');
    is $r->{json}{error}{code}, -32600, 'a null id: invalid request';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}');
    is $r->{json}{error}{code}, -32600, 'params an array: invalid request';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}');
    is $r->{json}{error}{code}, -32602, 'a tool name not a string: invalid params';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}');
    is $r->{json}{error}{code}, -32602, 'an unknown tool: invalid params';
    $r = mcp($sid, "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"ping\"}");
    is $r->{status}, 400, 'invalid UTF-8: 400';
    $r = mcp($sid, '[{"jsonrpc":"2.0","id":1,"method":"ping"}]');
    is $r->{status}, 400, 'a batch in a 2025-06-18 session: 400';

    my ($old) = mcp_init('2025-03-26');
    $r = mcp($old, '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},5,'
                   . '{"jsonrpc":"2.0","id":"b","method":"nope"}]');
    is ref $r->{json}, 'ARRAY', 'a batch in a 2025-03-26 session: an array';
    is_deeply [ sort map { defined $_->{id} ? $_->{id} : 'null' } @{ $r->{json} } ], [1, 'b', 'null'],
              'one answer per request, the bad element answered with id null';
    $r = mcp($old, '[{"jsonrpc":"2.0","method":"notifications/x"}]');
    is $r->{status}, 202, 'a batch of notifications: 202';
    $r = mcp($old, '[]');
    is $r->{status}, 400, 'an empty batch: 400';

    my $c = Runs::Conn->new;
    $c->send_raw("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 . "Mcp-Session-Id: $sid\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 . "10\r\n{\"jsonrpc\":\"2.0\"\r\n13\r\n,\"id\":3,\"method\":\"p\r\n5\r\ning\"}\r\n0\r\n\r\n", 'POST');
    $r = $c->read(5);
    is_deeply $r->{json}, { jsonrpc => '2.0', id => 3, result => {} }, 'a chunked body';
    $r = mcp($sid, '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' . ('a' x (2 * 1024 * 1024)) . '"}}');
    is $r->{status}, 413, 'a body over client_max_body_size: 413';
};

flow 'every tool; sync calls answered by the run\'s end', 23, sub {
    my ($sid) = mcp_init();
    my $lid = register_launcher(hostname => 'mh', agents => ['coder'], tags => ['linux']);
    my ($t, $e) = call($sid, 'list_agent_blueprints');
    my $bp = Runs::jdec($t);
    is_deeply [ $e, $bp->{total}, $bp->{agents}[0]{name}, $bp->{agents}[0]{tags} ],
              [0, 1, 'coder', ['linux']], 'list_agent_blueprints: the agents runners offer';

    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'ma', prompt => 'first', async_mode => Runs::jtrue() });
    is $e, 0, 'an async start';
    like $t, qr/Session 'ma' started in the background \(run run_[0-9a-f]{12}\)/, 'says so, with its run';
    ($t) = call($sid, 'get_agent_session_status', { session_name => 'ma' });
    is_deeply Runs::jdec($t), { status => 'running', run_status => 'pending' }, 'status: running';
    ($t, $e) = call($sid, 'get_agent_session_result', { session_name => 'ma' });
    is $e, 1, 'a result while running: an error';
    like $t, qr/still running/, 'saying so';
    my $run = claim($lid);
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'answer one' });
    ($t, $e) = call($sid, 'get_agent_session_result', { session_name => 'ma' });
    is_deeply [ $t, $e ], ['answer one', 0], 'the result once finished';
    ($t) = call($sid, 'get_agent_session_status', { session_name => 'ma' });
    is Runs::jdec($t)->{status}, 'finished', 'status: finished';
    ($t) = call($sid, 'get_agent_session_status', { session_name => 'nobody' });
    is Runs::jdec($t)->{status}, 'not_existent', 'an unknown session: not_existent';

    # a sync resume: held until the run ends, its answer the result
    my $c = Runs::Conn->new;
    $c->send('POST', '/mcp', { jsonrpc => '2.0', id => 99, method => 'tools/call',
                               params => { name => 'resume_agent_session',
                                           arguments => { session_name => 'ma', prompt => 'second' } } },
             { %$JSON_CT, 'Mcp-Session-Id' => $sid });
    sleep 0.3;
    ok !$c->ready, 'a sync resume is held';
    $run = claim($lid);
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'answer two' });
    my $r = $c->read(5);
    is_deeply [ $r->{json}{id}, $r->{json}{result}{content}[0]{text}, $r->{json}{result}{isError} ],
              [99, 'answer two', Runs::jfalse()], 'answered with the run\'s result when it ends';

    # a sync start that fails: its error
    $c = Runs::Conn->new;
    $c->send('POST', '/mcp', { jsonrpc => '2.0', id => 100, method => 'tools/call',
                               params => { name => 'start_agent_session',
                                           arguments => { session_name => 'mb', prompt => 'x',
                                                          agent_blueprint_name => 'coder' } } },
             { %$JSON_CT, 'Mcp-Session-Id' => $sid });
    $run = claim($lid);
    launcher_event($run->{run_id}, 'failed', { launcher_id => $lid, error => 'tool broke' });
    $r = $c->read(5);
    is_deeply [ $r->{json}{result}{content}[0]{text}, $r->{json}{result}{isError} ],
              ["Session 'mb' failed: tool broke", Runs::jtrue()], 'a failed run: isError with its error';

    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'ma', prompt => 'again', async_mode => Runs::jtrue() });
    like $t, qr/^Session 'ma' already exists: resume it/, 'a start of an existing session: isError';
    ($t, $e) = call($sid, 'resume_agent_session', { session_name => 'zz', prompt => 'x', async_mode => Runs::jtrue() });
    like $t, qr/^Session 'zz' does not exist/, 'a resume of none';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'bad name', prompt => 'x' });
    is $e, 1, 'a bad session name: isError';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'mc', prompt => 'x', callback => Runs::jtrue() });
    like $t, qr/needs 'async_mode'/, 'callback without async_mode: isError';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'mc', prompt => 'x', async_mode => Runs::jtrue(),
                                                   callback => Runs::jtrue() });
    like $t, qr/no X-Agent-Session-Name header/, 'callback without the caller\'s header: isError';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'mc', prompt => 'x', async_mode => Runs::jtrue(),
                                                   callback => Runs::jtrue() }, undef, undef,
                    { 'X-Agent-Session-Name' => 'ma' });
    my $kid = (list_runs('session_name=mc'))->[0] || {};
    is $kid->{parent_session_name}, 'ma', 'a callback: the caller\'s session is the parent';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'me', prompt => 'x', async_mode => Runs::jtrue(),
                                                   callback => Runs::jtrue() }, undef, undef,
                    { 'X-Agent-Session-Name' => 'ghost' });
    like $t, qr/^Session 'ghost' \(the X-Agent-Session-Name header\) does not exist/,
         'a callback to a session that is not there: isError, and no run';
    ($t, $e) = call($sid, 'start_agent_session', { session_name => 'md', prompt => 'x', speed => 3 });
    like $t, qr/unknown member 'speed'/, 'an unknown argument: isError naming it';
    ($t) = call($sid, 'stop_agent_session', { session_name => 'mc' });
    like $t, qr/^Session 'mc': 0 runs told to stop, 1 waiting run cancelled/, 'stop_agent_session';
    ($t) = call($sid, 'list_agent_sessions');
    is Runs::jdec($t)->{total}, 3, 'list_agent_sessions';
    ($t) = call($sid, 'delete_all_agent_sessions');
    is $t, 'Deleted 3 sessions', 'delete_all_agent_sessions';
};

flow 'held calls: across workers, the timeout, a client that leaves, a reload', 7, sub {
    my $w = worker_conns(2);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 6 if !$w;
        my ($A, $B) = sort keys %$w;
        my ($sid) = mcp_init(undef, $w->{$A}[0]);
        my $c = $w->{$A}[0];
        $c->send('POST', '/mcp', { jsonrpc => '2.0', id => 5, method => 'tools/call',
                                   params => { name => 'start_agent_session',
                                               arguments => { session_name => 'xw', prompt => 'p' } } },
                 { %$JSON_CT, 'Mcp-Session-Id' => $sid });
        sleep 0.2;
        my $lid = register_launcher();
        my $run = claim($lid);
        $w->{$B}[0]->request('POST', "/launcher/runs/$run->{run_id}/started",
                             { launcher_id => $lid });
        my $t0 = time;
        $w->{$B}[0]->request('POST', "/launcher/runs/$run->{run_id}/completed",
                             { launcher_id => $lid, result => 'from B' });
        my $r = $c->read(5);
        is $r->{json}{result}{content}[0]{text}, 'from B', 'a call held in one worker, its run ended in the other';
        cmp_ok time - $t0, '<', Runs::tf(1.0), 'at once';

        # runs_mcp_timeout 2s
        ($r) = call($sid, 'start_agent_session', { session_name => 'slow', prompt => 'p' }, undef, 10);
        like $r, qr/^Session 'slow' is still running after 2 s \(runs_mcp_timeout\)/,
             'the timeout: how to fetch the answer later';

        # a client that leaves: its hold is released (runs_max_waits 1)
        for (1 .. 2) {
            my $x = Runs::Conn->new;
            $x->send('POST', '/mcp', { jsonrpc => '2.0', id => 6, method => 'tools/call',
                                       params => { name => 'resume_agent_session',
                                                   arguments => { session_name => 'slow', prompt => "p$_" } } },
                     { %$JSON_CT, 'Mcp-Session-Id' => $sid });
            sleep 0.2;
            $x->close;
        }
        sleep 0.3;
        my $m = req('GET', '/metrics');
        like $m->{body}, qr/runs_held_requests\{zone="runs",kind="wait"\} 0\b/, 'calls whose clients left: released';

        # a reload answers the held calls
        my $h = Runs::Conn->new;
        $h->send('POST', '/mcp', { jsonrpc => '2.0', id => 7, method => 'tools/call',
                                   params => { name => 'start_agent_session',
                                               arguments => { session_name => 'rl', prompt => 'p' } } },
                 { %$JSON_CT, 'Mcp-Session-Id' => $sid });
        sleep 0.3;
        my $pid = `cat ${\ Runs::server_root()}/logs/nginx.pid`;
        chomp $pid;
        kill 'HUP', $pid;
        $r = $h->read(10);
        like $r->{json}{result}{content}[0]{text}, qr/^Session 'rl' is still running/,
             'a reload: the held call answered with how to fetch the answer later';
        sleep 0.5;
        ($r) = call($sid, 'get_agent_session_status', { session_name => 'rl' });
        is Runs::jdec($r)->{status}, 'running', 'and the session still there for it';
        close_all($w);
    }
};

flow 'an Origin that is not this server\'s, a body that is not JSON', 3, sub {
    my ($sid) = mcp_init();
    my $r = mcp($sid, { jsonrpc => '2.0', id => 1, method => 'ping' }, undef, undef,
                { Origin => 'http://evil.example' });
    is $r->{status}, 403, 'another Origin: 403 (DNS rebinding)';
    $r = mcp($sid, { jsonrpc => '2.0', id => 1, method => 'ping' }, undef, undef,
             { Origin => 'http://localhost' });
    is $r->{status}, 200, 'this server\'s Origin: answered';
    $r = Runs::Conn->new->request('POST', '/mcp', 'x=1',
                                  { 'Content-Type' => 'application/x-www-form-urlencoded' });
    is $r->{status}, 415, 'a form: 415';
};

# a raw POST /mcp with the Host and Origin given (Runs::Conn sends its own Host)
sub raw_mcp {
    my ($host, $origin, $body, $sid) = @_;
    my $c = Runs::Conn->new;
    $c->send_raw("POST /mcp HTTP/1.1\r\nHost: $host\r\nOrigin: $origin\r\n"
                 . "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                 . ($sid ? "Mcp-Session-Id: $sid\r\n" : '')
                 . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body", 'POST');
    my $r = $c->read(5);
    $c->close;
    return $r;
}

flow 'list_agent_blueprints: a runner that offers 100 agents', 5, sub {
    my ($sid) = mcp_init();
    my @names = map { sprintf 'agent%03d', $_ } 1 .. 100;
    my $lid = register_launcher(hostname => 'bp-host', executor_type => 'echo', agents => \@names);
    ok $lid, 'a runner of 100 agents registers (runs allows 256)';
    my ($t, $e) = call($sid, 'list_agent_blueprints');
    my $bp = Runs::jdec($t) || {};
    is_deeply [ $e, $bp->{total} ], [0, 100], 'the 100 agents listed';
    is_deeply [ map { $_->{name} } @{ $bp->{agents} || [] } ], \@names, 'each once, in order';
    is_deeply [ map { $_->{name} } grep { ($_->{runners} // -1) != 1 } @{ $bp->{agents} || [] } ], [],
              'each offered by the one runner';
    my ($again) = call($sid, 'list_agent_blueprints');
    is((Runs::jdec($again) || {})->{total}, 100, 'and again (the worker is fine)');
};

flow 'list_agent_blueprints: runners with a 4000-byte executor_type', 3, sub {
    my ($sid) = mcp_init();
    my @l = map { scalar register_launcher(hostname => "eh$_", executor_type => ('e' x 4000), agents => ["long$_"]) } 1 .. 10;
    is scalar(grep { defined } @l), 10, 'ten runners with a 4000-byte executor_type (runs allows 4096)';
    my ($t, $e) = call($sid, 'list_agent_blueprints');
    my $bp = Runs::jdec($t) || {};
    is_deeply [ $e, $bp->{total} ], [0, 10], 'the ten agents listed';
    my $ok = 0;
    for (1 .. 5) { my ($x) = call($sid, 'list_agent_blueprints'); $ok++ if (Runs::jdec($x) || {})->{total} }
    is $ok, 5, 'and five more times (the worker is fine)';
};

flow 'list_agent_blueprints: a hostname with quotes and a backslash', 2, sub {
    my ($sid) = mcp_init();
    register_launcher(hostname => "q\"h\\x\x01", executor_type => 'ex"e', agents => ['quoted']);
    my ($t, $e) = call($sid, 'list_agent_blueprints');
    my $bp = Runs::jdec($t);
    ok $bp, 'the text is JSON (whatever the runner registered)' or diag $t;
    is(($bp || {})->{agents}[0]{name} // '', 'quoted', 'its agent listed');
};

flow 'a batch whose call cannot be held is answered at once, once', 6, sub {
    my ($old) = mcp_init('2025-03-26');
    my ($t) = call($old, 'start_agent_session', { session_name => 'bw', prompt => 'p', async_mode => Runs::jtrue() });
    my ($rid) = ($t // '') =~ /\(run (run_[0-9a-f]{12})\)/;
    ok $rid, 'a session started';
    # runs_max_waits 1: this ?wait= takes the one place
    my $w = hold('GET', "/runs/$rid?wait=30");
    sleep 0.3;
    my $t0 = time;
    my $r = mcp($old, [ { jsonrpc => '2.0', id => 1, method => 'tools/call',
                          params => { name => 'get_agent_session_status',
                                      arguments => { session_name => 'bw', wait_seconds => 2 } } } ],
                undef, 10);
    my $el = time - $t0;
    is ref $r->{json}, 'ARRAY', 'a status with wait_seconds in a batch: an array';
    is scalar(@{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] }), 1, 'with one answer for the one call'
        or diag explain $r->{json};
    cmp_ok $el, '<', 1.5, 'at once (no place to wait: answered as it is)';
    $t0 = time;
    $r = mcp($old, [ { jsonrpc => '2.0', id => 2, method => 'tools/call',
                       params => { name => 'start_agent_session',
                                   arguments => { session_name => 'bx', prompt => 'p' } } } ],
             undef, 10);
    $el = time - $t0;
    is scalar(@{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] }), 1, 'a sync start in a batch: one answer'
        or diag explain $r->{json};
    cmp_ok $el, '<', 1.5, 'at once';
    $w->close;
};

flow 'a batch with a sync call: every answer once its run ends', 6, sub {
    my ($old) = mcp_init('2025-03-26');
    my $lid = register_launcher(hostname => 'hb');
    my $c = Runs::Conn->new;
    $c->send('POST', '/mcp', [
        { jsonrpc => '2.0', id => 1, method => 'ping' },
        { jsonrpc => '2.0', id => 2, method => 'tools/call',
          params => { name => 'start_agent_session', arguments => { session_name => 'hb', prompt => 'p' } } },
        { jsonrpc => '2.0', method => 'notifications/progress' },
        { jsonrpc => '2.0', id => 'three', method => 'tools/call',
          params => { name => 'start_agent_session', arguments => { session_name => 'hc', prompt => 'p' } } },
        { jsonrpc => '2.0', id => 4, method => 'tools/list' } ],
        { %$JSON_CT, 'Mcp-Session-Id' => $old });
    sleep 0.3;
    ok !$c->ready, 'the batch waits for its sync call';
    my $run = claim($lid);
    is $run && $run->{session_name}, 'hb', 'one run made: the second sync call was refused';
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'batched' });
    my $r = $c->read(5);
    my %by = map { ($_->{id} // 'null') => $_ } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] };
    is_deeply [ sort keys %by ], [1, 2, 4, 'three'], 'one answer per request';
    is $by{2}{result}{content}[0]{text}, 'batched', 'the held call: its run\'s result';
    like $by{three}{result}{content}[0]{text} // '', qr/^One call of a batch may wait/, 'the other sync call: told';
    is_deeply [ $by{1}{result}, ref $by{4}{result}{tools} ], [{}, 'ARRAY'], 'and the others answered';
};

flow 'a long error in a tool result stays whole and valid UTF-8', 3, sub {
    require Encode;
    my ($sid) = mcp_init();
    my $lid = register_launcher(hostname => 'u8');
    call($sid, 'start_agent_session', { session_name => 'mu', prompt => 'p', async_mode => Runs::jtrue() });
    my $run = claim($lid);
    my $err = "\x{20ac}" x 1000;
    launcher_event($run->{run_id}, 'failed', { launcher_id => $lid, error => $err });
    my ($t, $e, $r) = call($sid, 'get_agent_session_result', { session_name => 'mu' });
    ok eval { Encode::decode('UTF-8', my $copy = $r->{body}, Encode::FB_CROAK()); 1 },
       'the answer is valid UTF-8';
    is $e, 1, 'isError';
    ok index(Encode::decode('UTF-8', $r->{body}), $err) >= 0, 'with the whole error';
};

flow 'delete_all_agent_sessions stops the live runs first', 1, sub {
    my ($sid) = mcp_init();
    my $lid = register_launcher(hostname => 'dl');
    call($sid, 'start_agent_session', { session_name => 'dl', prompt => 'p', async_mode => Runs::jtrue() });
    my $run = claim($lid);
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    my ($t) = call($sid, 'delete_all_agent_sessions');
    diag "delete_all_agent_sessions said: " . ($t // 'nothing');
    isnt status_of($run->{run_id}), 'running', 'the running run was told to stop (API.md: "their live runs stopped first")';
};

flow 'DNS rebinding: a Host that is not this server\'s', 2, sub {
    my $port = Runs::port();
    my $init = Runs::jenc({ jsonrpc => '2.0', id => 1, method => 'initialize',
                            params => { protocolVersion => '2025-06-18', capabilities => {},
                                        clientInfo => { name => 't', version => '1' } } });
    my $r = raw_mcp("localhost:$port", "http://localhost:$port", $init);
    is $r->{status}, 200, 'this server\'s name and Origin: answered';
    $r = raw_mcp("rebind.example:$port", "http://rebind.example:$port", $init);
    is $r->{status}, 403, 'a page of another name, rebound to this address (Origin = Host): 403';
};

flow 'a batch cannot make the worker build answers out of proportion', 2, sub {
    my ($old) = mcp_init('2025-03-26');
    my $body = '[' . join(',', map { qq({"jsonrpc":"2.0","id":$_,"method":"tools/list"}) } 1 .. 3000) . ']';
    my $r = mcp($old, $body, undef, 30);
    ok $r->{status}, 'answered';
    cmp_ok length($r->{body}), '<', 20 * length($body),
           sprintf('a %d-byte batch is not answered with %d bytes (refused, or bounded)',
                   length($body), length($r->{body}));
};

flow 'a batch with a held call and a finished session\'s result: the held call keeps its place', 5, sub {
    my ($old) = mcp_init('2025-03-26');
    my $lid = register_launcher(hostname => 'hr');
    call($old, 'start_agent_session', { session_name => 'hr-done', prompt => 'p', async_mode => Runs::jtrue() });
    my $run = claim($lid);
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'old answer' });
    my $c = Runs::Conn->new;
    $c->send('POST', '/mcp', [
        { jsonrpc => '2.0', id => 1, method => 'tools/call',
          params => { name => 'start_agent_session', arguments => { session_name => 'hr-wait', prompt => 'p' } } },
        { jsonrpc => '2.0', id => 2, method => 'tools/call',
          params => { name => 'get_agent_session_result', arguments => { session_name => 'hr-done' } } } ],
        { %$JSON_CT, 'Mcp-Session-Id' => $old });
    sleep 0.3;
    ok !$c->ready, 'the batch waits for its sync call';
    $run = claim($lid);
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'new answer' });
    my $r = $c->read(5);
    my %by = map { ($_->{id} // 'null') => $_ } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] };
    is_deeply [ map { $by{$_} && $by{$_}{result}{content}[0]{text} } 1, 2 ], ['new answer', 'old answer'],
              'both answered, each with its own text' or diag explain $r->{json};
    sleep 0.3;
    my $m = req('GET', '/metrics');
    like $m->{body}, qr/runs_held_requests\{zone="runs",kind="wait"\} 0\b/, 'no waiter left behind';
    # a request held in each worker: its next wake-up takes whatever its doorbell's queue has
    my @streams = map { my $s = Runs::Conn->new; $s->send('GET', '/events'); $s->read_head(5); $s } 1 .. 6;
    sleep 1.5;
    create_run(session_name => 'hr-after');
    $_->read_events(2, 2) for @streams;
    $_->close for @streams;
    my $ok = 0;
    for (1 .. 10) { $ok++ if req('GET', '/runs?limit=1')->{status} == 200 }
    is $ok, 10, 'the workers go on';
    is scalar(@{ Runs::error_log_lines(qr/exited on signal/) || [] }), 0, 'no worker died';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: initialize, versions, sessions, notifications, methods
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 2: malformed messages, batches, hostile bodies
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; client_max_body_size 1m; }
--- no_error_log
[alert]
[emerg]



=== TEST 3: every tool; sync calls answered by the run's end
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 4: held calls: across workers, the timeout, a client that leaves, a reload
--- http_config
    runs_zone runs 4m;
    runs_max_waits 1;
--- config
    location /runs { runs_api runs; add_header X-Worker $pid always; }
    location /launcher { runs_launcher_api runs; add_header X-Worker $pid always; }
    location /mcp { runs_mcp runs; runs_mcp_timeout 2s; add_header X-Worker $pid always; }
    location = /metrics { runs_metrics runs; }
--- no_error_log
[alert]
[emerg]



=== TEST 5: an Origin that is not this server's, a body that is not JSON
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; }


=== TEST 6: list_agent_blueprints: a runner that offers 100 agents
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 7: list_agent_blueprints: runners with a 4000-byte executor_type
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 8: list_agent_blueprints: a hostname with quotes and a backslash
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 9: a batch whose call cannot be held is answered at once, once
--- http_config
    runs_zone runs 4m;
    runs_max_waits 1;
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; runs_mcp_timeout 2s; }
--- no_error_log
[alert]
[emerg]



=== TEST 10: a batch with a sync call: every answer once its run ends
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 11: a long error in a tool result stays whole and valid UTF-8
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 12: delete_all_agent_sessions stops the live runs first
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 13: DNS rebinding: a Host that is not this server's
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 14: a batch cannot make the worker build answers out of proportion
--- config
    location /runs { runs_api runs; }
    location /mcp { runs_mcp runs; }



=== TEST 15: a batch with a held call and a finished session's result: the held call keeps its place
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /mcp { runs_mcp runs; }
    location = /metrics { runs_metrics runs; }
    location /events { runs_events_api runs; }
