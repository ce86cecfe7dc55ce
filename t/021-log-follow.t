# Log follows across worker processes: a follow held in one worker gets
# the pieces posted in the other at once, several followers in both
# workers get every byte in order, a follow ends when its run is deleted
# or when its worker shuts down (a reload), and a follower whose client
# leaves is released.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT worker_conns close_all log_post);
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

our $LIMIT = Runs::tf(1.0);

sub pids { my ($w) = @_; return $w ? sort keys %$w : () }

flow 'a follow in one worker gets what is posted in the other', 10, sub {
    my $w = worker_conns(3);
    ok $w, 'connections in two workers';
    SKIP: {
        skip 'needs two workers', 9 if !$w;
        my ($A, $B) = pids($w);
        my ($id, $lid) = run_in_state('running', undef, session_name => 'fw-a');

        # followers: two in A, one in B
        my @f = ($w->{$A}[0], $w->{$A}[1], $w->{$B}[0]);
        $_->send('GET', "/runs/$id/log?follow=1") for @f;
        my @h = map { $_->read_head(5) } @f;
        is scalar(grep { $_->{status} == 200 } @h), 3, 'three followers held';

        my (@lat, $expect);
        $expect = '';
        my $off = 0;
        for my $i (1 .. 10) {
            # posted alternately through each worker
            my $c = $w->{ $i % 2 ? $B : $A }[2];
            my $piece = "piece $i " . ('.' x $i) . "\n";
            my $t0 = time;
            my $r = $c->request('POST', "/launcher/runs/$id/log",
                                { launcher_id => $lid, offset => $off,
                                  data => $piece });
            $off = ($r->{json} || {})->{offset} // $off;
            my ($d) = $f[0]->read_stream(5, length $piece);
            push @lat, time - $t0;
            $expect .= $piece;
        }
        is $off, length $expect, 'every piece stored';
        my @sorted = sort { $a <=> $b } @lat;
        cmp_ok $sorted[-1], '<', $LIMIT, sprintf('each piece reached the follower in A within %.3fs (median %.4fs)',
                                                $sorted[-1], $sorted[5]);
        my ($b1) = $f[1]->read_stream(5, length $expect);
        my ($b2) = $f[2]->read_stream(5, length $expect);
        is $b1, $expect, 'the second follower in A: every byte in order';
        is $b2, $expect, 'the follower in B: every byte in order';

        launcher_event($id, 'completed', { launcher_id => $lid });
        my @ends = map { ($_->read_stream(5))[1] } @f;
        is_deeply \@ends, [1, 1, 1], 'all three answers end with the run';

        # a follow on a deleted session's run ends
        my ($p) = run_in_state('pending', undef, session_name => 'fw-b');
        my $fc = $w->{$A}[0];
        $fc->send('GET', "/runs/$p/log?follow=1");
        is $fc->read_head(5)->{status}, 200, 'a follow of a pending run is held';
        my $sid = (get_run($p) || {})->{session_id};
        my $d = $w->{$B}[2]->request('DELETE', "/sessions/$sid");
        is $d->{status}, 200, 'its session deleted in the other worker';
        my (undef, $e) = $fc->read_stream(5);
        is $e, 1, 'and the follow ended';
        close_all($w);
    }
};

flow 'a follower that leaves is released; a reload ends follows', 4, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'fw-c');
    for (1 .. 3) {
        my $c = Runs::Conn->new;
        $c->send('GET', "/runs/$id/log?follow=1");
        $c->read_head(5);
        $c->close;
    }
    my $ok;
    for (1 .. 40) {
        sleep 0.05;
        my $c = Runs::Conn->new;
        $c->send('GET', "/runs/$id/log?follow=1");
        my $s = $c->read_head(5)->{status};
        $c->close;
        if ($s == 200) { $ok = 1; last }
    }
    ok $ok, 'with runs_max_follows 1, a new follow is held once the others left';

    my $f = Runs::Conn->new;
    sleep 0.3;
    $f->send('GET', "/runs/$id/log?follow=1");
    is $f->read_head(5)->{status}, 200, 'a follow held';
    log_post($id, $lid, 0, "one\n");
    my ($d) = $f->read_stream(5, 4);
    is $d, "one\n", 'it streams';
    my $pid = `cat ${\ Runs::server_root()}/logs/nginx.pid`;
    chomp $pid;
    kill 'HUP', $pid;
    my (undef, $e) = $f->read_stream(10);
    is $e, 1, 'a reload ends the follow of the old worker';
    $f->close;
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a follow in one worker gets what is posted in the other
--- config
    location /runs { runs_api runs; add_header X-Worker $pid always; }
    location /launcher { runs_launcher_api runs; add_header X-Worker $pid always; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }



=== TEST 2: a follower that leaves is released; a reload ends follows
--- http_config
    runs_zone runs 4m;
    runs_max_follows 1;
--- no_error_log
[alert]
[emerg]
[crit]
