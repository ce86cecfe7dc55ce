# Held requests are capped per kind and per launcher, so no party starves
# another: ?wait= requests beyond runs_max_waits are answered at once and
# never take a runner's poll slot; polls beyond runs_max_polls answer 503
# with Retry-After; a launcher's new poll beyond
# runs_max_polls_per_launcher supersedes its oldest, which answers 204.
# Each kind of refusal is logged once per 10 s.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

flow 'waits beyond runs_max_waits do not take the polls\' room', 7, sub {
    my $id = create_run(session_name => 'w-1');
    my $lid = register_launcher();
    my $run = claim($lid);
    is $run && $run->{run_id}, $id, 'a run held by a runner';
    # three watchers fill runs_max_waits; more are answered at once
    my @w = map { Runs::hold('GET', "/runs/$id?wait=30") } 1 .. 3;
    sleep 0.3;
    ok !grep({ $_->ready } @w), 'three ?wait= requests held';
    my $t0 = time;
    my $extra = Runs::req('GET', "/runs/$id?wait=30");
    is $extra->{status} . ' ' . ($extra->{json}{status} // ''), '200 claimed',
        'a fourth is answered at once with the run as it is';
    cmp_ok time - $t0, '<', 1, 'without waiting';
    Runs::req('GET', "/runs/$id?wait=30") for 1 .. 5;

    # a runner's poll still finds room, and is woken at once
    my $poll = Runs::hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 0.2;
    ok !$poll->ready, 'a runner poll is held beside them';
    my $next = create_run(session_name => 'w-2');
    my $r = Runs::collect($poll, 5);
    is $r->{json} && $r->{json}{run} && $r->{json}{run}{run_id}, $next,
        'and gets the next run';
    my $lines = Runs::error_log_lines(qr/runs_max_waits/);
    is scalar(@{ $lines || [] }), 1, 'six refusals, one error-log line';
    $_->close for @w;
};

flow 'polls beyond runs_max_polls answer 503 with Retry-After', 5, sub {
    my @l = map { scalar register_launcher() } 1 .. 3;
    my @p = map { Runs::hold('GET', "/launcher/runs?launcher_id=$_") } @l[0, 1];
    sleep 0.3;
    ok !grep({ $_->ready } @p), 'two polls held (runs_max_polls 2)';
    my $r = Runs::req('GET', "/launcher/runs?launcher_id=$l[2]");
    is $r->{status}, 503, 'a third: 503';
    is $r->{headers}{'retry-after'}, '1', 'with Retry-After: 1';
    like $r->{body}, qr/"detail":"Too many held runner polls \(runs_max_polls\)/, 'and a detail';
    my $id = create_run(session_name => 'p-1');
    my @got = grep { $_->{status} == 200 } map { Runs::collect($_, 5) } @p;
    is scalar(@got), 1, 'the held polls still work: one gets the run';
};

flow 'a launcher polling again supersedes its oldest held poll', 6, sub {
    my $lid = register_launcher();
    my $first = Runs::hold('GET', "/launcher/runs?launcher_id=$lid");
    sleep 0.3;
    ok !$first->ready, 'its first poll is held';
    my $t0 = time;
    my $second = Runs::hold('GET', "/launcher/runs?launcher_id=$lid");
    my $r = Runs::collect($first, 5);
    is $r->{status}, 204, 'a second poll of the same launcher: the first answers 204';
    cmp_ok time - $t0, '<', 1, 'at once';
    sleep 0.2;
    ok !$second->ready, 'the second is held';
    my $id = create_run(session_name => 's-1');
    $r = Runs::collect($second, 5);
    is $r->{json} && $r->{json}{run} && $r->{json}{run}{run_id}, $id, 'and gets the run';
    my $other = register_launcher();
    my $o = Runs::hold('GET', "/launcher/runs?launcher_id=$other");
    sleep 0.3;
    ok !$o->ready, "another launcher's poll is not affected";
    $o->close;
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: waits beyond runs_max_waits do not take the polls' room
--- http_config
    runs_zone runs 4m;
    runs_max_waits 3;
    runs_max_waiters 4;
--- no_error_log
[alert]
[crit]



=== TEST 2: polls beyond runs_max_polls answer 503 with Retry-After
--- http_config
    runs_zone runs 4m;
    runs_max_polls 2;
--- no_error_log
[alert]
[crit]



=== TEST 3: a launcher polling again supersedes its oldest held poll
--- http_config
    runs_zone runs 4m;
    runs_max_polls_per_launcher 1;
--- no_error_log
[error]
[alert]
[crit]
