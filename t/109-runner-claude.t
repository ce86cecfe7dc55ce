# agent-runner with agent-executor-claude, the executor for Claude Code's
# CLI, pointed (CLAUDE_BIN) at t/stand-ins/claude, a stand-in that speaks
# claude's stream-json and says in its result what it was given.  A start
# runs claude with --session-id, a resume with --resume, both under the
# coordinator's session_id; the run's result is claude's final result
# text, its log the progress (text, tool calls, tool errors, stats); an
# agent_name applies the blueprint of that name from the runner's
# --agents-dir (system prompt, MCP configuration, tools, model); a run
# for an agent the runner does not list is not handed to it, one whose
# blueprint went after the runner listed it fails; an error result, a
# non-zero exit and a
# stream without a result fail it; a line that is not JSON is skipped; a
# stop reaches claude; the runner lists its agents at registration.
# claude's --mcp-config is a file of the run's own (mode 0600, removed
# when the run ends, stopped too) holding the blueprint's MCP servers and
# the coordinator's, "agent-orchestrator" (AGENT_ORCHESTRATOR_MCP_URL, the
# session in X-Agent-Session-Name), unless the blueprint has a server for
# the coordinator (then its servers are given alone, their placeholders
# replaced); an mcp.json that is not an MCP configuration fails the run.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use RunsClaude;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use File::Path ();
use JSON::PP ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

# an agents dir: coder (every file), reviewer (a system prompt only), and
# entries that are not agents
sub make_agents {
    my $dir = File::Temp->newdir('agents-XXXXXX', TMPDIR => 1);
    my $put = sub {
        my ($path, $text) = @_;
        open my $f, '>', "$dir/$path" or die "$dir/$path: $!\n";
        print {$f} $text;
        close $f;
    };
    mkdir "$dir/$_" for 'coder', 'reviewer', 'bad name', '.hidden', 'x' x 61;
    $put->('coder/system-prompt.md', "You are the coder. Keep changes small.\n");
    $put->('coder/mcp.json', '{"mcpServers":{"docs":{"command":"docs-mcp"}}}' . "\n");
    $put->('coder/agent.json', '{"model": "opus", "permission_mode": "acceptEdits", '
           . '"allowed_tools": ["Read", "Edit", "Bash(git diff:*)"], "max_turns": 12}');
    $put->('reviewer/system-prompt.md', "You review code.\n");
    $put->('notes.txt', "not an agent\n");
    return $dir;
}

# the argv the stand-in printed in its result
sub argv_of {
    my ($run) = @_;
    my ($j) = ($run->{result} // '') =~ /^argv: (.*)$/m;
    return defined $j ? Runs::jdec($j) : [];
}

# the "mcp json" line of the stand-in's result: the --mcp-config file it got
sub mcp_json_of {
    my ($run) = @_;
    my ($j) = ($run->{result} // '') =~ /^mcp json: (.*)$/m;
    return $j // '';
}

# {"mcpServers": {...}} as the stand-in prints it (compact, keys sorted)
sub mcp_json {
    my (%servers) = @_;
    return JSON::PP->new->canonical->encode({ mcpServers => \%servers });
}

# the coordinator's MCP server as the executor adds it, for session $name
sub orchestrator {
    my ($name, $url) = @_;
    return ('agent-orchestrator' => { type => 'http', url => $url // coordinator_url() . '/mcp',
                                      headers => { 'X-Agent-Session-Name' => $name } });
}

runner_flow 'a start runs claude with --session-id, a resume with --resume; the result and the log', 13, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner with the claude executor';

    my ($id) = create_run(session_name => 'cl-1', prompt => "Fix the login bug \x{e9}");
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'completed', 'start: completed' or diag explain $run, log_of($id);
    my $sid = $run->{session_id} // '';
    like $run->{result} // '', qr/\Aprompt: Fix the login bug \x{e9}\nsession: \Q$sid\E new\n/,
        'the result is claude\'s final result text (the prompt reached it on stdin)';
    my $argv = argv_of($run);
    is_deeply [@$argv[0 .. 5]],
        ['-p', '--output-format', 'stream-json', '--verbose', '--session-id', $sid],
        'claude -p --output-format stream-json --verbose --session-id <session_id>'
        or diag explain $argv;
    ok !grep({ /^--(append-system-prompt|model|allowedTools)$/ } @$argv)
       && $run->{result} =~ /^cwd: \Q$proj\E$/m
       && mcp_json_of($run) eq mcp_json(orchestrator('cl-1')),
       'no agent: plain claude, in the runner\'s project dir, the coordinator\'s MCP server its only one'
       or diag $run->{result};

    my $log = log_of($id);
    like $log, qr/^claude: session \Q$sid\E started \(model claude-stand-in-1, 7 tools; MCP servers: agent-orchestrator \(connected\)\)$/m,
        'log: the session';
    like $log, qr/^I'll look at the project first\.\n-> Bash: ls -la wc -l \*\n(?:.*\n)*?Done looking\.$/m,
        'log: the assistant\'s text and the tool call on one line';
    like $log, qr/^claude: success, 3 turns, 1\.2 s, \$0\.0123$/m, 'log: the final stats';
    unlike $log, qr/^prompt: /m, 'the result is not in the log';

    my ($id2) = create_run(type => 'resume_session', session_name => 'cl-1',
                           prompt => 'Now add a test');
    $run = wait_terminal($id2, 20) || {};
    is $run->{status}, 'completed', 'resume: completed' or diag log_of($id2);
    like $run->{result} // '', qr/\Aprompt: Now add a test\nsession: \Q$sid\E resumed\n/,
        'the same session, resumed';
    $argv = argv_of($run);
    ok +(join(' ', @$argv) =~ /--resume \Q$sid\E/) && !grep({ $_ eq '--session-id' } @$argv),
        '--resume <session_id>, no --session-id' or diag explain $argv;

};

runner_flow 'an agent_name applies its blueprint; a run for an agent the runner does not list waits; a blueprint gone fails the run', 11, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner';

    my ($id) = create_run(session_name => 'cl-coder', agent_name => 'coder', prompt => 'Refactor');
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'completed', 'coder: completed' or diag log_of($id);
    my $r = $run->{result} // '';
    ok $r =~ /^system prompt: You are the coder\. Keep changes small\.$/m
       && mcp_json_of($run) eq mcp_json(orchestrator('cl-coder'),
                                         docs => { command => 'docs-mcp' }),
       'system-prompt.md appended, mcp.json\'s servers given with the coordinator\'s' or diag $r;
    ok $r =~ /^allowed tools: Read Edit Bash\(git diff:\*\)$/m && $r =~ /^model: opus$/m
       && $r =~ /^permission mode: acceptEdits$/m && $r =~ /^max turns: 12$/m,
       'agent.json: allowed tools, model, permission mode, max turns' or diag $r;
    like log_of($id), qr/^agent-executor-claude: starting session \S+ as agent "coder" with /m,
        'the log names the agent';

    my ($id2) = create_run(type => 'resume_session', session_name => 'cl-coder',
                           prompt => 'Continue');
    $run = wait_terminal($id2, 20) || {};
    ok $run->{status} eq 'completed' && ($run->{result} // '') =~ /resumed\nsystem prompt: You are the coder/,
       'a resume inherits the agent: its blueprint again' or diag explain $run;

    my ($id3) = create_run(session_name => 'cl-rev', agent_name => 'reviewer', prompt => 'Review');
    $run = wait_terminal($id3, 20) || {};
    ok +($run->{result} // '') =~ /^system prompt: You review code\.\nmcp config: \S+\n(?:.*\n)*model: default$/m
       && mcp_json_of($run) eq mcp_json(orchestrator('cl-rev')),
       'a blueprint with a system prompt only (and the coordinator\'s MCP server)'
       or diag explain $run;

    # an agent no runner lists: the run is not handed to this runner
    my ($id4) = create_run(session_name => 'cl-nobody', agent_name => 'nobody', prompt => 'Hi');
    sleep 1.5;
    is status_of($id4), 'pending', 'a run for an agent the runner does not list waits, pending';

    # a blueprint gone after the runner listed it: its run fails, naming it
    File::Path::rmtree("$agents/reviewer");
    my ($id5) = create_run(session_name => 'cl-gone', agent_name => 'reviewer', prompt => 'Hi');
    $run = wait_terminal($id5, 20) || {};
    is $run->{status}, 'failed', 'an agent whose blueprint is gone: failed';
    like $run->{error} // '', qr/unknown agent "reviewer" \(looked in \Q$agents\E\)\z/,
        'with the error naming the agents dir';

};

runner_flow 'error results, exits and missing results fail the run; lines that are not JSON are skipped', 12, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner';

    my %want = (
        'error-result' => qr/claude's result is an error after 3 turns: API Error: 529 .*overloaded_error/,
        'max-turns'    => qr/claude's result is an error \(error_max_turns\) after 3 turns\z/,
        'exit=3'       => qr/stand-in claude: failing\n(?:.*\n)*agent-executor-claude: claude exited with status 3 without a result\z/,
        'no-result'    => qr/agent-executor-claude: claude ended without a result\z/,
    );
    my @ids;
    for my $w (sort keys %want) {
        my ($id) = create_run(prompt => "do it $w");
        push @ids, $id;
        my $run = wait_terminal($id, 20) || {};
        ok $run->{status} eq 'failed' && ($run->{error} // '') =~ $want{$w},
           "$w: failed, the reason last" or diag explain $run;
    }

    my ($g) = create_run(prompt => 'do it garbage tool-error');
    push @ids, $g;
    my $run = wait_terminal($g, 20) || {};
    is $run->{status}, 'completed', 'a line that is not JSON: the run completes';
    my $log = log_of($g);
    like $log, qr/^agent-executor-claude: skipped a line of claude's output that is not a JSON object: this is not JSON \{$/m,
        'and the line is noted in the log';
    like $log, qr/^   tool error: ls: cannot open directory: Permission denied more$/m,
        'a tool error is in the log, on one line';

    # a claude that cannot be run
    runner_stop($h);
    $h = start_claude_runner(agents => $agents, project => $proj,
                             claude => "$proj/no-such-claude");
    ok runner_launcher($h), 'a runner whose CLAUDE_BIN is missing';
    my ($m) = create_run(prompt => 'hello');
    push @ids, $m;
    $run = wait_terminal($m, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /could not run \Q$proj\E\/no-such-claude: No such file or directory/,
       'fails saying so' or diag explain $run;
    logs_clean_ok(@ids);

};

runner_flow 'a stop reaches claude; progress is in the log while claude runs', 10, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner';

    my ($id) = create_run(prompt => 'wait for it: hang');
    ok Runs::wait_for(15, sub { log_of($id) =~ /hanging until a signal/ }), 'claude runs';
    is Runs::status_of($id), 'running', 'the run is running';
    stop_run($id);
    my $run = wait_terminal($id, 20) || {};
    is $run->{status}, 'stopped', 'stopped' or diag explain $run;
    my $log = log_of($id);
    like $log, qr/^stand-in claude: got SIGTERM$/m, 'claude got SIGTERM';
    # the runner signals the executor's process group, claude with it, and
    # the executor passes the stop on too: claude's own handler may end it
    # (exit status 143) or a second SIGTERM may
    like $log, qr/^agent-executor-claude: stopped by SIGTERM \(claude ended: (?:exit status 143|SIGTERM)\)$/m,
        'the executor says so and ends by SIGTERM';
    ok !grep({ /stand-ins\/claude/ } `ps -eo args`), 'no claude left running';

    my ($s) = create_run(prompt => 'slowly slow=15');
    my $seen = Runs::wait_for(15, sub { log_of($s) =~ /^step 2 of 15$/m });
    ok $seen && Runs::status_of($s) eq 'running', 'progress lines arrive while claude runs';
    $run = wait_terminal($s, 20) || {};
    ok $run->{status} eq 'completed' && log_of($s) =~ /^step 15 of 15$/m, 'then it completes';

};

runner_flow 'the runner lists its agents at registration', 4, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    my $lid = runner_launcher($h);
    ok $lid, 'a runner';
    my $l = launcher_info($lid) || {};
    is_deeply $l->{agents}, ['coder', 'reviewer'],
        'GET /launchers: its agents, the folders with valid names, sorted'
        or diag explain $l;
    like runner_log($h), qr/agent-runner starting .* agents_dir=\Q$agents\E /,
        'the runner\'s log names the agents dir';
};

# Claude Code keeps its sessions on its host, per directory: a session
# started again after a failed start finds claude's session (the start is
# run as a resume of it); a resume on a host where claude never had the
# session fails saying so
runner_flow 'a session started again after a failed start; a resume claude never saw', 10, sub {
    my $agents = make_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner';

    my ($f) = create_run(session_name => 'cl-again', prompt => 'first try error-result');
    my $run = wait_terminal($f, 20) || {};
    is $run->{status}, 'failed', 'the start fails after claude made its session';
    my $sid = $run->{session_id} // '';

    my ($a) = create_run(session_name => 'cl-again', prompt => 'second try');
    $run = wait_terminal($a, 20) || {};
    is $run->{status}, 'completed', 'started again: completed' or diag log_of($a);
    is $run->{session_id}, $sid, 'under the same session_id';
    like $run->{result} // '', qr/^session: \Q$sid\E resumed$/m,
        'claude\'s session is resumed, not refused';
    like log_of($a), qr/^Error: Session ID \Q$sid\E is already in use\.\nagent-executor-claude: Claude Code already has session \Q$sid\E \(an earlier start of it got that far\): resuming it\nagent-executor-claude: resuming session \Q$sid\E with /m,
        'the log says why';

    # another host: a runner whose claude has none of these sessions
    runner_stop($h);
    $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner on another host';
    my ($r) = create_run(type => 'resume_session', session_name => 'cl-again',
                         prompt => 'go on');
    $run = wait_terminal($r, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /Claude Code has no session \Q$sid\E in this directory on this host: no earlier run of it got that far here\. Start the session again, or run its resumes where it was started\z/,
       'a resume claude never saw fails saying so' or diag explain $run;
    logs_clean_ok($f, $a, $r);
};

# blueprints for the MCP configuration: their mcp.json as given
sub mcp_agents {
    my (%files) = @_;
    my $dir = File::Temp->newdir('agents-XXXXXX', TMPDIR => 1);
    for my $name (keys %files) {
        mkdir "$dir/$name" or die "$dir/$name: $!\n";
        next if !defined $files{$name};
        open my $f, '>', "$dir/$name/mcp.json" or die "$dir/$name/mcp.json: $!\n";
        print {$f} $files{$name};
        close $f;
    }
    return $dir;
}

# the executor's temporary files in $dir
sub temp_files { my ($dir) = @_; return glob "$dir/agent-executor-claude-mcp-*" }

runner_flow 'the MCP configuration: the blueprint\'s servers and the coordinator\'s, in a private file removed after the run; a blueprint\'s own server for the coordinator is left as it is', 14, sub {
    my $mcp = coordinator_url() . '/mcp';
    my $agents = mcp_agents(
        coder => '{"mcpServers": {"docs": {"command": "docs-mcp", "args": ["-v"]}}, "other": 1}',
        empty => '{}',
        none => undef,
        'by-name' => '{"mcpServers": {"agent-orchestrator-http": {"type": "http", '
                     . '"url": "http://localhost:9500/mcp", "headers": '
                     . '{"X-Agent-Session-Name": "${AGENT_SESSION_NAME}"}}}}',
        'by-url' => qq({"mcpServers": {"runs": {"type": "http", "url": "$mcp/"}}}),
    );
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $tmp = File::Temp->newdir('tmp-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj, env => { TMPDIR => "$tmp" });
    ok runner_launcher($h), 'a runner whose executors have a TMPDIR of their own';

    my ($c) = create_run(session_name => 'mc-coder', agent_name => 'coder', prompt => 'Hi');
    my $run = wait_terminal($c, 20) || {};
    is mcp_json_of($run), JSON::PP->new->canonical->encode({ other => 1, mcpServers => {
           orchestrator('mc-coder'), docs => { command => 'docs-mcp', args => ['-v'] } } }),
       'the blueprint\'s mcp.json, and the server "agent-orchestrator": http, '
       . 'AGENT_ORCHESTRATOR_MCP_URL, X-Agent-Session-Name: the session' or diag $run->{result};
    like $run->{result} // '', qr/^mcp config: \Q$tmp\E\/agent-executor-claude-mcp-\w{6}\.json$/m,
       'given to claude with --mcp-config, a file of the run\'s own in TMPDIR';
    like log_of($c), qr/^agent-executor-claude: MCP server "agent-orchestrator" for claude: \Q$mcp\E \(as session mc-coder\)\nagent-executor-claude: starting session /m,
       'the log says so';

    my %want = (empty => mcp_json(orchestrator('mc-empty')),
                none => mcp_json(orchestrator('mc-none')));
    for my $a (sort keys %want) {
        my ($id) = create_run(session_name => "mc-$a", agent_name => $a, prompt => 'Hi');
        is mcp_json_of(wait_terminal($id, 20) || {}), $want{$a},
           "a blueprint with " . ($a eq 'none' ? 'no mcp.json' : 'an mcp.json without servers')
           . ': the coordinator\'s server alone';
    }

    for my $a ('by-name', 'by-url') {
        my ($id) = create_run(session_name => "mc-$a", agent_name => $a, prompt => 'Hi');
        my $r = wait_terminal($id, 20) || {};
        my $name = $a eq 'by-name' ? 'agent-orchestrator-http' : 'runs';
        my %own = $a eq 'by-name'
            ? ('agent-orchestrator-http' => { type => 'http', url => 'http://localhost:9500/mcp',
                                              headers => { 'X-Agent-Session-Name' => "mc-$a" } })
            : (runs => { type => 'http', url => "$mcp/" });
        ok +($r->{result} // '') =~ /^mcp config: \Q$tmp\E\/agent-executor-claude-mcp-\w{6}\.json$/m
           && mcp_json_of($r) eq mcp_json(%own)
           && log_of($id) =~ /^agent-executor-claude: MCP server "\Q$name\E" of the blueprint reaches the coordinator: "agent-orchestrator" not added$/m,
           "a blueprint with a server " . ($a eq 'by-name' ? 'named agent-orchestrator...'
                                                            : 'with the same url')
           . ': its servers alone (${AGENT_SESSION_NAME} replaced), saying so'
           or diag explain $r, log_of($id);
    }

    # while claude runs, the file is there, its mode 0600; a stop removes it
    my ($hang) = create_run(session_name => 'mc-hang', agent_name => 'coder', prompt => 'hang');
    ok Runs::wait_for(15, sub { log_of($hang) =~ /hanging until a signal/ }), 'claude runs';
    my @f = temp_files($tmp);
    ok @f == 1 && ((stat $f[0])[2] & 07777) == 0600, 'one file while it runs, mode 0600'
        or diag explain \@f;
    stop_run($hang);
    is +(wait_terminal($hang, 20) || {})->{status}, 'stopped', 'stopped';
    ok !temp_files($tmp), 'every file removed: after each run, and after a stop'
        or diag explain [temp_files($tmp)];
    logs_clean_ok($c, $hang);
};

# the executor run by hand: payload on stdin, CLAUDE_BIN the stand-in;
# ($exit_status, stdout, stderr)
sub executor_by_hand {
    my ($payload, %env) = @_;
    my $d = File::Temp->newdir('by-hand-XXXXXX', TMPDIR => 1);
    open my $p, '>', "$d/payload" or die "$d/payload: $!\n";
    print {$p} Runs::jenc($payload), "\n";
    close $p;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        delete $ENV{$_} for qw(AGENT_ORCHESTRATOR_MCP_URL AGENT_SESSION_NAME AGENT_AGENTS_DIR);
        $ENV{CLAUDE_BIN} = $RunsClaude::STAND_IN;
        $ENV{$_} = $env{$_} for keys %env;
        open STDIN, '<', "$d/payload" or die;
        open STDOUT, '>', "$d/out" or die;
        open STDERR, '>', "$d/err" or die;
        my $bin = RunsRunner::bin_dir() . '/agent-executor-claude';
        exec { $bin } $bin or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my %t = map { open my $f, '<', "$d/$_" or die; local $/; ($_ => scalar <$f>) } qw(out err);
    return ($rc, $t{out} // '', $t{err} // '');
}

runner_flow 'an mcp.json that is not an MCP configuration fails the run; without AGENT_ORCHESTRATOR_MCP_URL nothing is added', 9, sub {
    my $agents = mcp_agents(broken => '{"mcpServers": {', list => '{"mcpServers": ["docs"]}',
                            coder => '{"mcpServers": {"docs": {"command": "docs-mcp"}}}');
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner';
    my ($b) = create_run(session_name => 'mc-broken', agent_name => 'broken', prompt => 'Hi');
    my $run = wait_terminal($b, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /^agent-executor-claude: agent "broken": \Q$agents\E\/broken\/mcp\.json: .+ \(line 1\)\z/m,
       'an mcp.json that is not JSON: the run fails, naming the file and the line'
       or diag explain $run;
    my ($l) = create_run(session_name => 'mc-list', agent_name => 'list', prompt => 'Hi');
    $run = wait_terminal($l, 20) || {};
    ok $run->{status} eq 'failed'
       && ($run->{error} // '') =~ /^agent-executor-claude: agent "list": \Q$agents\E\/list\/mcp\.json is not an MCP configuration: \{"mcpServers": \{NAME: \{\.\.\.\}, \.\.\.\}\}\z/m,
       'mcpServers not an object: the run fails saying what is wanted' or diag explain $run;

    my $config = File::Temp->newdir('claude-XXXXXX', TMPDIR => 1);
    my %p = (schema_version => '1.1', mode => 'start', run_id => 'run_00000000000a',
             session_name => 'by-hand', session_id => '6f1c0e9a-3b7f-4d1c-9a2e-5a8b3c4d2e1f',
             prompt => 'Hi', project_dir => "$proj");
    my ($rc, $out, $err) = executor_by_hand(\%p, CLAUDE_CONFIG_DIR => "$config");
    ok $rc == 0 && $out =~ /^mcp config: none\nmcp json: none$/m && $err !~ /MCP server/,
       'by hand, no AGENT_ORCHESTRATOR_MCP_URL, no agent: no --mcp-config' or diag $out, $err;
    ($rc, $out, $err) = executor_by_hand({ %p, agent_name => 'coder', session_id => undef },
                                         CLAUDE_CONFIG_DIR => "$config",
                                         AGENT_AGENTS_DIR => "$agents");
    ok $rc == 0 && $out =~ /^mcp config: \S+\/agent-executor-claude-mcp-\w{6}\.json$/m
       && $out =~ /^mcp json: \Q{"mcpServers":{"docs":{"command":"docs-mcp"}}}\E$/m,
       'the blueprint\'s mcp.json\'s servers alone, in a file of the run\'s own' or diag $out, $err;
    ($rc, $out, $err) = executor_by_hand({ %p, session_id => undef, session_name => 'by-hand-2' },
                                         CLAUDE_CONFIG_DIR => "$config",
                                         AGENT_ORCHESTRATOR_MCP_URL => 'http://example.invalid/mcp');
    my $want = mcp_json(orchestrator('by-hand-2', 'http://example.invalid/mcp'));
    ok $rc == 0 && $out =~ /^mcp json: \Q$want\E$/m,
       'by hand with AGENT_ORCHESTRATOR_MCP_URL and no AGENT_SESSION_NAME: the payload\'s session'
       or diag $out, $err;
    ok $err !~ /Sanitizer|runtime error:/, 'no sanitizer report by hand' or diag $err;
    logs_clean_ok($b, $l);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a start runs claude with --session-id, a resume with --resume; the result and the log



=== TEST 2: an agent_name applies its blueprint; a run for an agent the runner does not list waits; a blueprint gone fails the run



=== TEST 3: error results, exits and missing results fail the run; lines that are not JSON are skipped



=== TEST 4: a stop reaches claude; progress is in the log while claude runs



=== TEST 5: the runner lists its agents at registration



=== TEST 6: a session started again after a failed start; a resume claude never saw



=== TEST 7: the MCP configuration: the blueprint's servers and the coordinator's, in a private file removed after the run; a blueprint's own server for the coordinator is left as it is



=== TEST 8: an mcp.json that is not an MCP configuration fails the run; without AGENT_ORCHESTRATOR_MCP_URL nothing is added
