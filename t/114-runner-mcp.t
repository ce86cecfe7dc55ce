# Agents calling agents through MCP, end to end: a real nginx with
# runs_mcp, a real agent-runner with agent-executor-claude and the
# stand-in claude (t/stand-ins/claude), which calls the tools of the
# --mcp-config server "agent-orchestrator" the executor wrote, as claude
# does, when its prompt has a line "mcp: TOOL {arguments}".
#
# The runner gives its executors the MCP endpoint (AGENT_ORCHESTRATOR_MCP_URL:
# its --url and /mcp, --mcp-url, AGENT_MCP_URL).  A parent's agent starts a
# child with async_mode and callback: the child is the parent's (from the
# X-Agent-Session-Name header of the executor's config), runs, and its end
# resumes the parent with its answer (docs/CALLBACKS.md).  A sync start
# holds the parent's tool call until the child's run ends: the parent's
# answer has the child's.  The example blueprint (docs/examples/agents/coder)
# is the agent on both sides.
#
# The binaries are $TEST_RUNS_BIN/{agent-runner,agent-executor-claude,
# agent-executor-echo} (build.sh: build/asan); every flow fails if one
# printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
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

$Runs::DEFAULT_CONFIG .= "    location /mcp { runs_mcp runs; }\n";

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $ID = qr/run_[0-9a-f]{12}/;
my $EXAMPLE = "$FindBin::Bin/../docs/examples/agents/coder";

sub lines_of {
    my ($file) = @_;
    open my $in, '<', $file or return [];
    my @l = map { Runs::jdec($_) } <$in>;
    close $in;
    return \@l;
}

# the runs of a session, oldest first
sub runs_of { list_runs("session_name=$_[0]&limit=1000") }

sub session_of {
    my ($name) = @_;
    my $r = Runs::req('GET', "/sessions/by-name/$name");
    return $r->{status} == 200 ? $r->{json}{session} : undef;
}

# wait until session $name has $n runs, all ended: them, else undef
sub wait_runs {
    my ($name, $n, $timeout) = @_;
    return Runs::wait_for($timeout // 30, sub {
        my $runs = runs_of($name);
        return @$runs >= $n && !grep({ $_->{status} !~ /^(completed|failed|stopped)$/ } @$runs)
               ? $runs : undef;
    }, 0.1);
}

# the example blueprint "coder", but for its MCP server: none that
# starts a program (the stand-in starts none anyway)
sub example_agents {
    my $dir = File::Temp->newdir('agents-XXXXXX', TMPDIR => 1);
    mkdir "$dir/coder" or die "$dir/coder: $!\n";
    for my $f (qw(agent.json system-prompt.md)) {
        File::Copy::copy("$EXAMPLE/$f", "$dir/coder/$f") or die "$f: $!\n";
    }
    open my $m, '>', "$dir/coder/mcp.json" or die "$!\n";
    print {$m} '{"mcpServers": {"files": {"command": "/bin/cat"}}}' . "\n";
    close $m;
    return $dir;
}

# a prompt line of the stand-in: call TOOL with these arguments
sub mcp_line {
    my ($tool, %args) = @_;
    return "mcp: $tool " . JSON::PP->new->canonical->encode(\%args);
}

runner_flow 'the runner gives executors the MCP endpoint: its --url and /mcp, --mcp-url, AGENT_MCP_URL', 8, sub {
    my $d = File::Temp->newdir('runner-mcp-XXXXXX', TMPDIR => 1);
    my $url = coordinator_url();
    my $flag = 'https://mcp.example.invalid/agents/mcp';
    my $env = 'http://mcp-env.example.invalid/mcp';
    # one runner at a time, each taking the run made for it
    my @cases = (
        [default => "$url/mcp", 'AGENT_ORCHESTRATOR_MCP_URL: the coordinator\'s URL and /mcp'],
        [slash => "$url/mcp", 'a --url ending in slashes: the same, without them',
         url => "$url//"],
        [flag => $flag, '--mcp-url, over AGENT_MCP_URL',
         args => ['--mcp-url', $flag], env => { AGENT_MCP_URL => $env }],
        [env => $env, 'AGENT_MCP_URL', env => { AGENT_MCP_URL => $env }],
    );
    for my $c (@cases) {
        my ($k, $want, $title, %o) = @$c;
        my $h = start_runner(%o);
        runner_launcher($h);
        my ($id) = create_run(session_name => "mu-$k", prompt => "out=$d/$k.jsonl");
        wait_terminal($id, 20);
        is +(lines_of("$d/$k.jsonl")->[0] || {})->{AGENT_ORCHESTRATOR_MCP_URL}, $want, $title;
        like runner_log($h), qr/INFO agent-runner starting url=\S+ mcp_url=\Q$want\E /,
            'the runner\'s first log line names it' if $k eq 'flag';
        runner_stop($h);
    }

    my $bad = start_runner(args => ['--mcp-url', 'ftp://example.invalid/mcp']);
    is runner_wait($bad, 10), 2, '--mcp-url that is not http(s): exit status 2';
    like runner_log($bad), qr/^agent-runner: --mcp-url: 'ftp:\/\/example\.invalid\/mcp' is not an http:\/\/ or https:\/\/ URL$/m,
        'saying why';
};

runner_flow 'a parent\'s agent starts a child through MCP with async_mode and callback: the child is its, runs, and resumes it with its answer', 13, sub {
    my $agents = example_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner with the claude executor and the example blueprint';

    my ($p) = create_run(session_name => 'mc-lead', agent_name => 'coder', prompt =>
        "Plan the release\n" . mcp_line('start_agent_session', session_name => 'mc-kid',
            prompt => 'Check the changelog', agent_blueprint_name => 'coder',
            async_mode => JSON::PP::true, callback => JSON::PP::true) . "\n");
    my $run = wait_terminal($p, 30) || {};
    is $run->{status}, 'completed', 'the parent\'s run completed';
    like $run->{result} // '', qr/^tool start_agent_session: Session 'mc-kid' started in the background \(run $ID\)\. When it ends, your session is resumed with its answer\.$/m,
        'its agent called start_agent_session through the MCP server of its config: started'
        or diag $run->{result};
    like log_of($p), qr/^-> mcp__agent-orchestrator__start_agent_session: Check the changelog$/m,
        'the tool call is in its log';

    my $kids = wait_runs('mc-kid', 1) || [];
    my $k = $kids->[0] ? get_run($kids->[0]{run_id}) : {};
    ok +($k->{status} // '') eq 'completed' && ($k->{agent_name} // '') eq 'coder'
       && ($k->{result} // '') =~ /\Aprompt: Check the changelog\n/,
       'the child ran, as the agent asked (its prompt, its blueprint)' or diag explain $k;
    is +(session_of('mc-kid') || {})->{parent_session_name}, 'mc-lead',
       'the child\'s session has the parent: the caller\'s X-Agent-Session-Name';
    is $k->{parent_session_name}, 'mc-lead', 'and so has its run';
    like $k->{result} // '', qr/^mcp json: .*"X-Agent-Session-Name":"mc-kid"/m,
        'the child\'s own agent has the server too, as itself';

    my $runs = wait_runs('mc-lead', 2) || [];
    my ($cb) = grep { $_->{type} eq 'resume_session' } @$runs;
    $cb = $cb ? get_run($cb->{run_id}) : {};
    my $answer = $k->{result} // '';
    $answer .= "\n" if $answer !~ /\n\z/;
    is $cb->{prompt}, "[child session \"mc-kid\" run $k->{run_id} completed]\n$answer"
                      . "[end of run $k->{run_id}]\n",
       'the parent was resumed with the child\'s answer: a callback run' or diag explain $cb;
    ok $cb->{status} eq 'completed'
       && ($cb->{result} // '') =~ /^session: \Q$run->{session_id}\E resumed$/m,
       'the callback ran: the parent\'s agent resumed, the report its prompt'
       or diag explain $cb;
    is scalar(@{ runs_of('mc-lead') }), 2, 'two runs of the parent: its start and the callback';
    logs_clean_ok($p, $k->{run_id} // (), $cb->{run_id} // ());
};

runner_flow 'sync delegation through MCP: the parent\'s tool call waits for the child, whose answer is in the parent\'s', 10, sub {
    my $agents = example_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner (two executors at once: the parent waits while the child runs)';

    my ($p) = create_run(session_name => 'ms-lead', agent_name => 'coder', prompt => join "\n",
        'Delegate and wait',
        mcp_line('start_agent_session', session_name => 'ms-kid', prompt => 'Say forty-two slow=5'),
        mcp_line('resume_agent_session', session_name => 'ms-kid', prompt => 'And again'),
        mcp_line('start_agent_session', session_name => 'ms-kid', prompt => 'Twice'),
        mcp_line('start_agent_session', session_name => 'ms-cb', prompt => 'x',
                 callback => JSON::PP::true),
        '');
    my $run = wait_terminal($p, 60) || {};
    is $run->{status}, 'completed', 'the parent\'s run completed' or diag explain $run;
    my $r = $run->{result} // '';
    my $kids = runs_of('ms-kid');
    my ($k1, $k2) = map { scalar get_run($_->{run_id}) } @$kids;
    ok $k1 && $k1->{status} eq 'completed' && $k2 && $k2->{status} eq 'completed'
       && $k2->{type} eq 'resume_session' && @$kids == 2,
       'the child ran twice: the start and the resume' or diag explain $kids, $k1, $k2;
    my ($a1, $a2) = map { my $t = $_->{result} // ''; $t =~ s/\n\z//; $t } $k1 || {}, $k2 || {};
    ok $a1 ne '' && index($r, "tool start_agent_session: $a1\n") >= 0,
       'sync start: the parent\'s answer has the child\'s, whole' or diag $r;
    ok $a2 ne '' && index($r, "tool resume_agent_session: $a2\n") >= 0
       && $a2 =~ /^session: \Q$k1->{session_id}\E resumed$/m,
       'sync resume: the child\'s next answer, in the same session' or diag $r;
    like $r, qr/^tool start_agent_session \(error\): Session 'ms-kid' already exists: resume it with resume_agent_session, or choose another name$/m,
        'a start of a session that exists: the agent gets the tool\'s error';
    like $r, qr/^tool start_agent_session \(error\): Argument 'callback' needs 'async_mode': true/m,
        'a callback without async_mode: the tool\'s error';
    ok !defined((session_of('ms-kid') || {})->{parent_session_name})
       && @{ runs_of('ms-lead') } == 1,
       'a sync child has no parent, and the parent no callback';
    logs_clean_ok($p, map { $_->{run_id} } @$kids);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the runner gives executors the MCP endpoint: its --url and /mcp, --mcp-url, AGENT_MCP_URL



=== TEST 2: a parent's agent starts a child through MCP with async_mode and callback: the child is its, runs, and resumes it with its answer



=== TEST 3: sync delegation through MCP: the parent's tool call waits for the child, whose answer is in the parent's
