# Requests as HTTP allows them, not only as curl sends them: chunked
# bodies of every size (in memory and spilled to a temp file) on every
# endpoint that takes a body, bad and truncated chunked framing, HTTP/1.0,
# pipelined requests (also behind a held poll), HEAD wherever GET is
# answered, and HTTP/2 bodies with and without a length.  No request
# may crash or wedge a worker; every one gets an answer.

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
    $ENV{TEST_NGINX_H2_PORT} ||= $port + 1000;
}

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $n = 0;

# a JSON object of about $size bytes: %$fields plus a "pad" member
sub body_of {
    my ($size, %fields) = @_;
    return '' if $size == 0;
    my $base = Runs::jenc({ %fields, pad => '' });
    my $pad = $size - length $base;
    $pad = 0 if $pad < 0;
    return Runs::jenc({ %fields, pad => 'p' x $pad });
}

# $body sent chunked, in pieces of 1 to $max bytes
sub chunked {
    my ($body, $max) = @_;
    my $out = '';
    my $i = 0;
    while ($i < length $body) {
        my $k = 1 + int(rand($max // 4096));
        $k = length($body) - $i if $i + $k > length $body;
        $out .= sprintf("%x\r\n", $k) . substr($body, $i, $k) . "\r\n";
        $i += $k;
    }
    return $out . "0\r\n\r\n";
}

sub send_chunked {
    my ($path, $body, $max) = @_;
    my $c = Runs::Conn->new;
    my $auth = Runs::token_header($path, $body, {});
    my $req = "POST $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              . "Content-Type: application/json\r\n"
              . (defined $auth ? "Authorization: $auth\r\n" : '')
              . "Transfer-Encoding: chunked\r\n\r\n" . chunked($body, $max);
    my $res = eval { $c->send_raw($req, 'POST'); $c->read(20) }
              || { status => 0, error => $@ };
    $c->close;
    return $res;
}

# runs created by the tests of POST /runs would be claimed first
sub stop_pending {
    my ($runs) = list_runs('status=pending&limit=10000');
    stop_run($_->{run_id}) for @$runs;
}

sub alive {
    return Runs::req('GET', '/runs?limit=1')->{status} == 200;
}

# sizes: empty, tiny, under and over client_body_buffer_size (in memory /
# in a temp file), and large
my @SIZES = (0, 2, 700, 15000, 70000, 600000);

# every endpoint that reads a body: [name, path maker, body maker, status
# for an empty body, status otherwise]
sub endpoints {
    my $lid = register_launcher(hostname => 'chunked');
    my $run_for = sub {
        my ($state) = @_;
        stop_pending();
        my ($id) = run_in_state($state, $lid, session_name => 'ck-' . ++$n);
        return $id;
    };
    return (
        ['create', sub { '/runs' },
         sub { body_of($_[0], type => 'start_session',
                       session_name => 'ck-' . ++$n, prompt => 'hi') },
         400, 201],
        ['register', sub { '/launcher/register' },
         sub { body_of($_[0], hostname => 'h') }, 200, 200],
        ['heartbeat', sub { '/launcher/heartbeat' },
         sub { body_of($_[0], launcher_id => $lid) }, 400, 200],
        ['started', sub { '/launcher/runs/' . $run_for->('claimed') . '/started' },
         sub { body_of($_[0], launcher_id => $lid) }, 400, 200],
        ['completed', sub { '/launcher/runs/' . $run_for->('running') . '/completed' },
         sub { body_of($_[0], launcher_id => $lid) }, 400, 200],
        ['failed', sub { '/launcher/runs/' . $run_for->('running') . '/failed' },
         sub { body_of($_[0], launcher_id => $lid, error => 'e') }, 400, 200],
        ['stopped', sub { '/launcher/runs/' . $run_for->('stopping') . '/stopped' },
         sub { body_of($_[0], launcher_id => $lid, signal => 'SIGTERM') }, 400, 200],
        ['stop', sub { '/runs/' . $run_for->('pending') . '/stop' },
         sub { body_of($_[0], anything => 1) }, 200, 200],
    );
}

flow 'chunked bodies of every size on every endpoint that takes one', 8 * 6 + 2, sub {
    my @bad;
    for my $ep (endpoints()) {
        my ($name, $path, $body, $empty, $full) = @$ep;
        for my $size (@SIZES) {
            my $res = send_chunked($path->(), $body->($size), $size > 20000 ? 8192 : 300);
            my $want = $size ? $full : $empty;
            is $res->{status}, $want, "$name, $size bytes chunked: $want"
                or diag($res->{body} // $res->{error});
        }
        push @bad, $name if !alive();
    }
    is "@bad", '', 'the worker answered after every endpoint';
    my $lines = Runs::error_log_lines(qr/signal \d+|\[alert\]|\[crit\]/);
    is_deeply $lines // [], [], 'no worker died, nothing logged at alert or crit';
};

flow 'the same bodies with a length, split across many writes', 8 + 1, sub {
    for my $ep (endpoints()) {
        my ($name, $path, $body, $empty, $full) = @$ep;
        my $b = $body->(70000);
        my $c = Runs::Conn->new;
        my $p = $path->();
        my $req = "POST $p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                  . "Content-Length: " . length($b) . "\r\n\r\n" . $b;
        # a slow client: the body arrives in pieces
        for (my $i = 0; $i < length $req; $i += 16384) {
            $c->send_raw(substr($req, $i, 16384), 'POST');
            sleep 0.002;
        }
        my $res = $c->read(20);
        $c->close;
        is $res->{status}, $full, "$name, 70000 bytes in pieces: $full";
    }
    ok alive(), 'still answering';
};

flow 'broken chunked framing and truncated bodies', 10, sub {
    my $c = Runs::Conn->new;
    $c->send_raw("POST /runs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 . "zz\r\n{}\r\n0\r\n\r\n", 'POST');
    my $res = $c->read(10);
    $c->close;
    is $res->{status}, 400, 'a chunk size that is not hex: 400';
    like $res->{body}, qr/^\{"detail":"Bad request: nginx could not read it/, 'as JSON';

    # the client goes away in the middle of a chunk, and in the middle of
    # a body with a length
    for my $req ("POST /launcher/register HTTP/1.1\r\nHost: x\r\n"
                 . "Transfer-Encoding: chunked\r\n\r\n400\r\n{\"hostname\": \"",
                 "POST /runs HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n"
                 . "{\"type\": \"start_session\", \"prompt\": \"" . ('x' x 30000))
    {
        my $k = Runs::Conn->new;
        $k->send_raw($req, 'POST');
        sleep 0.1;
        $k->close;
    }
    sleep 0.2;
    ok alive(), 'the worker lives on after two truncated bodies';

    # over client_max_body_size (1m here), chunked: nginx refuses it
    my $big = body_of(1_500_000, type => 'start_session', session_name => 'big',
                      prompt => 'x');
    $res = send_chunked('/runs', $big, 65536);
    is $res->{status}, 413, 'a chunked body over client_max_body_size: 413';
    like $res->{body}, qr/^\{"detail":"Request body too large: the limit \(client_max_body_size\) is 1048576 bytes"\}$/,
        'with a JSON detail naming the limit';
    is $res->{headers}{'content-type'}, 'application/json', 'as application/json';
    $res = Runs::req('POST', '/runs', $big);
    is $res->{status}, 413, 'the same with a length: 413';
    like $res->{body}, qr/client_max_body_size\) is 1048576 bytes/, 'the same detail';
    $res = Runs::req('GET', '/nowhere-413');
    like $res->{body}, qr/<html>/, 'outside the API nginx answers as it always does';
    ok alive(), 'still answering';
};

flow 'HTTP/1.0', 6, sub {
    my $c = Runs::Conn->new;
    $c->send_raw("GET /runs?limit=1 HTTP/1.0\r\n\r\n", 'GET');
    my $res = $c->read(10);
    $c->close;
    is $res->{status}, 200, 'GET /runs over HTTP/1.0 without a Host: 200';
    like $res->{body}, qr/^\{"runs":/, 'with the listing';

    my $body = Runs::jenc({ type => 'start_session', session_name => 'h10',
                            prompt => 'over 1.0' });
    $c = Runs::Conn->new;
    $c->send_raw("POST /runs HTTP/1.0\r\nContent-Length: " . length($body)
                 . "\r\n\r\n$body", 'POST');
    $res = $c->read(10);
    $c->close;
    is $res->{status}, 201, 'POST /runs over HTTP/1.0: 201';

    # a held request over HTTP/1.0 ends with the connection
    stop_pending();
    my $lid = register_launcher();
    $c = Runs::Conn->new;
    $c->send_raw("GET /launcher/runs?launcher_id=$lid HTTP/1.0\r\n\r\n", 'GET');
    sleep 0.2;
    ok !$c->ready, 'a poll over HTTP/1.0 is held';
    my $id = create_run(session_name => 'h10-poll');
    $res = $c->read(10);
    is $res->{status}, 200, 'and answered with the run';
    is $res->{json} && $res->{json}{run}{run_id}, $id, 'the one created';
    $c->close;
};

flow 'pipelined requests', 7, sub {
    my $lid = register_launcher();
    my $b1 = Runs::jenc({ type => 'start_session', session_name => 'pipe-1',
                          prompt => 'one' });
    my $b2 = Runs::jenc({ launcher_id => $lid });
    my $c = Runs::conn();
    $c->send_raw("POST /runs HTTP/1.1\r\nHost: x\r\nContent-Length: " . length($b1)
                 . "\r\n\r\n$b1"
                 . "GET /runs?session_name=pipe-1 HTTP/1.1\r\nHost: x\r\n\r\n"
                 . "POST /launcher/heartbeat HTTP/1.1\r\nHost: x\r\n"
                 . "Authorization: Bearer " . (Runs::token_of($lid) // '') . "\r\n"
                 . "Transfer-Encoding: chunked\r\n\r\n" . chunked($b2, 5)
                 . "HEAD /launchers HTTP/1.1\r\nHost: x\r\n\r\n", 'POST');
    my @res;
    for my $m ('POST', 'GET', 'POST', 'HEAD') {
        $c->{method} = $m;
        push @res, $c->read(10);
    }
    is_deeply [map { $_->{status} } @res], [201, 200, 200, 200],
        'four pipelined requests, four answers in order';
    is scalar(@{ ($res[1]{json} || {})->{runs} || [] }), 1, 'the GET saw the POST before it';
    is $res[3]{body}, '', 'HEAD: no body';

    # a poll held with a request pipelined behind it
    stop_pending();
    $c->{method} = 'GET';
    $c->send_raw("GET /launcher/runs?launcher_id=$lid HTTP/1.1\r\nHost: x\r\n\r\n"
                 . "GET /runs?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n", 'GET');
    sleep 0.3;
    ok !$c->ready, 'the poll is held although a request waits behind it';
    my $id = create_run(session_name => 'pipe-2');
    my $r1 = $c->read(10);
    my $r2 = $c->read(10);
    is $r1->{json} && $r1->{json}{run} && $r1->{json}{run}{run_id} // '', $id,
        'the poll answers with the new run';
    is $r2->{status}, 200, 'then the pipelined request is answered';
    $c->close;
    ok alive(), 'still answering';
};

flow 'HEAD wherever GET is answered', 11, sub {
    my $lid = register_launcher();
    my $id = create_run(session_name => 'head-1');
    for my $path ('/runs', "/runs/$id", '/launchers') {
        my $r = Runs::req('HEAD', $path);
        is $r->{status}, 200, "HEAD $path: 200";
        ok defined $r->{headers}{'content-length'}, "HEAD $path: with its length";
    }
    is Runs::req('HEAD', '/runs/run_000000000000')->{status}, 404, 'HEAD of an unknown run: 404';
    my $r = Runs::req('HEAD', "/launcher/runs?launcher_id=$lid");
    is $r->{status}, 204, 'HEAD poll: 204, nothing claimed';
    is status_of($id), 'pending', 'the run is still pending';
    is Runs::req('HEAD', '/launcher/runs?launcher_id=lnch_000000000000')->{status}, 401,
        'HEAD poll of an unknown launcher: 401';
    $r = Runs::req('HEAD', '/launcher/register');
    is $r->{status} . ' ' . ($r->{headers}{allow} // ''), '405 POST',
        'HEAD where only POST is answered: 405, Allow: POST';
};

flow 'HTTP/2 bodies with and without a length', 5, sub {
    my $port = $ENV{TEST_NGINX_H2_PORT};
    my $curl = `curl -V 2>/dev/null`;
    SKIP: {
        skip 'curl without HTTP/2', 5 if $curl !~ /HTTP2/;
        require File::Temp;
        my $dir = File::Temp::tempdir(CLEANUP => 1);
        my %bodies = (small => body_of(100, type => 'start_session', session_name => 'h2-a',
                                       prompt => 'x'),
                      large => body_of(90000, type => 'start_session', session_name => 'h2-b',
                                       prompt => 'x'));
        for my $k (sort keys %bodies) {
            open my $fh, '>', "$dir/h2-$k.json" or die;
            print $fh $bodies{$k};
            close $fh;
        }
        my $base = "curl -s -o /dev/null -w '%{http_version} %{http_code}' --http2-prior-knowledge"
                   . " -H 'Content-Type: application/json'";
        is `$base --data-binary \@$dir/h2-small.json http://127.0.0.1:$port/runs`, '2 201',
            'HTTP/2 POST with a length: 201';
        # from stdin: no length, the body ends with the stream
        is `$base --data-binary \@- http://127.0.0.1:$port/runs < $dir/h2-large.json`, '2 201',
            'HTTP/2 POST without a length, 90 kB: 201';
        is `$base --data-binary \@- http://127.0.0.1:$port/launcher/register < /dev/null`,
            '2 200', 'HTTP/2 empty body: 200';
        is `$base -I http://127.0.0.1:$port/runs`, '2 200', 'HTTP/2 HEAD: 200';
        ok alive(), 'still answering';
    }
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: chunked bodies of every size on every endpoint that takes one
--- http_config
    runs_zone runs 16m;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the same bodies with a length, split across many writes
--- http_config
    runs_zone runs 16m;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: broken chunked framing and truncated bodies
--- http_config
    runs_zone runs 16m;
--- config
    location /runs { runs_api runs; client_max_body_size 1m; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
--- no_error_log
[alert]
[crit]



=== TEST 4: HTTP/1.0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: pipelined requests
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: HEAD wherever GET is answered
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: HTTP/2 bodies with and without a length
--- http_config
    runs_zone runs 4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT http2;
        location /runs { runs_api runs; }
        location /launcher { runs_launcher_api runs; }
    }
--- no_error_log
[error]
[alert]
[crit]
