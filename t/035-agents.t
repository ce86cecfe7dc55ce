# runs_agents_api: the blueprint registry.  Each row of the API with its
# errors; bodies checked whole (unknown members, wrong types, MCP servers
# of either kind, sizes); hostile bodies (chunked, truncated, invalid
# UTF-8, huge); an inactive blueprint refuses new runs at once; a claimed
# run's answer carries its blueprint; the registry across a reload and a
# restart with its journal; list_agent_blueprints over MCP.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsJournal ();
use Test::More;
use Time::HiRes qw(sleep);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my %CODER = (
    name => 'coder', description => 'Writes and tests code',
    system_prompt => "You are careful.\nRun the tests.",
    mcp_servers => {
        fs  => { command => 'npx', args => ['-y', '@x/fs'], env => { ROOT => '/srv' } },
        orc => { type => 'http', url => 'http://localhost:8765/mcp',
                 headers => { 'X-Agent-Session-Name' => '${AGENT_SESSION_NAME}' } },
    },
    skills => ['pdf', 'docx'], tags => ['python', 'linux'],
    model => 'sonnet', permission_mode => 'acceptEdits',
    allowed_tools => ['Read', 'Bash(git diff:*)'], max_turns => 30,
);

sub restart { RunsJournal::nginx_down('quit') && RunsJournal::nginx_up() }

flow 'create, get, list by tags, update, status, delete', 22, sub {
    my $r = req('POST', '/agents', \%CODER);
    is $r->{status}, 201, 'POST /agents: 201';
    my $a = $r->{json};
    is_deeply [ @$a{qw(name description status)} ], ['coder', 'Writes and tests code', 'active'],
              'the blueprint, active';
    is_deeply $a->{tags}, ['linux', 'python'], 'its tags, sorted';
    is_deeply [ $a->{mcp_servers}, $a->{skills}, $a->{max_turns}, $a->{allowed_tools} ],
              [ $CODER{mcp_servers}, ['pdf', 'docx'], 30, $CODER{allowed_tools} ],
              'its MCP servers, skills and settings as given';
    like $a->{created_at}, qr/^\d{4}-\d\d-\d\dT/, 'created_at';
    is $a->{modified_at}, $a->{created_at}, 'modified_at the same';
    is_deeply req('GET', '/agents/coder')->{json}, $a, 'GET /agents/coder: the same';
    $r = req('POST', '/agents', \%CODER);
    is_deeply [ $r->{status}, $r->{json}{detail} ], [409, 'Agent already exists: coder'], 'again: 409';
    req('POST', '/agents', { name => 'reviewer', description => 'Reviews', tags => ['python'] });
    req('POST', '/agents', { name => 'alpha', description => 'First' });
    $r = req('GET', '/agents');
    is_deeply [ map { $_->{name} } @{ $r->{json} } ], [qw(alpha coder reviewer)], 'GET /agents: an array, by name';
    ok !exists $r->{json}[0]{system_prompt}, 'members it does not have are left out';
    is_deeply [ map { $_->{name} } @{ req('GET', '/agents?tags=python')->{json} } ], [qw(coder reviewer)],
              '?tags=python';
    is_deeply [ map { $_->{name} } @{ req('GET', '/agents?tags=python,linux')->{json} } ], ['coder'],
              '?tags=python,linux: every tag';
    is_deeply req('GET', '/agents?tags=go')->{json}, [], '?tags=go: none';
    sleep 0.01;
    $r = req('PATCH', '/agents/coder', { description => 'Codes', skills => [], system_prompt => undef,
                                         mcp_servers => {} });
    is $r->{status}, 200, 'PATCH: 200';
    is_deeply [ $r->{json}{description}, exists $r->{json}{skills}, $r->{json}{system_prompt},
                exists $r->{json}{mcp_servers}, $r->{json}{max_turns} ],
              ['Codes', '', $CODER{system_prompt}, '', 30],
              'what it names changes: empty clears, null keeps, the rest stays';
    cmp_ok $r->{json}{modified_at}, 'gt', $a->{modified_at}, 'modified_at moves';
    $r = req('PATCH', '/agents/coder/status', { status => 'inactive' });
    is_deeply [ $r->{status}, $r->{json}{status} ], [200, 'inactive'], 'status inactive';
    is req('GET', '/agents/coder')->{json}{status}, 'inactive', 'and so it stays';
    $r = req('PATCH', '/agents/coder/status', { status => 'active' });
    is $r->{json}{status}, 'active', 'active again';
    $r = req('DELETE', '/agents/alpha');
    is_deeply [ $r->{status}, $r->{body} ], [204, ''], 'DELETE: 204';
    $r = req('GET', '/agents/alpha');
    is_deeply [ $r->{status}, $r->{json}{detail} ], [404, 'Agent not found: alpha'], 'then 404';
    is req('DELETE', '/agents/alpha')->{status}, 404, 'DELETE again: 404';
};

flow 'bodies checked whole: every wrong one refused, nothing half-applied', 24, sub {
    my @bad = (
        [ {}, qr/'name' is required/ ],
        [ { name => 'x' }, qr/'description' is required/ ],
        [ { name => 'x', description => '' }, qr/'description' is required/ ],
        [ { name => 'bad name', description => 'd' }, qr/'name' must be 1-60 characters/ ],
        [ { name => 'x' x 61, description => 'd' }, qr/'name' must be 1-60/ ],
        [ { name => 'x', description => 'd', colour => 'red' }, qr/unknown member 'colour'/ ],
        [ { name => 'x', description => 5 }, qr/'description' must be a string/ ],
        [ { name => 'x', description => 'd', tags => 'linux' }, qr/'tags'/ ],
        [ { name => 'x', description => 'd', tags => ['a b'] }, qr/'tags'/ ],
        [ { name => 'x', description => 'd', skills => [1] }, qr/'skills'/ ],
        [ { name => 'x', description => 'd', max_turns => 0 }, qr/'max_turns' must be an integer from 1/ ],
        [ { name => 'x', description => 'd', max_turns => '5' }, qr/'max_turns'/ ],
        [ { name => 'x', description => 'd', allowed_tools => 'Read' }, qr/'allowed_tools' must be an array/ ],
        [ { name => 'x', description => 'd', allowed_tools => [''] }, qr/'allowed_tools'/ ],
        [ { name => 'x', description => 'd', mcp_servers => [] }, qr/'mcp_servers' must be an object/ ],
        [ { name => 'x', description => 'd', mcp_servers => { 'a b' => { command => 'c' } } }, qr/name each server/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { type => 'http' } } }, qr/needs "url"/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { type => 'http', url => 'ftp://x' } } }, qr/needs "url"/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { type => 'http', url => 'http://x', command => 'c' } } }, qr/nothing else/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { args => [] } } }, qr/needs "command"/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { command => 'c', env => { A => 1 } } } }, qr/strings/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { type => 'sse', url => 'http://x' } } }, qr/not http or stdio/ ],
        [ { name => 'x', description => 'd', mcp_servers => { a => { command => 'c', cwd => '/' } } }, qr/unknown member 'cwd'/ ],
    );
    my @wrong;
    for my $b (@bad) {
        my $r = req('POST', '/agents', $b->[0]);
        push @wrong, Runs::jenc($b->[0]) . " => $r->{status} " . ($r->{json}{detail} // $r->{body})
            if $r->{status} != 422 || ($r->{json}{detail} // '') !~ $b->[1];
    }
    is_deeply \@wrong, [], scalar(@bad) . ' bodies refused with 422, each naming what is wrong';
    is_deeply req('GET', '/agents')->{json}, [], 'and none was kept';
    req('POST', '/agents', { name => 'keep', description => 'd', tags => ['a'] });
    my $r = req('PATCH', '/agents/keep', { description => '', tags => ['b'] });
    is $r->{status}, 422, 'PATCH emptying the description: 422';
    $r = req('PATCH', '/agents/keep', { name => 'other' });
    like $r->{json}{detail}, qr/'name' cannot be changed/, 'PATCH of the name: 422';
    $r = req('PATCH', '/agents/keep', { tags => ['b'], bogus => 1 });
    is $r->{status}, 422, 'PATCH with an unknown member: 422';
    is_deeply req('GET', '/agents/keep')->{json}{tags}, ['a'], 'nothing half-applied';
    $r = req('POST', '/agents', { name => 'ph', description => 'd', max_turns => 3,
                                  mcp_servers => { o => { type => 'http', url => '${ORC_URL}/mcp' } } });
    is $r->{status}, 201, 'a URL that begins with a placeholder is taken';
    $r = req('PATCH', '/agents/ph', { max_turns => '', name => 'ph' });
    ok $r->{status} == 200 && !exists $r->{json}{max_turns}, 'max_turns cleared by "" (its own name taken)';
    $r = req('PATCH', '/agents/keep/status', { status => 'paused' });
    like $r->{json}{detail}, qr/'status' must be 'active' or 'inactive'/, 'a status that is not one: 422';
    $r = req('PATCH', '/agents/nobody/status', { status => 'active' });
    is $r->{status}, 404, 'the status of no blueprint: 404';
    $r = req('PATCH', '/agents/nobody', { description => 'x' });
    is $r->{status}, 404, 'PATCH of no blueprint: 404';
    $r = req('POST', '/agents', "{\"name\":\"u\",\"description\":\"\xff\"}");
    is $r->{status}, 400, 'invalid UTF-8: 400';
    $r = req('POST', '/agents', '{"name":"u","description":"d"');
    is $r->{status}, 400, 'a truncated body: 400';
    $r = req('POST', '/agents', '[1]');
    is $r->{status}, 422, 'an array: 422';
    $r = req('POST', '/agents', { name => 'big', description => 'd', system_prompt => 'x' x 70000 });
    is $r->{status}, 413, 'beyond runs_blueprint_max (64k here): 413';
    like $r->{json}{detail}, qr/more than runs_blueprint_max \(65536\)/, 'saying so';
    $r = req('POST', '/agents', { name => 'big', description => 'd', system_prompt => 'x' x 60000 });
    is $r->{status}, 201, 'within it: made';
    my $c = Runs::Conn->new;
    my $body = '{"name":"chunky","description":"sent in pieces"}';
    $c->send_raw("POST /agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 . sprintf("%x\r\n%s\r\n", 10, substr($body, 0, 10))
                 . sprintf("%x\r\n%s\r\n0\r\n\r\n", length($body) - 10, substr($body, 10)), 'POST');
    is $c->read(5)->{status}, 201, 'a chunked body';
    $r = req('GET', '/agents?tags=a"b');
    is $r->{status}, 422, '?tags= that are not names: 422';
    $r = req('PUT', '/agents/keep', {});
    is $r->{status}, 405, 'PUT: 405';
    like $r->{headers}{allow}, qr/PATCH/, 'Allow names PATCH';
    $r = req('GET', '/agents/' . ('%ff' x 10));
    is $r->{status}, 404, 'a name of invalid UTF-8 in the path: 404';
    $r = req('GET', '/agents/keep/status');
    is $r->{status}, 405, 'GET of status: 405';
    is scalar @{ req('GET', '/agents')->{json} }, 4, 'four blueprints made in all';
};

flow 'an inactive blueprint refuses runs at once; a claimed run carries its blueprint', 9, sub {
    req('POST', '/agents', { name => 'writer', description => 'Writes', system_prompt => 'Be brief.',
                             mcp_servers => { w => { type => 'http', url => 'http://w/mcp' } },
                             model => 'haiku' });
    req('PATCH', '/agents/writer/status', { status => 'inactive' });
    my ($id, $r) = create_run(session_name => 'w1', agent_name => 'writer');
    is_deeply [ $r->{status}, $r->{json}{detail} ],
              [422, "Agent blueprint 'writer' is inactive: activate it (PATCH /agents/writer/status) or name another agent"],
              'a run of an inactive blueprint: 422 at once';
    req('PATCH', '/agents/writer/status', { status => 'active' });
    ($id) = create_run(session_name => 'w1', agent_name => 'writer');
    ok $id, 'active again: the run is made';
    my $lid = register_launcher(agents => ['writer']);
    my $run = claim($lid);
    is_deeply $run->{blueprint}, { name => 'writer', description => 'Writes', system_prompt => 'Be brief.',
                                   mcp_servers => { w => { type => 'http', url => 'http://w/mcp' } },
                                   model => 'haiku' },
              'the claim answers the run with its blueprint';
    ok !exists get_run($id)->{blueprint}, 'a run read by a client does not carry it';
    req('PATCH', '/agents/writer/status', { status => 'inactive' });
    ($id, $r) = create_run(session_name => 'w1', type => 'resume_session', prompt => 'more');
    is $r->{status}, 422, 'a resume of a session whose agent is inactive: 422';
    req('PATCH', '/agents/writer/status', { status => 'active' });
    my ($other) = create_run(session_name => 'w2', agent_name => 'unlisted');
    ok $other, 'an agent the registry does not hold: the run is made (and waits for a runner)';
    launcher_event($run->{run_id}, 'started', { launcher_id => $lid });
    launcher_event($run->{run_id}, 'completed', { launcher_id => $lid, result => 'ok' });
    ($id) = create_run(session_name => 'w1', type => 'resume_session', prompt => 'more');
    $run = claim($lid);
    is $run->{run_id}, $id, 'its resume claimed';
    is $run->{blueprint}{name}, 'writer', 'with the blueprint too';
    my $elsewhere = register_launcher(agents => ['someone-else']);
    ($id) = create_run(session_name => 'w3', agent_name => 'writer');
    is Runs::claimed_by($elsewhere), $id,
       'a runner that lists other agents takes a registry blueprint\'s run too';
};

flow 'the registry across a reload and restarts with its journal; over MCP', 8, sub {
    req('POST', '/agents', \%CODER);
    req('POST', '/agents', { name => 'old', description => 'Gone soon' });
    req('PATCH', '/agents/coder/status', { status => 'inactive' });
    my $before = req('GET', '/agents')->{json};
    my $pid = `cat ${\ Runs::server_root()}/logs/nginx.pid`;
    chomp $pid;
    kill 'HUP', $pid;
    sleep 1;
    is_deeply req('GET', '/agents')->{json}, $before, 'after a reload: the same';
    ok restart(), 'nginx restarted';
    is_deeply req('GET', '/agents')->{json}, $before, 'after a restart: the same, from the journal';
    req('DELETE', '/agents/old');
    req('PATCH', '/agents/coder', { description => 'Codes again' });
    my $after = req('GET', '/agents')->{json};
    ok restart(), 'restarted again';
    is_deeply req('GET', '/agents')->{json}, $after, 'a deletion and an update kept too';

    my $c = Runs::conn();
    my $r = $c->request('POST', '/mcp', { jsonrpc => '2.0', id => 1, method => 'initialize',
                                         params => { protocolVersion => '2025-06-18' } },
                        { 'Content-Type' => 'application/json' });
    my $sid = $r->{headers}{'mcp-session-id'};
    register_launcher(agents => ['coder', 'local']);
    my $list_agents = sub {
        my $x = $c->request('POST', '/mcp', { jsonrpc => '2.0', id => 2, method => 'tools/call',
                                             params => { name => 'list_agent_blueprints', arguments => {} } },
                            { 'Content-Type' => 'application/json', 'Mcp-Session-Id' => $sid });
        my $list = Runs::jdec($x->{json}{result}{content}[0]{text});
        return ($list, { map { ($_->{name} => $_) } @{ $list->{agents} || [] } });
    };
    my ($list, $by) = $list_agents->();
    is_deeply [ $list->{total}, @{ $by->{coder} }{qw(description active source runners)},
                @{ $by->{local} }{qw(active source runners)} ],
              [2, 'Codes again', Runs::jfalse(), 'registry', 0, Runs::jtrue(), 'runner', 1],
              'list_agent_blueprints: the registry\'s, with description and status (inactive: no runner takes it), and a runner\'s own';
    is_deeply $by->{coder}{tags}, ['linux', 'python'], 'with their tags';
    req('PATCH', '/agents/coder/status', { status => 'active' });
    register_launcher(agents => ['someone-else']);
    ($list, $by) = $list_agents->();
    is_deeply [ map { $by->{$_}{runners} } qw(coder local someone-else) ], [2, 1, 1],
              'an active blueprint: every runner online takes its runs; a runner\'s own: those that list it';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: create, get, list by tags, update, status, delete
--- config
    location /runs { runs_api runs; }
    location /agents { runs_agents_api runs; }



=== TEST 2: bodies checked whole: every wrong one refused, nothing half-applied
--- http_config
    runs_zone runs 4m;
    runs_blueprint_max 64k;
--- config
    location /runs { runs_api runs; }
    location /agents { runs_agents_api runs; client_max_body_size 1m; }
--- no_error_log
[alert]
[emerg]



=== TEST 3: an inactive blueprint refuses runs at once; a claimed run carries its blueprint
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /agents { runs_agents_api runs; }



=== TEST 4: the registry across a reload and restarts with its journal; over MCP
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /agents { runs_agents_api runs; }
    location /mcp { runs_mcp runs; }
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[emerg]
