# agent-runner with agent-executor-claude running Claude Code's CLI itself
# (the version pinned in t/claude-cli/package-lock.json, which
# ./build.sh test installs), not logged in: claude takes every flag the
# executor and the example blueprint (docs/examples/agents/coder) give it,
# writes its stream-json, and ends each run with its error result "Not
# logged in", which fails the run with that text.  It keeps the session
# under the coordinator's session_id: a session started again is resumed,
# and a resume on a host where claude never had the session fails saying
# so.  Nothing here reaches Anthropic's API: there are no credentials.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use RunsClaude;
use Test::More;
use File::Temp ();
use File::Copy ();

repeat_each(1);
no_long_string();
no_shuffle();

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

# a runner whose claude has a home of its own: no login, nothing sent
# that need not be
sub cli_runner {
    my (%o) = @_;
    my $home = File::Temp->newdir('home-XXXXXX', TMPDIR => 1);
    my $h = start_claude_runner(%o, claude => $CLI,
        env => { HOME => "$home", ANTHROPIC_API_KEY => undef,
                 CLAUDE_CODE_OAUTH_TOKEN => undef,
                 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC => 1 });
    $h->{home} = $home;
    return $h;
}

runner_flow 'Claude Code itself: the flags are taken, the stream read, its error result fails the run', 12, sub {
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
    like $log, qr/^claude: session \Q$sid\E started \(model \S+, \d+ tools; MCP servers: files \(\w+\)\)$/m,
        'the init event, under the coordinator\'s session_id';
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

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: Claude Code itself: the flags are taken, the stream read, its error result fails the run
