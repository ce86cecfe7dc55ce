# agent-runner with agent-executor-claude running Claude Code's CLI itself
# (the version pinned in t/claude-cli/package-lock.json, which
# ./build.sh test installs), not logged in: claude takes every flag the
# executor and the example blueprint (docs/examples/agents/coder) give it,
# writes its stream-json, and ends each run with its error result "Not
# logged in", which fails the run with that text.  It keeps the session
# under the coordinator's session_id: a session started again is resumed,
# and a resume on a host where claude never had the session fails saying
# so.  It takes the MCP configuration the executor writes (the example's
# server and the coordinator's, "agent-orchestrator"): in the run it
# connects to runs_mcp with the session's X-Agent-Session-Name (nginx's
# log of /mcp shows it), and `claude mcp list` / `claude mcp get` with
# that configuration as a project's .mcp.json show the server connected.
# Nothing here reaches Anthropic's API: there are no credentials.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use RunsClaude;
use Test::More;
use File::Temp ();
use File::Copy ();
use JSON::PP ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();

# the MCP endpoint, and a log of what reaches it: method, status, the
# caller's X-Agent-Session-Name, the client
$Runs::DEFAULT_HTTP_CONFIG .= "\n    log_format mcp '\$request_method \$status "
    . "session=\$http_x_agent_session_name \"\$http_user_agent\"';\n";
$Runs::DEFAULT_CONFIG .= "    location /mcp { runs_mcp runs; access_log logs/mcp.log mcp; }\n";

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $CLI = $ENV{TEST_CLAUDE_CLI} // "$FindBin::Bin/claude-cli/node_modules/.bin/claude";

if (!-x $CLI) {
    die "Claude Code's CLI is not at $CLI: ./build.sh test installs it\n"
        if $ENV{TEST_CLAUDE_CLI_REQUIRED};
    plan skip_all => "Claude Code's CLI is not installed ($CLI): "
                     . "cd t/claude-cli && npm ci, or ./build.sh test";
}

my $EXAMPLE = "$FindBin::Bin/../docs/examples/agents/coder";
my $NOT_LOGGED_IN = "claude's result is an error after 1 turn: "
                    . "Not logged in \x{b7} Please run /login";

# the example blueprint, but for its MCP server: a command that is there
# (the example's starts a package from the npm registry)
sub example_agents {
    my $dir = File::Temp->newdir('agents-XXXXXX', TMPDIR => 1);
    mkdir "$dir/coder" or die "$!";
    for my $f (qw(agent.json system-prompt.md)) {
        File::Copy::copy("$EXAMPLE/$f", "$dir/coder/$f") or die "$f: $!";
    }
    open my $m, '>', "$dir/coder/mcp.json" or die "$!";
    print {$m} '{"mcpServers": {"files": {"command": "/bin/cat"}}}' . "\n";
    close $m;
    return $dir;
}

# the last line of a failed run's error (the executor's stderr tail)
sub last_line { ((split /\n/, $_[0]{error} // '')[-1]) // '' }

# a run's log as text
sub text_log {
    my $log = log_of($_[0]);
    utf8::decode($log);
    return $log;
}

# the lines of nginx's log of /mcp
sub mcp_log {
    open my $in, '<', Runs::server_root() . '/logs/mcp.log' or return ();
    my @l = <$in>;
    chomp @l;
    return @l;
}

# a runner whose claude has a home of its own: no login, nothing sent
# that need not be
sub cli_runner {
    my (%o) = @_;
    my $home = File::Temp->newdir('home-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(%o, claude => $o{claude} // $CLI,
        env => { HOME => "$home", ANTHROPIC_API_KEY => undef,
                 CLAUDE_CODE_OAUTH_TOKEN => undef,
                 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC => 1, %{ $o{env} || {} } });
    $h->{home} = $home;
    return $h;
}

runner_flow 'Claude Code itself: the flags are taken, the stream read, its error result fails the run', 13, sub {
    my $agents = example_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $config = File::Temp->newdir('claude-XXXXXX', TMPDIR => 1);
    my $h = cli_runner(agents => $agents, project => $proj, config => "$config");
    ok runner_launcher($h), 'a runner with the claude executor and Claude Code';

    my ($id) = create_run(session_name => 'cli-1', agent_name => 'coder',
                          prompt => 'List the files');
    my $run = wait_terminal($id, 60) || {};
    my $sid = $run->{session_id} // '';
    ok $run->{status} eq 'failed' && last_line($run) eq "agent-executor-claude: $NOT_LOGGED_IN",
       'the example blueprint\'s flags are taken; not logged in: the run fails with claude\'s text'
       or diag explain $run, log_of($id);
    my $log = text_log($id);
    like $log, qr/^claude: session \Q$sid\E started \(model \S+, \d+ tools; MCP servers: (?:files \(\w+\), agent-orchestrator \(\w+\)|agent-orchestrator \(\w+\), files \(\w+\))\)$/m,
        'the init event, under the coordinator\'s session_id, with the MCP servers';
    # (how far claude gets before its "Not logged in" ends it varies:
    # initialize at least; its GET and DELETE answer 405)
    my @mcp = grep { /session=cli-1 "claude-code\// } mcp_log();
    ok +(grep { /^POST 200 / } @mcp) && !grep({ !/^(?:POST 20[02]|(?:GET|DELETE) 405) / } @mcp),
       'claude connected to runs_mcp with X-Agent-Session-Name: the session '
       . '(initialize, tools/list: 200; notifications: 202)'
       or diag explain [mcp_log()];
    like $log, qr/^Not logged in \x{b7} Please run \/login$/m, 'the assistant\'s text in the log';
    unlike $log, qr/^(?:error: (?:unknown|option)|Error: Invalid)/mi,
        'no flag or MCP configuration refused';
    (my $dirname = "$proj") =~ s/[^A-Za-z0-9]/-/g;
    ok -e "$config/projects/$dirname/$sid.jsonl", 'claude keeps the session under that id, per directory';

    # started again: claude has the session, the start resumes it
    my ($again) = create_run(session_name => 'cli-1', prompt => 'Try again');
    $run = wait_terminal($again, 60) || {};
    is last_line($run), "agent-executor-claude: $NOT_LOGGED_IN",
        'started again: claude ran (and is still not logged in)'
        or diag log_of($again);
    like text_log($again), qr/^Error: Session ID \Q$sid\E is already in use\.\nagent-executor-claude: Claude Code already has session \Q$sid\E \(an earlier start of it got that far\): resuming it\n/m,
        'claude refused the id as in use: the start was run as a resume';

    # a runner whose claude never had the session
    runner_stop($h);
    $h = cli_runner(agents => $agents, project => $proj);
    ok runner_launcher($h), 'a runner on another host';
    my ($r) = create_run(type => 'resume_session', session_name => 'cli-1', prompt => 'go on');
    $run = wait_terminal($r, 60) || {};
    like last_line($run), qr/^agent-executor-claude: Claude Code has no session \Q$sid\E in this directory on this host: /,
        'a resume claude never saw fails saying so' or diag log_of($r);
    logs_clean_ok($id, $again, $r);

};

# a CLAUDE_BIN that keeps a copy of the --mcp-config file it is given
# (the executor removes its file when the run ends) in $keep, then runs
# Claude Code's CLI
sub keeping_claude {
    my ($keep) = @_;
    my $bin = "$keep/claude";
    open my $f, '>', $bin or die "$bin: $!\n";
    print {$f} <<"EOS";
#!/bin/sh
prev=
for a in "\$@"; do
    [ "\$prev" = --mcp-config ] && cp "\$a" "$keep/mcp-config.json"
    prev=\$a
done
exec "$CLI" "\$@"
EOS
    close $f;
    chmod 0755, $bin or die "$bin: $!\n";
    return $bin;
}

# claude's own command, in $dir, with the home and config dir of $h
sub claude_cmd {
    my ($h, $config, $dir, @args) = @_;
    my $tmp = File::Temp->newdir('cmd-XXXXXX', TMPDIR => 1);
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        chdir $dir or POSIX::_exit(126);
        delete @ENV{qw(ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN AGENT_SESSION_NAME)};
        @ENV{qw(HOME CLAUDE_CONFIG_DIR CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC)}
            = ("$h->{home}", $config, 1);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/out";
        open STDERR, '>&', \*STDOUT;
        exec { $CLI } $CLI, @args or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    open my $in, '<', "$tmp/out" or die;
    local $/;
    my $out = <$in> // '';
    utf8::decode($out);
    return ($rc, $out);
}

runner_flow 'Claude Code takes the executor\'s MCP configuration: claude mcp list and get show agent-orchestrator connected to runs_mcp', 8, sub {
    my $agents = example_agents();
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $keep = File::Temp->newdir('keep-XXXXXX', TMPDIR => 1);
    my $config = File::Temp->newdir('claude-XXXXXX', TMPDIR => 1);
    my $h = cli_runner(agents => $agents, project => $proj, config => "$config",
                       claude => keeping_claude("$keep"));
    ok runner_launcher($h), 'a runner with the claude executor and Claude Code';

    my ($id) = create_run(session_name => 'cli-mcp', agent_name => 'coder', prompt => 'Delegate');
    my $run = wait_terminal($id, 60) || {};
    is last_line($run), "agent-executor-claude: $NOT_LOGGED_IN",
       'the run: claude took the configuration (and is not logged in)' or diag log_of($id);
    my $mcp = Runs::jdec(do { local $/; open my $f, '<', "$keep/mcp-config.json" or die; <$f> });
    my $url = coordinator_url() . '/mcp';
    is_deeply $mcp, { mcpServers => { files => { command => '/bin/cat' },
        'agent-orchestrator' => { type => 'http', url => $url,
                                  headers => { 'X-Agent-Session-Name' => 'cli-mcp' } } } },
       'the configuration the executor wrote: the blueprint\'s server and the coordinator\'s';

    # that configuration as the project's .mcp.json, the project trusted
    # and its servers enabled (what answering claude's prompts once does)
    File::Copy::copy("$keep/mcp-config.json", "$proj/.mcp.json") or die "$!";
    mkdir "$proj/.claude";
    open my $s, '>', "$proj/.claude/settings.json" or die "$!";
    print {$s} '{"enableAllProjectMcpServers": true}' . "\n";
    close $s;
    my $file = "$config/.claude.json";
    my $global = -f $file ? Runs::jdec(do { local $/; open my $f, '<', $file or die; <$f> }) : {};
    $global->{projects}{"$proj"}{hasTrustDialogAccepted} = JSON::PP::true;
    open my $g, '>', $file or die "$file: $!";
    print {$g} Runs::jenc($global);
    close $g;

    my $before = () = mcp_log();
    my ($rc, $out) = claude_cmd($h, "$config", "$proj", 'mcp', 'list');
    ok $rc == 0 && $out =~ /^agent-orchestrator: \Q$url\E \(HTTP\) - \x{2714} Connected$/m,
       'claude mcp list: agent-orchestrator, HTTP, connected (its health check reached runs_mcp)'
       or diag $out;
    ($rc, $out) = claude_cmd($h, "$config", "$proj", 'mcp', 'get', 'agent-orchestrator');
    ok $rc == 0 && $out =~ /^\s+Status: \x{2714} Connected$/m && $out =~ /^\s+Type: http$/m
       && $out =~ /^\s+URL: \Q$url\E$/m && $out =~ /^\s+X-Agent-Session-Name: cli-mcp$/m,
       'claude mcp get agent-orchestrator: http, the URL, the X-Agent-Session-Name header, connected'
       or diag $out;
    my @new = (mcp_log())[$before .. scalar(mcp_log()) - 1];
    ok +(grep { /^POST 200 session=cli-mcp "claude-code\// } @new) >= 2,
       'runs_mcp saw claude\'s health checks, with the header' or diag explain \@new;
    logs_clean_ok($id);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: Claude Code itself: the flags are taken, the stream read, its error result fails the run



=== TEST 2: Claude Code takes the executor's MCP configuration: claude mcp list and get show agent-orchestrator connected to runs_mcp
