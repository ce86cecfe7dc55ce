# Run logs: a runner appends pieces by offset (a retried piece is never
# doubled, a gap answers 409 with the end), the zone keeps the newest
# runs_log_size bytes, GET /runs/{id}/log reads from an offset and says
# where it starts; who may post, hostile bodies; a follow held in one
# worker process streams what is posted and ends with the run; followers
# are capped (runs_max_follows); the logs of finished runs are given up
# before finished runs when the zone is full.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT log_post);
use Test::More;
use Time::HiRes qw(sleep time);

BEGIN {
    my $port = $ENV{TEST_NGINX_PORT} || 1984;
    $ENV{TEST_NGINX_H2_PORT} ||= $port + 1001;
}

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

sub log_of {
    my ($id, $query) = @_;
    return req('GET', "/runs/$id/log" . ($query ? "?$query" : ''));
}

sub follow {
    my ($id, $query) = @_;
    my $c = Runs::Conn->new(keepalive => 1);
    $c->send('GET', "/runs/$id/log?follow=1" . ($query ? "&$query" : ''));
    return $c;
}

flow 'pieces are placed by offset: a retry is never doubled, a gap is refused', 12, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-a');
    my $r = log_post($id, $lid, 0, "line one\n");
    is $r->{status}, 200, 'first piece: 200';
    is $r->{json}{offset}, 9, 'the end is after it';
    $r = log_post($id, $lid, 0, "line one\n");
    is "$r->{status} $r->{json}{offset}", '200 9', 'the same piece again: 200, nothing added';
    $r = log_post($id, $lid, 5, "one\nline two\n");
    is "$r->{status} $r->{json}{offset}", '200 18', 'a piece overlapping the end: only the new part';
    $r = log_post($id, $lid, 30, "later\n");
    is $r->{status}, 409, 'a piece beyond the end: 409';
    is $r->{json}{offset}, 18, 'which says where the log ends';
    like $r->{json}{detail}, qr/ends at 18, not 30/, 'and why';
    my $g = log_of($id);
    is $g->{body}, "line one\nline two\n", 'the log, byte for byte, once';
    is $g->{headers}{'x-log-offset'}, '0', 'X-Log-Offset: 0';
    is $g->{headers}{'x-log-end'}, '18', 'X-Log-End: 18';
    is $g->{headers}{'x-run-status'}, 'running', 'X-Run-Status';
    like $g->{headers}{'content-type'}, qr{^text/plain; charset=utf-8}, 'text/plain';
};

flow 'reads from an offset; the ring keeps the newest bytes', 14, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-b');
    is log_of($id)->{body}, '', 'no log yet: empty';
    is log_of($id)->{headers}{'x-log-end'}, '0', 'and it ends at 0';
    my $text = "\x{e9}t\x{e9} \"q\" \\ \t\x{1}\x{0} \x{1F600}\n";
    my $bytes = do { my $b = $text; utf8::encode($b); $b };
    my $r = log_post($id, $lid, 0, $text);
    is $r->{json}{offset}, length $bytes, 'offsets count UTF-8 bytes';
    is log_of($id)->{body}, $bytes, 'any UTF-8 comes back byte for byte';
    is log_of($id, 'offset=3')->{body}, substr($bytes, 3), '?offset=3 reads from byte 3';
    is log_of($id, 'offset=999')->{headers}{'x-log-offset'}, length $bytes,
        'an offset beyond the end starts at the end';

    # runs_log_size is 1k here: 3000 bytes keep the newest 1024
    my $end = length $bytes;
    my $all = $bytes;
    for my $i (1 .. 30) {
        my $p = sprintf("%04d", $i) . ('x' x 95) . "\n";
        $r = log_post($id, $lid, $end, $p);
        $end = $r->{json}{offset};
        $all .= $p;
    }
    is $end, length $all, 'every piece counted in the end';
    my $g = log_of($id);
    is $g->{headers}{'x-log-offset'}, length($all) - 1024, 'the oldest kept byte';
    is $g->{body}, substr($all, -1024), 'the newest runs_log_size bytes';
    $g = log_of($id, 'offset=5');
    is $g->{headers}{'x-log-offset'}, length($all) - 1024, 'an offset behind the ring starts at its oldest byte';

    # one piece larger than the ring, while a follower is at the end
    my $f = follow($id, "offset=$end");
    is $f->read_head(5)->{headers}{'x-log-offset'}, $end, 'a follower at the end';
    my $big = join('', map { sprintf("%05d\n", $_) } 1 .. 500);
    $r = log_post($id, $lid, $end, $big);
    is log_of($id)->{body}, substr($big, -1024), 'a piece larger than the ring: its newest bytes';
    my ($got, $ended) = $f->read_stream(5);
    is "$got|$ended", '|1', 'the ring overtook the follower: its answer ends, nothing skipped inside it';
    $f->close;
    $f = follow($id, "offset=$end");
    is $f->read_head(5)->{headers}{'x-log-offset'}, $end + length($big) - 1024,
        'asked again from where it was: X-Log-Offset shows the gap';
    $f->close;
};

flow 'who may post a log', 9, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-c');
    my $other = register_launcher();
    my $r = log_post($id, $other, 0, 'x');
    is $r->{status}, 409, "another launcher's run: 409";
    like $r->{json}{detail}, qr/another launcher/, 'says so';
    is log_post('run_000000000000', $lid, 0, 'x')->{status}, 404, 'unknown run: 404';
    is log_post('nonsense', $lid, 0, 'x')->{status}, 404, 'a malformed run id: 404';
    is log_post($id, 'lnch_000000000000', 0, 'x')->{status}, 401, 'unknown launcher: 401';
    my ($p) = run_in_state('pending', $lid, session_name => 'log-c2');
    is log_post($p, $lid, 0, 'x')->{status}, 409, 'a pending run: 409';
    launcher_event($id, 'completed', { launcher_id => $lid });
    $r = log_post($id, $lid, 0, 'x');
    is $r->{status}, 409, 'a finished run: 409';
    like $r->{json}{detail}, qr/log is closed/, 'its log is closed';
    is log_of($id)->{body}, '', 'and nothing was added';
};

flow 'hostile log bodies', 14, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-d');
    my $u = "/launcher/runs/$id/log";
    my %bad = (
        'offset missing'   => { launcher_id => $lid, data => 'x' },
        'offset negative'  => { launcher_id => $lid, offset => -1, data => 'x' },
        'offset a string'  => { launcher_id => $lid, offset => '0', data => 'x' },
        'offset a real'    => { launcher_id => $lid, offset => 1.5, data => 'x' },
        'data missing'     => { launcher_id => $lid, offset => 0 },
        'data a number'    => { launcher_id => $lid, offset => 0, data => 5 },
        'data null'        => { launcher_id => $lid, offset => 0, data => undef },
    );
    for my $k (sort keys %bad) {
        is req('POST', $u, $bad{$k})->{status}, 422, "$k: 422";
    }
    is req('POST', $u, qq({"launcher_id":"$lid","offset":99999999999999999999999,"data":"x"}))->{status},
        422, 'an offset beyond 64 bits: 422';
    is req('POST', $u, qq({"launcher_id":"$lid","offset":0,"data":"\xff\xfe"}))->{status},
        400, 'invalid UTF-8: 400';
    is req('POST', $u, qq({"launcher_id":"$lid","offset":0,"data":"tru))->{status},
        400, 'a truncated body: 400';
    is req('POST', $u)->{status}, 400, 'no body: 400';
    is log_of($id)->{body}, '', 'nothing was stored';

    # chunked, in pieces
    my $body = Runs::jenc({ launcher_id => $lid, offset => 0, data => 'c' x 5000 });
    my $c = Runs::Conn->new;
    my $raw = "POST $u HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Authorization: Bearer " . (Runs::token_of($lid) // '') . "\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n";
    for (my $i = 0; $i < length $body; $i += 777) {
        my $piece = substr($body, $i, 777);
        $raw .= sprintf("%x\r\n%s\r\n", length $piece, $piece);
    }
    $c->send_raw($raw . "0\r\n\r\n", 'POST');
    is $c->read->{status}, 200, 'a chunked body: 200';
    $c->close;
    is length(log_of($id)->{body}), 1024, 'stored (the newest 1k of it)';
};

flow 'bad log queries', 6, sub {
    my ($id) = run_in_state('running', undef, session_name => 'log-q');
    is log_of($id, 'offset=-1')->{status}, 422, 'offset=-1: 422';
    is log_of($id, 'offset=abc')->{status}, 422, 'offset=abc: 422';
    is log_of($id, 'offset=99999999999999999999999')->{status}, 422, 'an offset beyond 64 bits: 422';
    is log_of($id, 'follow=2')->{status}, 422, 'follow=2: 422';
    is req('POST', "/runs/$id/log")->{status}, 405, 'POST on a run\'s log: 405';
    is log_of('run_zzzzzzzzzzzz')->{status}, 404, 'a malformed run id: 404';
};

flow 'a follow streams what is posted and ends with the run', 12, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-e');
    log_post($id, $lid, 0, "before\n");
    my $f = follow($id);
    my $f2 = follow($id, 'offset=3');
    my $h = $f->read_head(5);
    is $h->{status}, 200, 'the follow answers 200 at once';
    is $h->{headers}{'x-log-offset'}, '0', 'from offset 0';
    like $h->{headers}{'transfer-encoding'} // '', qr/chunked/, 'chunked';
    my ($d) = $f->read_stream(5, 7);
    is $d, "before\n", 'what was there';
    is $f2->read_head(5)->{headers}{'x-log-offset'}, '3', 'a second follower from offset 3';
    my $t0 = time;
    log_post($id, $lid, 7, "during\n");
    ($d) = $f->read_stream(5, 7);
    is $d, "during\n", 'a piece posted later comes at once';
    cmp_ok time - $t0, '<', Runs::tf(1.0), 'within a second';
    log_post($id, $lid, 14, "last\n");
    launcher_event($id, 'completed', { launcher_id => $lid });
    my ($rest, $ended) = $f->read_stream(5);
    is "$rest|$ended", "last\n|1", 'the last piece, then the answer ends with the run';
    my ($all, $ended2) = $f2->read_stream(5);
    is "$all|$ended2", "ore\nduring\nlast\n|1", 'the second follower got it all too';
    $f->close;
    $f2->close;

    # a finished run's follow: its whole log, ended
    my $c = follow($id);
    is $c->read_head(5)->{status}, 200, 'following a finished run: 200';
    my ($b, $e) = $c->read_stream(5);
    is "$b|$e", "before\nduring\nlast\n|1", 'its whole log, and the end';
    $c->close;
    is follow('run_000000000000')->read_head(5)->{status}, 404, 'an unknown run: 404';
};

flow 'followers are capped; one that leaves frees its place', 7, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-f');
    my $a = follow($id);
    my $b = follow($id);
    is $a->read_head(5)->{status}, 200, 'follower 1 held';
    is $b->read_head(5)->{status}, 200, 'follower 2 held';
    my $c = follow($id);
    my $ch = $c->read_head(5);
    is $ch->{status}, 503, 'a third beyond runs_max_follows 2: 503';
    is $ch->{headers}{'retry-after'}, '1', 'with Retry-After';
    $c->close;
    $a->close;
    my $ok;
    for (1 .. 40) {
        sleep 0.05;
        my $d = follow($id);
        my $s = $d->read_head(5)->{status};
        $d->close;
        if ($s == 200) { $ok = 1; last }
    }
    ok $ok, 'the place of a follower that left is free again';
    # a stopped run ends its followers; a deleted run would too
    stop_run($id);
    launcher_event($id, 'stopped', { launcher_id => $lid });
    my ($x, $e) = $b->read_stream(5);
    is $e, 1, 'the follow ends when the run is stopped';
    $b->close;
    my $g = req('HEAD', "/runs/$id/log?follow=1");
    is $g->{status}, 200, 'HEAD with follow: the headers, not held';
};

flow 'a follower of a long log counts against the cap from its first read', 4, sub {
    my ($id, $lid) = run_in_state('running', undef, session_name => 'log-h');
    log_post($id, $lid, 0, join('', map { sprintf("%07d\n", $_) } 1 .. 2500));
    my $a = follow($id, 'offset=20000');
    is $a->read_head(5)->{status}, 200, 'a follower at the end holds the one place';
    my $b = follow($id);
    is $b->read_head(5)->{status}, 503, 'one from offset 0 (20 kB to send first): 503 at once';
    $b->close;
    my $t0 = time;
    is req('GET', "/runs/$id")->{status}, 200, 'the worker answers others';
    cmp_ok time - $t0, '<', 2, 'at once';
    $a->close;
};

flow 'HTTP/2 follows: streamed, and released when the client leaves', 4, sub {
    my $curl = `curl -V 2>/dev/null`;
    SKIP: {
        skip 'curl without HTTP/2', 4 if $curl !~ /HTTP2/;
        my $h2 = $ENV{TEST_NGINX_H2_PORT};
        my ($id, $lid) = run_in_state('running', undef, session_name => 'log-i');
        require File::Temp;
        my $dir = File::Temp::tempdir(CLEANUP => 1);
        my $pid = fork();
        if ($pid == 0) {
            exec 'curl', '-sN', '--http2-prior-knowledge', '-o', "$dir/out",
                 "http://127.0.0.1:$h2/runs/$id/log?follow=1";
            exit 1;
        }
        sleep 0.5;
        log_post($id, $lid, 0, "over h2\n");
        my $got = '';
        for (1 .. 40) {
            sleep 0.05;
            $got = do { local $/; open my $fh, '<', "$dir/out" or next; <$fh> } // '';
            last if $got eq "over h2\n";
        }
        is $got, "over h2\n", 'a piece reaches an HTTP/2 follower';
        my $c = follow($id);
        is $c->read_head(5)->{status}, 503, 'it holds the one place';
        $c->close;
        kill 'KILL', $pid;
        waitpid $pid, 0;
        my $ok;
        for (1 .. 40) {
            sleep 0.05;
            my $d = follow($id);
            my $s = $d->read_head(5)->{status};
            $d->close;
            if ($s == 200) { $ok = 1; last }
        }
        ok $ok, 'the HTTP/2 client gone, its place is free at once (no piece needed)';
        launcher_event($id, 'completed', { launcher_id => $lid });
        is req('GET', "/runs/$id")->{status}, 200, 'all well';
    }
};

flow 'a full zone gives up the logs of finished runs before finished runs', 7, sub {
    my $lid = register_launcher();
    my @done;
    for my $i (1 .. 6) {
        my ($id) = run_in_state('running', $lid, session_name => "log-g$i");
        log_post($id, $lid, 0, 'L' x 60000);
        launcher_event($id, 'completed', { launcher_id => $lid, result => "r$i" });
        push @done, $id;
    }
    is length(log_of($done[0])->{body}), 60000, 'a finished run keeps its log while there is room';
    my ($live) = run_in_state('running', $lid, session_name => 'log-g-live');
    log_post($live, $lid, 0, 'A' x 1000);

    # pending runs until the newest finished log is given up
    my $c = Runs::conn();
    my ($k, $s, $gone) = (0, 201, 0);
    while ($s == 201 && $k < 100000) {
        $s = $c->request('POST', '/runs', { type => 'start_session',
                                            session_name => 'fill-' . ++$k,
                                            prompt => 'p' x 700 })->{status};
        next if $k % 10;
        if (log_of($done[-1])->{body} eq '') { $gone = 1; last }
    }
    ok $gone, "the finished runs' logs were given up ($k runs created)";
    is scalar(grep { status_of($_) eq 'completed' } @done), 6,
        'while every finished run is still there';
    is((get_run($done[0]) || {})->{result}, 'r1', 'with its result');
    is log_of($done[-1])->{headers}{'x-log-evicted'}, 'true', 'a given-up log says so (X-Log-Evicted)';

    # on until the zone refuses: finished runs go, the live log stays
    while ($s == 201 && $k < 100000) {
        $s = $c->request('POST', '/runs', { type => 'start_session',
                                            session_name => 'fill-' . ++$k,
                                            prompt => 'p' x 700 })->{status};
    }
    $c->close;
    is $s, 503, 'then the zone filled up';
    is log_of($live)->{body}, 'A' x 1000, "a live run's log is kept";
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: pieces are placed by offset: a retry is never doubled, a gap is refused



=== TEST 2: reads from an offset; the ring keeps the newest bytes
--- http_config
    runs_zone runs 4m;
    runs_log_size 1k;



=== TEST 3: who may post a log



=== TEST 4: hostile log bodies
--- http_config
    runs_zone runs 4m;
    runs_log_size 1k;



=== TEST 5: bad log queries



=== TEST 6: a follow streams what is posted and ends with the run



=== TEST 7: followers are capped; one that leaves frees its place
--- http_config
    runs_zone runs 4m;
    runs_max_follows 2;
--- error_log
runs_max_follows log follows already



=== TEST 8: a follower of a long log counts against the cap from its first read
--- http_config
    runs_zone runs 4m;
    runs_max_follows 1;
--- error_log
runs_max_follows log follows already



=== TEST 9: HTTP/2 follows: streamed, and released when the client leaves
--- http_config
    runs_zone runs 4m;
    runs_max_follows 1;
    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT http2;
        location /runs { runs_api runs; }
    }
--- error_log
runs_max_follows log follows already



=== TEST 10: a full zone gives up the logs of finished runs before finished runs
--- http_config
    runs_zone runs 1m;
--- error_log
is full and holds no finished run to evict
