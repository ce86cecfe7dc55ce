# Two worker processes share the zone: a held poll (or wait) in one worker
# is answered at once when the event happens in the other worker: a run is
# created, a stop is queued, the launcher is deregistered, the run ends.
#
# Every location adds "X-Worker: $pid", so the client knows which worker
# answered.  Keep-alive connections are opened in bursts until there are
# connections served by both workers; then a request is held on a
# connection of one worker and the event is caused on a connection of the
# other, so the cross-worker path is exercised for certain.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT worker_conns close_all);
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);
log_level('info');

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

our $CONFIG = <<'_EOC_';
    location /runs { runs_api runs; add_header X-Worker $pid always; }
    location /launcher { runs_launcher_api runs; add_header X-Worker $pid always; }
    location /launchers { runs_launchers_api runs; add_header X-Worker $pid always; }
_EOC_

my $LIMIT = Runs::tf(1.0);    # seconds: a cross-worker wake must take less

# both worker pids, in a fixed order
sub pids { my ($w) = @_; return $w ? sort keys %$w : () }

flow 'a run created in one worker wakes a poll held in the other', 8, sub {
    my $w = worker_conns(3);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 7 if !$w;
        my ($A, $B) = pids($w);
        my @lat;
        my @cross_ok;
        for my $dir ([$A, $B], [$B, $A]) {
            my ($hold_in, $create_in) = @$dir;
            my $pc = $w->{$hold_in}[0];
            my $cc = $w->{$create_in}[0];
            my $lid = register_launcher();
            $pc->send('GET', "/launcher/runs?launcher_id=$lid");
            sleep 0.3;
            my $held = !$pc->ready;
            my $cr = $cc->request('POST', '/runs',
                                  { type => 'start_session',
                                    session_name => Runs::uniq_name('x'),
                                    prompt => 'cross' });
            my $t0 = time;
            my $p = $pc->read(10);
            push @lat, time - $t0;
            push @cross_ok, $held && $cr->{status} == 201
                && ($cr->{worker} // '') eq $create_in
                && $p->{status} == 200 && ($p->{worker} // '') eq $hold_in
                && $p->{json} && $p->{json}{run}
                && $p->{json}{run}{run_id} eq ($cr->{json} || {})->{run_id};
        }
        ok $cross_ok[0], 'held in worker A, created in worker B: the poll got the run';
        ok $cross_ok[1], 'held in worker B, created in worker A: the poll got the run';
        cmp_ok $lat[0], '<', $LIMIT, sprintf('A<-B wake in %.3fs', $lat[0]);
        cmp_ok $lat[1], '<', $LIMIT, sprintf('B<-A wake in %.3fs', $lat[1]);

        # four launchers, two polls held in each worker, four runs created
        # alternately in each worker: every poll returns its run at once
        my @polls = ($w->{$A}[0], $w->{$A}[1], $w->{$B}[0], $w->{$B}[1]);
        for my $c (@polls) {
            my $lid = register_launcher();
            $c->send('GET', "/launcher/runs?launcher_id=$lid");
        }
        sleep 0.3;
        my @created;
        my $t0 = time;
        for my $i (0 .. 3) {
            my $c = $w->{ $i % 2 ? $A : $B }[2];
            my $r = $c->request('POST', '/runs',
                                { type => 'start_session',
                                  session_name => Runs::uniq_name('four'),
                                  prompt => "four $i" });
            push @created, ($r->{json} || {})->{run_id};
        }
        my @got = map { my $r = $_->read(10); $r->{json} && $r->{json}{run}
                        ? $r->{json}{run}{run_id} : undef } @polls;
        my $dt = time - $t0;
        is_deeply [sort grep { defined } @got], [sort grep { defined } @created],
            'four held polls got the four runs, one each';
        cmp_ok $dt, '<', $LIMIT + 0.5, sprintf('all within %.3fs', $dt);
        is scalar(grep { defined } @got), 4, 'no poll was left empty';
    }
    close_all($w);
};

flow 'a stop in one worker wakes the owner\'s poll held in the other', 5, sub {
    my $w = worker_conns(1);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 4 if !$w;
        my ($A, $B) = pids($w);
        my (@ok, @lat);
        for my $dir ([$A, $B], [$B, $A]) {
            my ($hold_in, $stop_in) = @$dir;
            my ($id, $lid) = run_in_state('running');
            my $pc = $w->{$hold_in}[0];
            my $sc = $w->{$stop_in}[0];
            $pc->send('GET', "/launcher/runs?launcher_id=$lid");
            sleep 0.3;
            my $held = !$pc->ready;
            my $s = $sc->request('POST', "/runs/$id/stop");
            my $t0 = time;
            my $p = $pc->read(10);
            push @lat, time - $t0;
            push @ok, $held && $s->{status} == 200 && ($s->{worker} // '') eq $stop_in
                && ($p->{worker} // '') eq $hold_in && $p->{json}
                && ref $p->{json}{stop_runs} eq 'ARRAY'
                && "@{ $p->{json}{stop_runs} }" eq $id;
        }
        ok $ok[0], 'held in A, stopped in B: stop_runs delivered';
        ok $ok[1], 'held in B, stopped in A: stop_runs delivered';
        cmp_ok $lat[0], '<', $LIMIT, sprintf('in %.3fs', $lat[0]);
        cmp_ok $lat[1], '<', $LIMIT, sprintf('in %.3fs', $lat[1]);
    }
    close_all($w);
};

flow 'a deregistration in one worker wakes a poll held in the other', 5, sub {
    my $w = worker_conns(1);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 4 if !$w;
        my ($A, $B) = pids($w);
        my (@ok, @lat);
        for my $dir ([$A, $B, 0], [$B, $A, 1]) {
            my ($hold_in, $del_in, $self) = @$dir;
            my $lid = register_launcher();
            my $pc = $w->{$hold_in}[0];
            my $dc = $w->{$del_in}[0];
            $pc->send('GET', "/launcher/runs?launcher_id=$lid");
            sleep 0.3;
            my $held = !$pc->ready;
            my $d = $dc->request('DELETE', "/launchers/$lid" . ($self ? '?self=true' : ''));
            my $t0 = time;
            my $p = $pc->read(10);
            push @lat, time - $t0;
            push @ok, $held && $d->{status} == 200 && ($d->{worker} // '') eq $del_in
                && ($p->{worker} // '') eq $hold_in && $p->{json}
                && $p->{json}{deregistered};
        }
        ok $ok[0], 'external DELETE in B: poll held in A answers deregistered';
        ok $ok[1], 'DELETE ?self=true in A: poll held in B answers deregistered';
        cmp_ok $lat[0], '<', $LIMIT, sprintf('in %.3fs', $lat[0]);
        cmp_ok $lat[1], '<', $LIMIT, sprintf('in %.3fs', $lat[1]);
    }
    close_all($w);
};

flow 'a run ending in one worker answers a wait held in the other', 5, sub {
    my $w = worker_conns(1);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 4 if !$w;
        my ($A, $B) = pids($w);
        my (@ok, @lat);
        for my $dir ([$A, $B], [$B, $A]) {
            my ($hold_in, $end_in) = @$dir;
            my ($id, $lid) = run_in_state('running');
            my $wc = $w->{$hold_in}[0];
            my $ec = $w->{$end_in}[0];
            $wc->send('GET', "/runs/$id?wait=10");
            sleep 0.3;
            my $held = !$wc->ready;
            my $e = $ec->request('POST', "/launcher/runs/$id/completed",
                                 { launcher_id => $lid });
            my $t0 = time;
            my $r = $wc->read(10);
            push @lat, time - $t0;
            push @ok, $held && $e->{status} == 200 && ($e->{worker} // '') eq $end_in
                && ($r->{worker} // '') eq $hold_in
                && ($r->{json} || {})->{status} eq 'completed';
        }
        ok $ok[0], 'wait held in A, completed in B';
        ok $ok[1], 'wait held in B, completed in A';
        cmp_ok $lat[0], '<', $LIMIT, sprintf('in %.3fs', $lat[0]);
        cmp_ok $lat[1], '<', $LIMIT, sprintf('in %.3fs', $lat[1]);
    }
    close_all($w);
};

flow 'both workers see the same runs and launchers', 4, sub {
    my $w = worker_conns(1);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 3 if !$w;
        my ($A, $B) = pids($w);
        my $ca = $w->{$A}[0];
        my $cb = $w->{$B}[0];
        my $r = $ca->request('POST', '/runs', { type => 'start_session',
                                                session_name => 'shared',
                                                prompt => 'one' });
        my $id = ($r->{json} || {})->{run_id} // 'none';
        my $g = $cb->request('GET', "/runs/$id");
        is(($g->{json} || {})->{prompt}, 'one', 'created in A, read in B');
        my $l = $cb->request('POST', '/launcher/register', {});
        my $lid = ($l->{json} || {})->{launcher_id} // 'none';
        my $ls = $ca->request('GET', '/launchers');
        ok scalar(grep { $_->{launcher_id} eq $lid }
                  @{ ($ls->{json} || {})->{launchers} || [] }),
           'registered in B, listed in A';
        my $p = $ca->request('GET', "/launcher/runs?launcher_id=$lid");
        is((($p->{json} || {})->{run} || {})->{run_id}, $id,
           'registered in B, polls in A and gets the run created in A');
    }
    close_all($w);
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a run created in one worker wakes a poll held in the other
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;
--- config eval
$main::CONFIG



=== TEST 2: a stop in one worker wakes the owner's poll held in the other
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;
--- config eval
$main::CONFIG



=== TEST 3: a deregistration in one worker wakes a poll held in the other
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;
--- config eval
$main::CONFIG



=== TEST 4: a run ending in one worker answers a wait held in the other
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
--- config eval
$main::CONFIG



=== TEST 5: both workers see the same runs and launchers
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 2s;
--- config eval
$main::CONFIG
