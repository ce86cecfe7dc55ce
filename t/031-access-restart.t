# Access across restarts (docs/SECURITY.md): runner tokens survive a
# reload and a restart from the journal, which keeps only their keyed
# hashes; scopes survive a restart.  Apart from t/028 and t/030 because
# nginx is stopped and started again here, which the valgrind pass of
# those suites does not do.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsJournal;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());


# users of auth_basic: Runs::as_user, Runs::start_as
sub as { Runs::as_user(@_) }
sub start_as { Runs::start_as(@_) }

flow 'tokens survive a reload and a restart from the journal', 7, sub {
    my $a = register_launcher(hostname => 'keep');
    my $tok = Runs::token_of($a);
    my $run = create_run(prompt => 'p');
    is Runs::claimed_by($a), $run, 'claimed';
    my $pid = RunsJournal::master_pid();
    ok $pid && kill('HUP', $pid), 'reload';
    sleep 1;
    is Runs::with_token($tok, 'POST', "/launcher/runs/$run/started", { launcher_id => $a })->{status}, 200,
       'its token after the reload: 200';
    ok RunsJournal::nginx_down('stop') && RunsJournal::nginx_up(), 'stopped and started';
    is Runs::with_token($tok, 'POST', '/launcher/heartbeat', { launcher_id => $a })->{status}, 200,
       'its token after the restart: 200';
    is Runs::with_token('', 'POST', '/launcher/heartbeat', { launcher_id => $a })->{status}, 401,
       'still none without it: 401';
    my $img = RunsJournal::slurp(RunsJournal::journal_path()) // '';
    ok index($img, $tok) < 0 && index($img, substr($tok, 4)) < 0 && index($img, pack('H*', substr($tok, 4))) < 0,
       'the journal holds no token, as text or bytes';
};

flow 'scopes survive a restart from the journal', 4, sub {
    my ($a1) = start_as('alice', 'kept');
    my ($b1) = start_as('bob', 'kept');
    ok RunsJournal::nginx_down('stop') && RunsJournal::nginx_up(), 'stopped and started';
    is as('bob', 'GET', "/runs/$a1")->{status}, 404, 'bob still cannot read alice\'s run';
    is as('alice', 'GET', "/runs/$a1")->{json}{run_id}, $a1, 'alice can';
    my $sa = (as('alice', 'GET', '/sessions/by-name/kept')->{json}{session} || {})->{session_id} // 'a';
    my $sb = (as('bob', 'GET', '/sessions/by-name/kept')->{json}{session} || {})->{session_id} // 'a';
    isnt $sa, $sb, 'each "kept" is its owner\'s';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: tokens survive a reload and a restart from the journal
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 2: scopes survive a restart from the journal
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- config
    location /admin/runs { runs_api runs; }
    location /runs { runs_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /sessions { runs_sessions_api runs; auth_basic "runs"; auth_basic_user_file ../html/htpasswd; runs_scope $remote_user; }
    location /launchers { runs_launchers_api runs; }
--- user_files
>>> htpasswd
alice:{PLAIN}pw
bob:{PLAIN}pw
>>> journal/.keep
