package Test::Nginx::Socket;

# Fallback re-implementation of Test::Nginx::Socket (openresty/test-nginx).
# Only used when the real module cannot be loaded (see t/fallback/README).
# Same exports, sections, test counting and nginx.conf layout as the real
# module; HTTP/2, HTTP/3, stap, check-leak, benchmark and the embedded
# TCP/UDP servers are not implemented.

use v5.10.1;
use strict;
use warnings;

use Test::Base -base;

our $VERSION = '0.29_fallback';

use Encode ();
use Time::HiRes qw( sleep time );
use Test::LongString;
use List::Util qw( min );
use IO::Select ();
use IO::Socket::INET ();
use Digest::MD5 ();
use Digest::SHA ();
use HTTP::Response ();
use POSIX qw( EAGAIN EWOULDBLOCK EINTR WNOHANG );
use Errno ();

use Test::Nginx::Util;

our @EXPORT = qw( env_to_nginx is_str plan run_tests run_test
  repeat_each config_preamble worker_connections
  master_process_enabled
  no_long_string workers master_on master_off
  log_level no_shuffle no_root_location use_hup
  server_name
  server_addr server_root html_dir server_port server_port_for_client
  timeout no_nginx_manager check_accum_error_log
  add_block_preprocessor bail_out add_cleanup_handler
  add_response_body_check
);

sub value_contains ($$);

our $TotalConnectingTimeouts = 0;
our @ResponseBodyChecks;

$RunTestHelper = \&run_test_helper;
$CheckErrorLog = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub run_test ($) { Test::Nginx::Util::run_test($_[0]) }

sub set_http_config_filter ($) { $FilterHttpConfig = shift }

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub no_ending () { Test::More->builder->no_ending(1) }

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# ---------------------------------------------------------------------------
# request construction

sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $is_chunked) = ('', undef);
    for my $line (split /\n+/, $in) {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val = '' if !defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Takes the user's request (as a list of packet strings), normalises the
# request line, inserts Host/Connection/Content-Length and the extra
# headers, and returns the transformed packets.  Packet boundaries of the
# original text are mapped onto the transformed text.
sub build_request_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $packets) = @_;

    my $orig = join '', map { $_ // '' } @$packets;

    my ($first, $content) = $orig =~ /\A([^\n]*\n?)(.*)\z/s;
    if (!defined $first || $first eq '') {
        bail_out("$name - Request line should be non-empty");
    }

    my @m = $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/;
    if (!@m) {
        bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    }
    my ($lead, $meth, $sp1, undef, $url, $sp2, undef, $ver, $sp3, $tail) = @m;

    my @edits;     # [orig_start, orig_len, replacement]
    my $p = 0;
    my $edit = sub {
        my ($len, $repl) = @_;
        push @edits, [$p, $len, $repl];
        $p += $len;
    };

    $edit->(length $lead, '');
    $edit->(length $meth, "$meth ");
    $edit->(length $sp1, '');
    if (defined $url) {
        $edit->(length $url, "$url ");
        $edit->(length $sp2, '');
    } else {
        $edit->(0, '/ ');
    }
    if (defined $ver) {
        $edit->(length $ver, "$ver\r\n");
        $edit->(length($sp3) + length($tail), '');
    } else {
        $edit->(0, "HTTP/1.1\r\n");
        $edit->(length $tail, '');
    }

    my $len_header = '';
    my $body = $content;
    if (!$is_chunked && $content ne '' && $more_headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($body) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n" if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    $edit->(0, $headers);
    $edit->(length $content, $body);

    my $transformed = join '', map { $_->[2] } @edits;

    my $map = sub {
        my $b = shift;
        my $t = 0;
        for my $e (@edits) {
            my ($s, $l, $r) = @$e;
            if ($s + $l <= $b) {
                $t += length $r;
            } elsif ($s < $b) {
                $t += min($b - $s, length $r);
            }
        }
        return $t;
    };

    my @out;
    my ($ob, $tb) = (0, 0);
    for my $i (0 .. $#$packets) {
        my $ob2 = $ob + length($packets->[$i] // '');
        my $tb2 = $i == $#$packets ? length($transformed) : $map->($ob2);
        push @out, substr($transformed, $tb, $tb2 - $tb);
        ($ob, $tb) = ($ob2, $tb2);
    }
    return \@out;
}

sub headers_for_idx ($$$) {
    my ($name, $more_headers, $i) = @_;
    if (ref $more_headers eq 'ARRAY') {
        my $hdr = $more_headers->[$i];
        if (!defined $hdr) {
            bail_out("$name - --- more_headers lacks data for the request #$i");
        }
        return parse_more_headers($hdr);
    }
    return parse_more_headers($more_headers);
}

# returns a list of requests; each request is a list of packets
# ({ value => ..., delay_before => ... })
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    my $raw = $block->raw_request;
    if (defined $raw) {
        if (ref $raw eq 'ARRAY') {
            return [[ map { { value => $_ } } @$raw ]];
        }
        return [[ { value => $raw } ]];
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
        }
    }

    my $more_headers = $block->more_headers || '';

    my $pipelined = $block->pipelined_requests;
    if ($pipelined) {
        if (ref $pipelined ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests");
        }
        my $all = '';
        for my $i (0 .. $#$pipelined) {
            my $conn = $i == $#$pipelined ? 'close' : 'keep-alive';
            my ($hdr, $chunked) = headers_for_idx($name, $more_headers, $i);
            $all .= build_request_packets($name, $hdr, $chunked, $conn,
                                          [$pipelined->[$i]])->[0];
        }
        return [[ { value => $all } ]];
    }

    if (!ref $request) {
        my ($hdr, $chunked) = headers_for_idx($name, $more_headers, 0);
        my $r = build_request_packets($name, $hdr, $chunked, 'close', [$request]);
        return [[ { value => $r->[0] } ]];
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of requests");
    }

    my @reqs;
    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        my ($hdr, $chunked) = headers_for_idx($name, $more_headers, $i);
        if (!ref $one) {
            my $r = build_request_packets($name, $hdr, $chunked, 'close', [$one]);
            push @reqs, [ { value => $r->[0] } ];

        } elsif (ref $one eq 'ARRAY') {
            my @texts;
            for my $pkt (@$one) {
                if (!ref $pkt) {
                    push @texts, $pkt;
                } elsif (ref $pkt eq 'HASH') {
                    push @texts, $pkt->{value};
                } else {
                    bail_out("$name - Invalid syntax. $pkt should be a string or hash with value.");
                }
            }
            my $r = build_request_packets($name, $hdr, $chunked, 'close', \@texts);
            my @pkts;
            for my $j (0 .. $#$r) {
                my $src = $one->[$j];
                if (ref $src eq 'HASH') {
                    push @pkts, { %$src, value => $r->[$j] };
                } else {
                    push @pkts, { value => $r->[$j] };
                }
            }
            push @reqs, \@pkts;

        } else {
            bail_out("$name - Invalid syntax. $one should be a string or an array of packets.");
        }
    }
    return \@reqs;
}

# ---------------------------------------------------------------------------
# HTTP client

sub connect_server ($$$$) {
    my ($name, $addr, $timeout, $tries) = @_;

    while (1) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $addr,
            PeerPort => $ServerPortForClient,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        return $sock if $sock;

        my $err = $!;
        my $total = $TotalConnectingTimeouts ? 20 : 50;
        if ($tries > $total) {
            my $msg = "$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n";
            if (++$TotalConnectingTimeouts < 3) {
                no_ending();
                Test::More::fail($msg);
            } else {
                bail_out($msg);
            }
            return undef;
        }

        my $wait = (sleep_time() + sleep_time() * $tries) * $tries / 2;
        $wait = 1 if $wait >= 1;

        if (defined $Test::Nginx::Util::ChildPid) {
            if (waitpid($Test::Nginx::Util::ChildPid, WNOHANG) != 0) {
                warn "WARNING: Child process $Test::Nginx::Util::ChildPid is already gone.\n";
                warn Test::Nginx::Util::err_log_tail(20);
                undef $Test::Nginx::Util::ChildPid;
                no_ending();
                Test::More::fail("$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n");
                return undef;
            }
        }

        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n";
            warn "\tRetry connecting after $wait sec\n" if $tries + 1 <= $total;
        }
        sleep $wait;
        $tries++;
    }
}

sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;

    my $name = $block->name;
    my @bits = @$req;

    my $head_req = (join('', map { $_->{value} // '' } @bits) =~ /^\s*HEAD\s+/) ? 1 : 0;

    my $addr = $block->server_addr_for_client;
    $addr = $ServerAddr if !defined $addr;

    my $sock = connect_server($name, $addr, $timeout, 1) or return (undef, $head_req);
    $sock->blocking(0);

    local $SIG{PIPE} = 'IGNORE';

    my $resp = '';
    my $cur = shift @bits;
    my $wbuf = $cur->{value} // '';
    my $woff = 0;
    my ($reading, $writing) = (1, 1);

    my $rsel = IO::Select->new($sock);
    my $wsel = IO::Select->new($sock);

  LOOP:
    while ($reading || $writing) {
        my ($r, $w) = IO::Select->select($reading ? $rsel : undef,
                                         $writing ? $wsel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next LOOP if $!{EINTR};
            # timed out
            close $sock;
            if (!defined $block->abort) {
                no_ending();
                Test::More::fail("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            last LOOP;
        }

        if ($r && @$r) {
            while (1) {
                my $n = sysread($sock, my $buf, 4096);
                if (!defined $n) {
                    last if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    ($reading, $writing) = (0, 0);
                    close $sock;
                    last LOOP;
                }
                if ($n == 0) {
                    ($reading, $writing) = (0, 0);
                    close $sock;
                    last LOOP;
                }
                $resp .= $buf;
            }
        }

        if ($writing && $w && @$w) {
            while (1) {
                my $rest = length($wbuf) - $woff;
                if ($rest > 0) {
                    my $n = syswrite($sock, $wbuf, $rest, $woff);
                    if (!defined $n) {
                        last if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                        my $msg = "write failed: $!";
                        warn "$msg\n";
                        $resp = $msg if $resp eq '';
                        ($reading, $writing) = (0, 0);
                        close $sock;
                        last LOOP;
                    }
                    $woff += $n;
                    next;
                }

                my $next = shift @bits;
                if (!defined $next) {
                    $writing = 0;
                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^\s*$/s;
                        shutdown($sock, $shutdown);
                    }
                    last;
                }

                $wbuf = $next->{value} // '';
                $woff = 0;
                my $delay = defined $next->{delay_before} ? $next->{delay_before}
                                                          : $middle_delay;
                sleep $delay if $delay;
            }
        }
    }

    return ($resp, $head_req);
}

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = '';
    if ($raw =~ /(.*?\r\n)\r\n/s) {
        $raw_headers = $1;
    }

    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    if (defined $code && $code ne '' && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $data = $res->content // '';
        my $decoded = '';
        my $pos = 0;
        while (1) {
            pos($data) = $pos;
            if ($data =~ /\G0[ \t]*\r\n\r\n/gc) {
                $pos = pos($data);
                $left = substr($data, $pos) if $pos < length $data;
                last;
            }
            pos($data) = $pos;
            if ($data =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                $pos = pos($data);
                if (length($data) - $pos < $size) {
                    no_ending();
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data section)");
                    return;
                }
                $decoded .= substr($data, $pos, $size);
                $pos += $size;
                if (substr($data, $pos, 2) ne "\r\n") {
                    no_ending();
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
                $pos += 2;
                next;
            }
            if ($pos < length $data) {
                no_ending();
                Test::More::fail("$name - invalid chunked body received: " . substr($data, $pos));
                return;
            }
            no_ending();
            Test::More::fail("$name - no last chunk found - $data");
            return;
        }
        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len >= 0) {
        my $data = $res->content // '';
        if (length $data < $len) {
            if (!$head_req) {
                warn "WARNING: $name - response body truncated: $len expected, but got ",
                     length $data, "\n";
            }
        } elsif (length $data > $len) {
            $left = substr($data, $len);
            $res->content(substr($data, 0, $len));
        }
    }

    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# checks

sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    if (ref $value eq 'ARRAY') {
        if ($idx != 0) {
            bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.");
        }
        return $value->[0];
    }
    return $value;
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    SKIP: {
        skip "$name - tests skipped due to $dry_run", 1 if $dry_run;
        if (defined $block->error_code_like) {
            my $pat = get_indexed_value($name, $block->error_code_like, $req_idx, $need_array);
            like($got, qr/$pat/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            is($got, get_indexed_value($name, $block->error_code, $req_idx, $need_array),
               "$name - status code ok");
        } else {
            is($got, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    for my $kind (qw( like unlike )) {
        my $spec = $kind eq 'like' ? $block->raw_response_headers_like
                                   : $block->raw_response_headers_unlike;
        next if !defined $spec;
        SKIP: {
            skip "$name - raw_response_headers_$kind - tests skipped due to $dry_run", 1 if $dry_run;
            my $pat = get_indexed_value($name, $spec, $req_idx, $need_array);
            if ($kind eq 'like') {
                like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
            } else {
                unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
            }
        }
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name, $block->response_headers,
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            if (!defined $val) {
                SKIP: {
                    skip "$name - response_headers - tests skipped due to $dry_run", 1 if $dry_run;
                    unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                           "$name - header $key not present in the raw headers");
                }
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? scalar $res->header($key) : undef;
            $actual = '' if !defined $actual;
            SKIP: {
                skip "$name - response_headers - tests skipped due to $dry_run", 1 if $dry_run;
                is($actual, $val, "$name - header $key ok");
            }
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name, $block->response_headers_like,
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            my $actual = $res ? scalar $res->header($key) : undef;
            $actual = '' if !defined $actual;
            SKIP: {
                skip "$name - response_headers_like - tests skipped due to $dry_run", 1 if $dry_run;
                like($actual, qr/^$val$/, "$name - header $key like ok");
            }
        }
    }
}

sub run_filter_helper ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;

    if (ref $filter eq 'CODE') {
        return $filter->($content);
    }
    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only supports "
                 . "subroutine reference values and string values");
    }
    my %builtin = (
        md5_hex  => \&Digest::MD5::md5_hex,
        sha1_hex => \&Digest::SHA::sha1_hex,
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $builtin{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    return if !defined $res;
    my $content = $res->content;
    return if !defined $content;

    my $filters = $block->response_body_filters;
    return if !defined $filters;

    my $name = $block->name;
    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    my $chain = $filters;
    if (ref $filters->[0] eq 'ARRAY') {
        for my $e (@$filters) {
            if (ref $e ne 'ARRAY') {
                bail_out("$name - the --- response_body_filters two-dimensional array "
                         . "only be like [[uc], [lc]] not [[uc], lc]");
            }
        }
        $chain = $filters->[$req_idx];
        if (!defined $chain) {
            bail_out("$name - the ---response_body_filters two-dimensional array "
                     . "unmatch the specified request($req_idx)");
        }
    }

    for my $f (@$chain) {
        $content = run_filter_helper($block, $f, $content);
    }
    $res->content($content);
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
            $expected = eval get_indexed_value($name, $block->response_body_eval,
                                               $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $req_idx, $need_array);
        }

        if ($block->charset) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }

        SKIP: {
            skip "$name - response_body - tests skipped due to $dry_run", 1 if $dry_run;
            my $desc = "(repeated req $repeated_req_idx, req $req_idx)";
            if (ref $expected) {
                like($content, $expected, "$name - response_body - like $desc");
            } elsif ($Test::Nginx::Util::NoLongString) {
                is($content, $expected, "$name - response_body - response is expected $desc");
            } else {
                is_string($content, $expected,
                          "$name - response_body - response is expected $desc");
            }
        }

    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my ($patterns, $type);
        if (defined $block->response_body_like) {
            ($patterns, $type) = ($block->response_body_like, 'like');
        } else {
            ($patterns, $type) = ($block->response_body_unlike, 'unlike');
        }

        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $pat = get_indexed_value($name, $patterns, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content) // '';

        SKIP: {
            skip "$name - response_body_$type - tests skipped due to $dry_run", 1 if $dry_run;
            my $desc = "$name - response_body_$type - response is expected ($summary)";
            if ($type eq 'like') {
                like($content, qr/$pat/s, $desc);
            } else {
                unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, ($res ? $res->content : undef), $req_idx, $repeated_req_idx, $dry_run);
    }
}

sub value_contains ($$) {
    my ($val, $pat) = @_;
    return 0 if !defined $val;
    if (!ref $val || ref $val eq 'Regexp') {
        return index("$val", $pat) >= 0;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }
    return 0;
}

sub pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return 1 if ref $pat && $line =~ /$pat/;
    return index($line, "$pat") >= 0;
}

# "must appear" checks: one pass/fail per pattern
sub check_must_match ($$$$$$) {
    my ($name, $what, $pats, $lines, $dry_run, $suffix) = @_;
    my @left = @$pats;
    for my $line (@{ $lines || [] }) {
        for my $pat (@left) {
            next if !defined $pat;
            if (line_matches($line, $pat)) {
                SKIP: {
                    skip "$name - $what - tests skipped due to $dry_run", 1 if $dry_run;
                    pass("$name - pattern \"$pat\" matches a line in $what$suffix");
                }
                undef $pat;
            }
        }
    }
    for my $pat (@left) {
        next if !defined $pat;
        SKIP: {
            skip "$name - $what - tests skipped due to $dry_run", 1 if $dry_run;
            fail("$name - pattern \"$pat\" should match a line in $what$suffix");
        }
    }
}

# "must not appear" checks: one fail per matching line, else one pass per
# pattern
sub check_must_not_match ($$$$$$$) {
    my ($name, $section, $what, $pats, $lines, $dry_run, $suffix) = @_;
    my %found;
    $lines ||= [];
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next if !defined $pat;
            next if !line_matches($line, $pat);
            if ($found{$pat}++) {
                no_ending();
            }
            SKIP: {
                skip "$name - $section - tests skipped due to $dry_run ($line)", 1 if $dry_run;
                my $ln = fmt_str($line);
                my $p = fmt_str($pat);
                my $end = min($i + 10, @$lines - 1);
                my $more = join '', @{$lines}[$i + 1 .. $end - 1];
                fail("$name - pattern \"$p\" should not match any line in $what "
                     . "but matches line \"$ln\"$suffix\n" . $more);
            }
        }
    }
    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        SKIP: {
            skip "$name - $section - tests skipped due to $dry_run", 1 if $dry_run;
            my $p = fmt_str($pat);
            pass("$name - pattern \"$p\" does not match a line in $what$suffix");
        }
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;
    my $suffix = " (req $repeated_req_idx)";

    if (defined $block->access_log) {
        $lines ||= access_log_data();
        check_must_match($name, 'access.log', pattern_list($block->access_log),
                         $lines, $dry_run, $suffix);
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        check_must_not_match($name, 'no_access_log', 'access.log',
                             pattern_list($block->no_access_log), $lines, $dry_run, $suffix);
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my $suffix = " (req $repeated_req_idx)";

    my %warn_on = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    my $grep_pats = $block->grep_error_log;
    my $grep_pat;
    if (defined $grep_pats) {
        $grep_pat = ref $grep_pats eq 'ARRAY' ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        if (!defined $expected) {
            bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined");
        }
        $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';

        SKIP: {
            skip "$name - error_log - tests skipped due to $dry_run", 1 if $dry_run;
            $lines ||= error_log_data();
            my $matched = '';
            for my $line (@{ $lines || [] }) {
                my $m;
                if (ref $grep_pat) {
                    $m = $& if $line =~ /$grep_pat/;
                } elsif (index($line, $grep_pat) >= 0) {
                    $m = $grep_pat;
                }
                $matched .= "$m\n" if defined $m && $m !~ /\n/;
            }
            my $desc = "$name - grep_error_log_out$suffix";
            if (ref $expected eq 'Regexp') {
                like($matched, $expected, $desc);
            } elsif ($Test::Nginx::Util::NoLongString) {
                is($matched, $expected, $desc);
            } else {
                is_string($matched, $expected, $desc);
            }
        }
    }

    for my $section (qw( error_log no_error_log )) {
        my $pats = $block->$section;
        next if !defined $pats;
        for my $tag ('[alert', '[crit', '[emerg') {
            delete $warn_on{"$tag]"} if value_contains($pats, $tag);
        }
        $lines ||= error_log_data();
        if ($section eq 'error_log') {
            check_must_match($name, 'error.log', pattern_list($pats), $lines, $dry_run, $suffix);
        } else {
            check_must_not_match($name, 'no_error_log', 'error.log', pattern_list($pats),
                                 $lines, $dry_run, $suffix);
        }
    }

    if (!$dry_run && %warn_on) {
        $lines ||= error_log_data();
        for my $line (@{ $lines || [] }) {
            for my $tag (sort keys %warn_on) {
                if (index($line, $tag) >= 0) {
                    warn "WARNING: $name - " . fmt_str($line) . "\n";
                }
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            no_ending();
            my $l = $line;
            chomp $l;
            fail("$name - $l\n");
        }
    }
}

sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines;

    my $pats = pattern_list($block->shutdown_error_log);

    if (defined $block->no_shutdown_error_log) {
        $lines ||= error_log_data();
        check_must_not_match($name, 'no_shutdown_error_log', 'error.log',
                             pattern_list($block->no_shutdown_error_log),
                             $lines, $dry_run, '');
    }

    $lines ||= error_log_data();
    check_must_match($name, 'error.log', $pats, $lines, $dry_run, '');

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*? failed\.$/) {
            no_ending();
            my $l = $line;
            chomp $l;
            fail("$name - $l");
        }
    }
}

# ---------------------------------------------------------------------------
# per-block driver (called once per repeat_each iteration)

sub run_test_helper ($$;$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    $repeated_req_idx //= 0;

    my $name = $block->name;
    my $reqs = get_req_from_block($block);

    if (!@$reqs) {
        bail_out("$name - request empty");
    }

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() if !defined $timeout;

    my $pipelined = $block->pipelined_requests;
    my $need_array = $pipelined ? 1 : @$reqs > 1;

    my $res;
    my $req_idx = 0;

    for my $ri (0 .. $#$reqs) {
        my ($raw, $head_req);
        if ($dry_run) {
            $raw = "200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw, $head_req) = send_request($reqs->[$ri], $block->raw_request_middle_delay,
                                             $timeout, $block);
        }

        # number of responses still expected on this connection
        my $n = $pipelined ? scalar(@$pipelined) : 0;

        while (1) {
            warn "!!! resp: [" . ($raw // '') . "]" if $Test::Nginx::Util::Verbose;
            $raw = '' if !defined $raw;

            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = HTTP::Response->new(200, "OK", [], $raw);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
                }
            }

            if (!$n) {
                if ($left) {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last chunk in "
                         . "response: \"$l\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers // '', $dry_run, $req_idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers // '', $dry_run, $req_idx,
                                       $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx, $repeated_req_idx,
                                    $need_array);
            }

            if ($n || $ri < $#$reqs) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
                check_access_log($block, $dry_run, $repeated_req_idx)
                    if !defined $block->ignore_response;
            }

            $req_idx++;
            last if !$n;
        }
    }

    sleep $block->wait if $block->wait;

    # systemtap is not supported; the real module also just skips one
    # subtest per iteration when TEST_NGINX_USE_STAP is unset
    if ($block->{stap}) {
        SKIP: {
            skip "$name - stap_out - tests skipped due to env TEST_NGINX_USE_STAP is not set", 1;
        }
    }

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
    check_access_log($block, $dry_run, $repeated_req_idx) if !defined $block->ignore_response;
}

1;
