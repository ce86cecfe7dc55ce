# The dashboard (runs_dashboard) in a real browser: Debian's chromium,
# headless, driven by t/browser/dashboard.mjs (puppeteer-core, pinned in
# t/browser/package-lock.json) against nginx with the module's API
# locations, the change stream (runs_events_api), the blueprint registry
# (runs_agents_api: the script makes two blueprints in it before the
# browser starts) and two agent-runners with the echo executor:
# "dash-main" (agent coder, tag linux) and "dash-spare", which lists no
# agents (so it takes any run); both take the runs of the registry's
# blueprints; the runners page deregisters dash-spare.  Each step of the script is one
# assertion here; the script also writes a screenshot of each page to
# build/dashboard-<page>.png (TEST_DASHBOARD_SHOTS: another directory).
# Then the same behind auth_basic, the page opened with the credentials
# in its address.
#
# Skipped when chromium, node or t/browser/node_modules is missing,
# unless TEST_DASHBOARD_REQUIRED is set (./build.sh test sets it).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsRunner;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use File::Path ();
use Cwd ();
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $CHROMIUM = $ENV{TEST_CHROMIUM} || '/usr/bin/chromium';
my $NODE = $ENV{TEST_NODE} || 'node';
my $SCRIPT = "$FindBin::Bin/browser/dashboard.mjs";
my $PUPPETEER = "$FindBin::Bin/browser/node_modules/puppeteer-core/package.json";
my $SHOTS = $ENV{TEST_DASHBOARD_SHOTS} || "$FindBin::Bin/../build";

# what the browser test needs, missing
sub missing {
    my @m;
    push @m, "chromium ($CHROMIUM)" if !-x $CHROMIUM;
    my $v = `$NODE --version 2>/dev/null` // '';
    my ($major) = $v =~ /^v(\d+)\./;
    push @m, "node 18 or later ($NODE: " . ($v =~ /\S/ ? "version $v" : 'not found') . ')'
        if !$major || $major < 18;
    push @m, 'puppeteer-core in t/browser/node_modules' if !-f $PUPPETEER;
    chomp @m;
    return @m;
}

if (my @m = missing()) {
    die "the dashboard's browser test needs " . join(', ', @m) . "\n"
        if $ENV{TEST_DASHBOARD_REQUIRED};
    plan skip_all => "the dashboard's browser test needs " . join(', ', @m)
                     . ': apt-get install chromium nodejs npm, then cd t/browser && npm ci';
}

# what t/browser/dashboard.mjs checks, one line each, in its order
my @STEPS = (
    'the dashboard loads: config.json read, the change stream live',
    'the new session form lists the online runners\' agents',
    'a session started from the form opens its run',
    'the run appears in the runs table without a reload, and completes there',
    'its page shows the result and the log',
    'an API error is shown with its detail',
    'a slow run\'s log streams on its page',
    'Stop on its page stops it',
    'the runs table filters by status and session name',
    'the session resumed from its page',
    'the tree shows a child under its parent, live, with its status and callback (and no client run as one)',
    'the sessions page lists the sessions and their parents',
    'Delete on a session\'s page removes it, after a confirmation',
    'the blueprints page lists the registry\'s blueprints (description, tags, model, MCP servers, runners) and the runners\' own agents as runner-local',
    'the blueprints page filters by tags, from its field or a tag\'s link, in its address',
    'Disable on the blueprints page (from the keyboard) makes a blueprint inactive (it lists no runners then), and the API says so',
    'the new session form offers the active blueprints with their descriptions and the runners\' own agents, each once, not the inactive one',
    'a session started from the form with a registry blueprint runs on one of the runners its row lists',
    'Delete on the blueprints page removes a blueprint, after a confirmation',
    'a blueprint made elsewhere shows live (its agent.created event), no longer as runner-local, and once in the form',
    'an action on a blueprint deleted elsewhere shows the API\'s detail, and the page drops it',
    'the runners page lists the runners',
    'Deregister on the runners page removes the runner',
    'the blueprints page follows the runners: the runner that left is no longer among a blueprint\'s runners',
    'the registry not mounted (404, 405): the page says so, the page and the form list the runners\' own agents only',
    'no script error in the pages',
);

my @PAGES = qw(runs-empty new runs run run-live session tree sessions agents runners);

sub slurp {
    my ($file) = @_;
    open my $in, '<:raw', $file or return '';
    local $/;
    return <$in> // '';
}

# node $SCRIPT @args, ended after $timeout seconds (SIGTERM: puppeteer
# closes its chromium; then SIGKILL): { rc (-1: killed), out, err }
sub run_browser {
    my ($timeout, @args) = @_;
    my $tmp = File::Temp->newdir('dashboard-XXXXXX', TMPDIR => 1);
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
            kill 'TERM', $pid;
            my $t = time + 5;
            sleep 0.1 while waitpid($pid, POSIX::WNOHANG()) == 0 && time < $t;
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $rc = -1;
            last;
        }
        sleep 0.2;
    }
    return { rc => $rc, out => slurp("$tmp/out"), err => slurp("$tmp/err") };
}

# the runners, then t/browser/dashboard.mjs against the dashboard at
# http://${auth}127.0.0.1:PORT/dashboard/ (31 assertions with the
# runner_flow's own); screenshots in $shots
sub browser_flow {
    my ($auth, $shots) = @_;
    my $d = File::Temp->newdir('dashboard-XXXXXX', TMPDIR => 1);
    my $dir = Cwd::realpath("$d");
    for my $p ('proj', 'agents-main', 'agents-main/coder', 'agents-spare') {
        mkdir "$dir/$p" or die "mkdir $dir/$p: $!\n";
    }
    my $main = start_runner(name => 'runner dash-main', args => [
        '--hostname', 'dash-main', '--agents-dir', "$dir/agents-main", '--tag', 'linux',
        '--project-dir', "$dir/proj", '--max-concurrent', '2']);
    my $spare = start_runner(name => 'runner dash-spare', args => [
        '--hostname', 'dash-spare', '--agents-dir', "$dir/agents-spare",
        '--project-dir', "$dir/proj"]);
    my ($lm, $ls) = (runner_launcher($main), runner_launcher($spare));
    ok $lm && $ls, 'both runners registered';

    File::Path::make_path($shots);
    my $t0 = time;
    my $r = run_browser(Runs::tf(240), '--base', "http://${auth}127.0.0.1:" . Runs::port() . '/dashboard/',
                        '--out', $shots, '--chromium', $CHROMIUM, '--agent', 'coder',
                        '--spare', 'dash-spare', '--runners', 'dash-main,dash-spare', '--prefix', 'dash',
                        '--timeout', Runs::tf(200), '--wait', Runs::tf(15));

    # each step's line, with the lines the script wrote under it
    my %line;
    my $last;
    for my $l (split /\n/, $r->{out}) {
        if ($l =~ /^(ok|not ok) \d+ - (.*)$/) {
            $last = $2;
            $line{$last} = { ok => $1 eq 'ok', diag => '' };
        } elsif ($l =~ /^# ?(.*)$/ && defined $last) {
            $line{$last}{diag} .= "$1\n";
        }
    }
    for my $s (@STEPS) {
        my $got = $line{$s};
        ok $got && $got->{ok}, $s
            or diag $got ? $got->{diag} : "no line for this step in the script's output:\n$r->{out}";
        note $got->{diag} if $got && $got->{ok} && $got->{diag} =~ /\S/;
    }
    is $r->{rc}, 0, 'the browser test ended with exit status 0'
        or diag "stdout:\n$r->{out}\nstderr:\n$r->{err}";
    is runner_wait($spare, 10), 0, 'the deregistered runner left (exit status 0)';
    my @bad = grep { my $f = "$shots/dashboard-$_.png";
                     !-f $f || (stat $f)[9] < int($t0) || substr(slurp($f), 0, 8) ne "\x89PNG\r\n\x1a\n" } @PAGES;
    ok !@bad, 'a screenshot of each page in ' . Cwd::realpath($shots) . ' (dashboard-{' . join(',', @PAGES) . '}.png)'
        or diag 'missing or old: ' . join(', ', @bad);
}

runner_flow 'the dashboard in chromium: start, watch, stop, resume, the tree, the blueprints, the runners', 31, sub {
    browser_flow('', $SHOTS);
};

# the page opened with credentials in its address: the browser sends them
# to config.json, the API groups and the change stream, all behind the
# same auth_basic realm (only the runners' API is not)
runner_flow 'the same behind auth_basic, the page opened as http://user:password@host/dashboard/', 31, sub {
    my $shots = File::Temp->newdir('dashboard-shots-XXXXXX', TMPDIR => 1);
    browser_flow('op:pw@', "$shots");
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: the dashboard in chromium: start, watch, stop, resume, the tree, the blueprints, the runners
--- http_config
    runs_zone runs 8m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; client_body_buffer_size 32k; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }
    location /agents { runs_agents_api runs; }
    location /dashboard/ { runs_dashboard; }



=== TEST 2: the same behind auth_basic, the page opened as http://user:password@host/dashboard/
--- http_config
    runs_zone runs 8m;
    runs_poll_timeout 2s;
    runs_heartbeat_interval 1s;
--- config
    auth_basic "runs";
    auth_basic_user_file ../html/htpasswd;
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; client_body_buffer_size 32k; auth_basic off; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location /events { runs_events_api runs; }
    location /agents { runs_agents_api runs; }
    location /dashboard/ { runs_dashboard; }
--- user_files
>>> htpasswd
op:{PLAIN}pw
--- request
GET /dashboard/config.json
--- error_code: 401
