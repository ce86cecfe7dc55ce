package RunsClaude;

# Helpers for the suites of agent-runner with agent-executor-claude
# (t/109-runner-claude.t against the stand-in claude in t/stand-ins,
# t/111-runner-claude-cli.t against Claude Code's CLI itself): a runner
# with that executor, the log of a run, a check that the executor's logs
# hold no sanitizer report.

use strict;
use warnings;

use File::Spec ();
use File::Basename ();
use File::Temp ();
use Test::More ();

use Runs ();
use RunsRunner ();

use Exporter 'import';

our @EXPORT = qw(start_claude_runner log_of logs_clean_ok);

our $STAND_IN = File::Spec->catfile(
    File::Spec->rel2abs(File::Basename::dirname(__FILE__)), '..', 'stand-ins', 'claude');

# claude's own sessions (claude keeps them there, and so does the
# stand-in): one directory per runner unless given, removed at the end
my @CONFIGS;

# start_claude_runner(agents => DIR, project => DIR, claude => PATH
# (default: the stand-in), config => CLAUDE_CONFIG_DIR, env => {...})
sub start_claude_runner {
    my (%o) = @_;
    if (!defined $o{config}) {
        push @CONFIGS, File::Temp->newdir('claude-XXXXXX', TMPDIR => 1);
        $o{config} = "$CONFIGS[-1]";
    }
    return RunsRunner::start_runner(
        args => ['--executor', RunsRunner::bin_dir() . '/agent-executor-claude',
                 '--agents-dir', "$o{agents}", '--project-dir', "$o{project}"],
        env => { CLAUDE_BIN => $o{claude} // $STAND_IN, AGENT_AGENTS_DIR => undef,
                 CLAUDE_CONFIG_DIR => $o{config}, %{ $o{env} || {} } });
}

sub log_of {
    my ($id) = @_;
    my $r = Runs::req('GET', "/runs/$id/log");
    return $r->{status} == 200 ? $r->{body} : '';
}

# no sanitizer report in the logs of these runs (the executor's stderr)
sub logs_clean_ok {
    my (@ids) = @_;
    my @bad = grep { log_of($_) =~ /Sanitizer|runtime error:/ } @ids;
    Test::More::ok(!@bad, 'no ASan/UBSan/LSan report from the executor')
        or Test::More::diag(log_of($bad[0]));
}

1;
