# Agent blueprints end to end: the coordinator's registry (runs_agents_api,
# filled with runsctl agents from the folders of t/blueprints/), a real
# agent-runner with agent-executor-claude and the stand-in claude
# (t/stand-ins/claude, whose result says what it was given).
#
# A run whose agent names a registry blueprint carries it in its claim;
# the runner hands it to the executor in the payload ("blueprint"); the
# executor gives claude its system prompt, its settings and its MCP
# servers with the placeholders replaced (${AGENT_SESSION_NAME},
# ${AGENT_SESSION_ID}, ${AGENT_ORCHESTRATOR_API_URL}, a variable of its
# environment, ${NAME:-default}); a blueprint's own server for the
# coordinator, a placeholder in its URL too, is the one claude calls, with
# the session's header (a child started through it is the session's).  An
# inactive blueprint's runs are refused at creation (422).  On a runner's
# host a folder of its agents dir wins over the registry; a folder in the
# reference's format runs as it is, one in this product's format too, one
# with an unknown key fails naming it; a folder with .disabled refuses
# the run and is not offered at registration; a placeholder whose
# variable is not set fails the run naming it.
#
# The binaries are $TEST_RUNS_BIN/{agent-runner,agent-executor-claude,
# agent-executor-echo,runsctl} (build.sh: build/asan); every flow fails if
# one printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl no_sanitizer_reports);
use RunsRunner;
use RunsClaude;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use File::Copy ();
use JSON::PP ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

$Runs::DEFAULT_CONFIG .= "    location /agents { runs_agents_api runs; }\n"
                       . "    location /mcp { runs_mcp runs; }\n";

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $BP = "$FindBin::Bin/blueprints";
my $J = JSON::PP->new->canonical;

# runsctl agents ..., which must succeed
sub agents_ok {
    my (@args) = @_;
    my $r = runsctl(['agents', @args]);
    diag "runsctl agents @args: exit $r->{rc}: $r->{err}" if $r->{rc} != 0;
    return $r->{rc} == 0;
}

# an agents dir holding copies of the folders @names of t/blueprints
sub agents_dir {
    my (@names) = @_;
    my $dir = File::Temp->newdir('agents-XXXXXX', TMPDIR => 1);
    for my $n (@names) {
        mkdir "$dir/$n" or die "$dir/$n: $!\n";
        opendir my $d, "$BP/$n" or die "$BP/$n: $!\n";
        for my $f (grep { -f "$BP/$n/$_" } readdir $d) {
            File::Copy::copy("$BP/$n/$f", "$dir/$n/$f") or die "copy $f: $!\n";
        }
        closedir $d;
    }
    return $dir;
}

# a line of the stand-in's result
sub line_of {
    my ($run, $what) = @_;
    my ($v) = ($run->{result} // '') =~ /^\Q$what\E: (.*)$/m;
    return $v // '';
}

sub argv_of { Runs::jdec(line_of($_[0], 'argv')) || [] }

# the coordinator's MCP server as the executor adds it, for session $name
sub orchestrator {
    my ($name) = @_;
    return ('agent-orchestrator' => { type => 'http', url => coordinator_url() . '/mcp',
                                      headers => { 'X-Agent-Session-Name' => $name } });
}

# researcher's MCP servers (t/blueprints/researcher/agent.mcp.json) with
# the placeholders replaced for session $name ($sid), BP_DOCS_TOKEN tok-7
sub researcher_servers {
    my ($name, $sid) = @_;
    return (notes => { type => 'stdio', command => 'notes-mcp', args => ['--session', $name],
                       env => { NOTES_SESSION_ID => $sid,
                                NOTES_RUNS_API => coordinator_url() } },
            docs => { type => 'http', url => 'http://docs.example.invalid/mcp',
                      headers => { 'X-Agent-Session-Name' => $name, 'X-Docs-Token' => 'tok-7',
                                   'X-Docs-Team' => 'everyone' } });
}

runner_flow 'a registry blueprint reaches claude: system prompt, MCP servers with placeholders replaced, settings; its own server for the coordinator is the one claude calls', 16, sub {
    ok agents_ok('import', "$BP/researcher"), 'researcher imported from its folder';
    my $r = Runs::req('POST', '/agents', {
        name => 'api-made', description => 'Made through the API',
        system_prompt => "Delegate.\n", model => 'opus', permission_mode => 'plan',
        allowed_tools => ['Read', 'mcp__agent-orchestrator-http'], disallowed_tools => ['Bash'],
        max_turns => 7,
        mcp_servers => { 'agent-orchestrator-http' => {
            type => 'http', url => 'http://${BP_MCP_HOST}/mcp',
            headers => { 'X-Agent-Session-Name' => '${AGENT_SESSION_NAME}' } } } });
    is $r->{status}, 201, 'api-made created through the API';

    my $agents = agents_dir();          # no folder: the registry's
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj,
                                env => { BP_DOCS_TOKEN => 'tok-7', BP_DOCS_TEAM => undef,
                                         BP_MCP_HOST => '127.0.0.1:' . Runs::port() });
    my $lid = runner_launcher($h);
    ok $lid && launcher_info($lid) && !@{ launcher_info($lid)->{agents} || [1] },
        'a runner with the claude executor and no blueprint folder (it offers no agent)';

    my ($id) = create_run(session_name => 'bp-res', agent_name => 'researcher',
                          prompt => 'Find the release notes');
    my $run = wait_terminal($id, 20) || {};
    my $sid = $run->{session_id} // '';
    is $run->{status}, 'completed', 'researcher: completed' or diag explain $run, log_of($id);
    like $run->{result} // '', qr/^system prompt: You are the researcher\. Look things up before you answer, and cite\nevery source by its title\.\nmcp config: /m,
        'the registry\'s system prompt appended';
    is line_of($run, 'mcp json'),
        $J->encode({ mcpServers => { researcher_servers('bp-res', $sid), orchestrator('bp-res') } }),
        'its MCP servers, every placeholder replaced (session name and id, the API URL, '
        . 'a variable, a default), with the coordinator\'s';
    like log_of($id), qr/^agent-executor-claude: agent "researcher": the coordinator's blueprint \(no folder in \Q$agents\E\)\n(?:.*\n)*?agent-executor-claude: 6 placeholders replaced in the MCP servers of the coordinator's blueprint$/m,
        'the log says whose blueprint, and what was replaced';

    my ($id2) = create_run(type => 'resume_session', session_name => 'bp-res', prompt => 'More');
    $run = wait_terminal($id2, 20) || {};
    ok $run->{status} eq 'completed' && line_of($run, 'session') eq "$sid resumed"
       && line_of($run, 'system prompt') =~ /^You are the researcher/
       && line_of($run, 'mcp json') =~ /"NOTES_SESSION_ID":"\Q$sid\E"/,
       'a resume: the blueprint again' or diag explain $run;

    # settings, and a server of its own whose URL has a placeholder: claude
    # calls it with the session's header, and the child is the session's
    my ($id3) = create_run(session_name => 'bp-api', agent_name => 'api-made',
                           prompt => "Hand it on\nmcp: start_agent_session "
                                     . '{"session_name": "bp-kid", "prompt": "Hello", '
                                     . '"async_mode": true, "callback": true}');
    $run = wait_terminal($id3, 20) || {};
    is $run->{status}, 'completed', 'api-made: completed' or diag explain $run, log_of($id3);
    my $argv = join ' ', @{ argv_of($run) };
    ok line_of($run, 'model') eq 'opus' && line_of($run, 'permission mode') eq 'plan'
       && line_of($run, 'max turns') eq '7'
       && line_of($run, 'allowed tools') eq 'Read mcp__agent-orchestrator-http'
       && line_of($run, 'disallowed tools') eq 'Bash' && $argv =~ /--append-system-prompt Delegate\. /,
       'its settings: --model, --permission-mode, --max-turns, --allowedTools, --disallowedTools'
       or diag $run->{result};
    is line_of($run, 'mcp json'), $J->encode({ mcpServers => { 'agent-orchestrator-http' => {
           type => 'http', url => coordinator_url() . '/mcp',
           headers => { 'X-Agent-Session-Name' => 'bp-api' } } } }),
       'its own server for the coordinator, placeholders replaced, nothing added';
    like $run->{result} // '', qr/^tool start_agent_session: .*bp-kid/m,
        'claude called start_agent_session through it';
    my $kid = Runs::req('GET', '/sessions/by-name/bp-kid');
    is((($kid->{json} || {})->{session} || {})->{parent_session_name}, 'bp-api',
       'the child is the session\'s (the header reached the coordinator)');
    # the child's run and the callback resume of bp-api end here
    my $done = Runs::wait_for(20, sub {
        my $runs = list_runs('session_name=bp-api&limit=10') || [];
        @$runs == 2 && !grep { $_->{status} !~ /^(completed|failed|stopped)$/ } @$runs;
    });
    ok $done, 'the callback resumed bp-api, and it ended';
    logs_clean_ok($id, $id2, $id3);
};

runner_flow 'the runner hands the registry blueprint to its executor in the payload', 5, sub {
    ok agents_ok('import', "$BP/researcher"), 'researcher imported';
    my $dir = File::Temp->newdir('echo-XXXXXX', TMPDIR => 1);
    my $agents = agents_dir();
    my $h = start_runner(args => ['--agents-dir', "$agents"]);
    ok runner_launcher($h), 'a runner with the echo executor';
    my $want = Runs::req('GET', '/agents/researcher')->{json} || {};
    delete @$want{qw(status created_at modified_at)};
    my @p;
    for my $a ('researcher', 'nobody', undef) {
        my ($id) = create_run(defined $a ? (agent_name => $a) : (),
                              prompt => "out=$dir/out.jsonl");
        wait_terminal($id, 15);
    }
    open my $in, '<', "$dir/out.jsonl" or die "$dir/out.jsonl: $!\n";
    @p = map { (Runs::jdec($_) || {})->{payload} || {} } <$in>;
    close $in;
    is_deeply $p[0]{blueprint}, $want,
        'a registry blueprint\'s run: "blueprint" in the payload, the registry\'s own'
        or diag explain \@p;
    ok @p == 3 && !exists $p[1]{blueprint} && !exists $p[2]{blueprint},
        'an agent the registry has not, and no agent: no "blueprint"' or diag explain \@p;
};

runner_flow 'an inactive blueprint: its runs are refused at creation with 422', 7, sub {
    ok agents_ok('import', "$BP/plain", "$BP/retired"), 'plain and retired imported';
    my $r = Runs::req('POST', '/runs', { type => 'start_session', session_name => 'bp-ret',
                                         prompt => 'hi', agent_name => 'retired' });
    ok $r->{status} == 422
       && ($r->{json} || {})->{detail} =~ /^Agent blueprint 'retired' is inactive: activate it/,
       'a start of retired (.disabled: inactive): 422' or diag explain $r;
    my ($id) = create_run(session_name => 'bp-plain', agent_name => 'plain', prompt => 'hi');
    ok $id, 'plain is active: its run is taken';
    ok agents_ok('disable', 'plain'), 'plain disabled';
    $r = Runs::req('POST', '/runs', { type => 'resume_session', session_name => 'bp-plain',
                                      prompt => 'again' });
    is $r->{status}, 422, 'a resume of its session: 422 too';
    my $c = runsctl(['start', 'bp-other', 'hi', '--agent', 'plain']);
    ok $c->{rc} == 1 && $c->{err} =~ /'plain' is inactive.*\(HTTP 422\)/,
        'runsctl start: exit 1 with the detail' or diag explain $c;
};

runner_flow 'on its host a folder wins over the registry; folders in the reference\'s format and the product\'s run; an unknown key fails; registration lists folders by name, not .disabled ones', 12, sub {
    # the registry's researcher, different from the folder's
    ok Runs::req('POST', '/agents', { name => 'researcher', description => 'registry',
                                      system_prompt => 'REGISTRY PROMPT', model => 'haiku' })
       ->{status} == 201, 'a registry blueprint researcher';
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $BP, project => $proj,
                                env => { BP_DOCS_TOKEN => 'tok-7', BP_DOCS_TEAM => undef });
    my $lid = runner_launcher($h);
    is_deeply +(launcher_info($lid) || {})->{agents},
        ['coder-own', 'orchestrator', 'plain', 'researcher', 'typo'],
        'registration: the folders by name, sorted; retired (.disabled) not offered';

    my ($id) = create_run(session_name => 'bp-local', agent_name => 'researcher', prompt => 'Hi');
    my $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'completed' && line_of($run, 'system prompt') =~ /^You are the researcher/
       && line_of($run, 'model') eq 'default',
       'the folder\'s blueprint, not the registry\'s' or diag explain $run;
    is line_of($run, 'mcp json'),
        $J->encode({ mcpServers => { researcher_servers('bp-local', $run->{session_id} // ''),
                                     orchestrator('bp-local') } }),
        'the folder\'s agent.mcp.json, placeholders replaced';
    like log_of($id), qr/^agent-executor-claude: agent "researcher": the blueprint of its folder \Q$BP\E\/researcher \(on this host, it wins over the coordinator's\)$/m,
        'the log says the folder won';

    ($id) = create_run(session_name => 'bp-orch', agent_name => 'orchestrator', prompt => 'Plan');
    $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'completed'
       && line_of($run, 'system prompt') =~ /^You are the orchestrator\. Split the task/
       && line_of($run, 'mcp json') eq $J->encode({ mcpServers => { 'agent-orchestrator-http' => {
              type => 'http', url => 'http://localhost:9500/mcp',
              headers => { 'X-Agent-Session-Name' => 'bp-orch' } } } }),
       'a reference-format folder: agent.system-prompt.md, agent.mcp.json with '
       . '${AGENT_SESSION_NAME} replaced' or diag explain $run;
    like log_of($id), qr/MCP server "agent-orchestrator-http" of the blueprint reaches the coordinator: "agent-orchestrator" not added/,
        'its own server for the coordinator kept, none added';

    ($id) = create_run(session_name => 'bp-own', agent_name => 'coder-own', prompt => 'Code');
    $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'completed' && line_of($run, 'model') eq 'sonnet'
       && line_of($run, 'permission mode') eq 'acceptEdits' && line_of($run, 'max turns') eq '30'
       && line_of($run, 'allowed tools') eq 'Read Edit Bash(make test:*) mcp__agent-orchestrator'
       && line_of($run, 'system prompt') eq 'You are the coder. Keep changes small and run the tests.'
       && line_of($run, 'mcp json') eq $J->encode({ mcpServers => {
              files => { command => 'files-mcp', args => ['--root', '.'] },
              orchestrator('bp-own') } }),
       'a folder in the product\'s format: its settings, prompt and servers' or diag explain $run;

    ($id) = create_run(session_name => 'bp-typo', agent_name => 'typo', prompt => 'Hi');
    $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /^agent-executor-claude: agent "typo": \Q$BP\E\/typo\/agent\.json: unknown key "modle" \(known: name, description, tags, skills, model, permission_mode, allowed_tools, disallowed_tools, max_turns\)\z/m,
       'an unknown key: the run fails naming the file and the key' or diag explain $run;

    # retired is active in the registry: its run goes to any runner, this
    # one among them, where the local folder (.disabled) wins
    ok Runs::req('POST', '/agents', { name => 'retired', description => 'active here' })
       ->{status} == 201, 'retired active in the registry';
    my ($w) = create_run(session_name => 'bp-wait', agent_name => 'retired', prompt => 'Hi');
    $run = wait_terminal($w, 20) || {};
    like $run->{error} // '', qr/agent "retired" is disabled on this host/,
         'a registry run goes to this runner too, whose own .disabled folder wins';
};

runner_flow 'a .disabled folder refuses the run; a placeholder whose variable is not set fails it', 7, sub {
    ok Runs::req('POST', '/agents', { name => 'retired', description => 'active here' })
       ->{status} == 201 && agents_ok('import', "$BP/researcher"),
       'retired (active) and researcher in the registry';
    my $agents = agents_dir('retired');
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj,
                                env => { BP_DOCS_TOKEN => undef });
    my $lid = runner_launcher($h);
    is_deeply +(launcher_info($lid) || {})->{agents}, [],
        'an agents dir whose only folder has .disabled: no agent offered';

    my ($id) = create_run(session_name => 'bp-dis', agent_name => 'retired', prompt => 'Hi');
    my $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /^agent-executor-claude: agent "retired" is disabled on this host: \Q$agents\E\/retired\/\.disabled is there \(remove it to run the agent\)\z/m,
       'a .disabled folder refuses the run, though the registry\'s is active' or diag explain $run;
    unlike log_of($id), qr/^stand-in claude|^claude: session/m, 'claude was not run';

    ($id) = create_run(session_name => 'bp-unset', agent_name => 'researcher', prompt => 'Hi');
    $run = wait_terminal($id, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /^agent-executor-claude: agent "researcher": the coordinator's blueprint: the MCP server "docs" names \$\{BP_DOCS_TOKEN\}, which is not set in the executor's environment \(\$\{BP_DOCS_TOKEN:-\} stands for an empty value\)\z/m,
       'an unset ${BP_DOCS_TOKEN}: the run fails naming it' or diag explain $run;
    logs_clean_ok($id);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a registry blueprint reaches claude: system prompt, MCP servers with placeholders replaced, settings; its own server for the coordinator is the one claude calls



=== TEST 2: the runner hands the registry blueprint to its executor in the payload



=== TEST 3: an inactive blueprint: its runs are refused at creation with 422



=== TEST 4: on its host a folder wins over the registry; folders in the reference's format and the product's run; an unknown key fails; registration lists folders by name, not .disabled ones



=== TEST 5: a .disabled folder refuses the run; a placeholder whose variable is not set fails it
