# runs_mcp with a real MCP client that is not ours: the official
# TypeScript SDK (@modelcontextprotocol/sdk, pinned in
# t/mcp-client/package-lock.json), its Client over
# StreamableHTTPClientTransport, driven by t/mcp-client/client.mjs
# against nginx with runs_mcp and an agent-runner with the echo executor
# (which answers with the prompt): it connects (initialize, the version
# the SDK asks for), lists the eight tools, starts a session synchronously
# and reads its result, its status and the sessions, resumes it, starts
# one in the background and waits for it with wait_seconds, calls an
# unknown tool (a protocol error) and starts a session that exists (a
# tool error), and ends its session.  Each step of the script is one
# assertion here.
#
# Skipped when node or t/mcp-client/node_modules is missing, unless
# TEST_MCP_SDK_REQUIRED is set (./build.sh test sets it).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

$Runs::DEFAULT_CONFIG .= "    location /mcp { runs_mcp runs; }\n";

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $NODE = $ENV{TEST_NODE} || 'node';
my $SCRIPT = "$FindBin::Bin/mcp-client/client.mjs";
my $SDK = "$FindBin::Bin/mcp-client/node_modules/\@modelcontextprotocol/sdk/package.json";

# what the SDK test needs, missing
sub missing {
    my @m;
    my $v = `$NODE --version 2>/dev/null` // '';
    my ($major) = $v =~ /^v(\d+)\./;
    push @m, "node 18 or later ($NODE: " . ($v =~ /\S/ ? "version $v" : 'not found') . ')'
        if !$major || $major < 18;
    push @m, '@modelcontextprotocol/sdk in t/mcp-client/node_modules' if !-f $SDK;
    chomp @m;
    return @m;
}

if (my @m = missing()) {
    die "the MCP SDK test needs " . join(', ', @m) . "\n" if $ENV{TEST_MCP_SDK_REQUIRED};
    plan skip_all => "the MCP SDK test needs " . join(', ', @m)
                     . ': apt-get install nodejs npm, then cd t/mcp-client && npm ci';
}

# what t/mcp-client/client.mjs checks, one line each, in its order
my @STEPS = (
    'connect: initialize, the SDK\'s newest protocol version agreed, an Mcp-Session-Id',
    'tools/list: the eight tools, each with an input schema',
    'a sync start_agent_session answers the agent\'s result',
    'get_agent_session_status: finished',
    'get_agent_session_result: the same result',
    'list_agent_sessions lists the session',
    'a sync resume_agent_session answers the next result',
    'an async start answers at once, the session running',
    'get_agent_session_status with wait_seconds waits until it finishes',
    'an unknown tool: a protocol error (-32602)',
    'a start of a session that exists: a tool error (isError)',
    'close: the session ended (DELETE answered 405, which the SDK takes)',
);

sub slurp {
    my ($file) = @_;
    open my $in, '<:raw', $file or return '';
    local $/;
    return <$in> // '';
}

# node $SCRIPT @args, killed after $timeout seconds: { rc (-1: killed), out, err }
sub run_client {
    my ($timeout, @args) = @_;
    my $tmp = File::Temp->newdir('mcp-sdk-XXXXXX', TMPDIR => 1);
    my $pid = fork;
    die "fork: $!\n" if !defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/out";
        open STDERR, '>', "$tmp/err";
        exec { $NODE } $NODE, $SCRIPT, @args or POSIX::_exit(127);
    }
    my $deadline = time + $timeout;
    my $rc;
    while (1) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8;
            last;
        }
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $rc = -1;
            last;
        }
        sleep 0.1;
    }
    return { rc => $rc, out => slurp("$tmp/out"), err => slurp("$tmp/err") };
}

runner_flow 'the official MCP TypeScript SDK against runs_mcp: tools listed and called, sync and async, errors', 15, sub {
    my $proj = File::Temp->newdir('proj-XXXXXX', TMPDIR => 1);
    my $h = start_runner(args => ['--project-dir', "$proj", '--max-concurrent', '2']);
    ok runner_launcher($h), 'a runner with the echo executor';

    my $r = run_client(Runs::tf(90), '--url', 'http://127.0.0.1:' . Runs::port() . '/mcp',
                       '--prefix', 'sdk', '--timeout', Runs::tf(60));

    # each step's line, with the lines the script wrote under it
    my %line;
    my $last;
    for my $l (split /\n/, $r->{out}) {
        if ($l =~ /^(ok|not ok) \d+ - (.*)$/) {
            $last = $2;
            $line{$last} = { ok => $1 eq 'ok', diag => '' };
        } elsif ($l =~ /^# ?(.*)$/ && defined $last) {
            $line{$last}{diag} .= "$1\n";
        } elsif ($l =~ /^# ?(.*)$/) {
            note $1;
        }
    }
    for my $s (@STEPS) {
        my $got = $line{$s};
        ok $got && $got->{ok}, $s
            or diag $got ? $got->{diag} : "no line for this step in the script's output:\n$r->{out}";
    }
    is $r->{rc}, 0, 'the script ended with exit status 0'
        or diag "stdout:\n$r->{out}\nstderr:\n$r->{err}";
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the official MCP TypeScript SDK against runs_mcp: tools listed and called, sync and async, errors
