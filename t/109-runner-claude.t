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
    ok !grep({ /^--(append-system-prompt|mcp-config|model|allowedTools)$/ } @$argv)
       && $run->{result} =~ /^cwd: \Q$proj\E$/m,
       'no agent: plain claude, in the runner\'s project dir';

    my $log = log_of($id);
    like $log, qr/^claude: session \Q$sid\E started \(model claude-stand-in-1, 7 tools\)$/m,
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
       && $r =~ /^mcp config: \Q$agents\E\/coder\/mcp\.json$/m,
       'system-prompt.md appended, mcp.json given' or diag $r;
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
    ok +($run->{result} // '') =~ /^system prompt: You review code\.\nmcp config: none\n(?:.*\n)*model: default$/m,
       'a blueprint with a system prompt only' or diag explain $run;

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

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a start runs claude with --session-id, a resume with --resume; the result and the log



=== TEST 2: an agent_name applies its blueprint; a run for an agent the runner does not list waits; a blueprint gone fails the run



=== TEST 3: error results, exits and missing results fail the run; lines that are not JSON are skipped



=== TEST 4: a stop reaches claude; progress is in the log while claude runs



=== TEST 5: the runner lists its agents at registration



=== TEST 6: a session started again after a failed start; a resume claude never saw
