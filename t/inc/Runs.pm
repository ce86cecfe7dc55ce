package Runs;

# Helpers shared by the ngx_http_runs_module test suites.
#
# Pure Perl (core modules only): a small HTTP/1.1 client over
# IO::Socket::INET talking to the nginx that Test::Nginx::Socket started
# on 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}, JSON::PP decoding, and
# "flows": multi-step scripts with Test::More assertions that a block's
# add_response_body_check hook runs, keyed by the block's title.
#
# A flow block is its title plus the configuration sections it needs:
# preprocess() gives it a request (flow_request), after whose answer the
# flow runs.  Flows stay in Test::Nginx blocks rather than plain prove
# files: a block gives them nginx started with their configuration, the
# error-log checks after them and build.sh's valgrind and UBSan passes,
# under the real Test::Nginx::Socket and the fallback alike.
#
# Every flow declares how many assertions it makes; the hook pads with
# failures when a flow dies early, so plan counts stay exact.  plan_count()
# computes a file's plan from its blocks the way Test::Nginx::Socket counts
# (one status check per request, one body check per request when a body
# section is present, one per expected header, one per error_log /
# no_error_log pattern after every request, must_die: one exit check plus
# the log patterns), plus each flow's declared count; a flow block counts
# the request and body check preprocess() will give it.
#
# preprocess() fills in what a block leaves out: the module's main_config,
# http_config and config, the request of a flow block, and the standard
# no_error_log (see default_no_error_log; an empty "--- no_error_log" asks
# for no check).

use strict;
use warnings;

use IO::Socket::INET ();
use IO::Select ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use POSIX ();
use Test::More ();

use Exporter 'import';

our @EXPORT = qw(
    flow plan_count flow_hook
    req conn hold collect
    jenc jdec
    create_run register_launcher poll_once launcher_event get_run
    list_runs stop_run deregister claim run_in_state status_of
    wait_for
);

# the runsctl helpers, for suites that import them by name
our @EXPORT_OK = qw(
    runsctl runsctl_bg runsctl_running runsctl_finish runsctl_url
    no_sanitizer_reports
    access_log_lines
    worker_conns close_all
    log_post
);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub jenc { $JSON->encode($_[0]) }

# JSON's true and false, for bodies and comparisons
sub jtrue { JSON::PP::true }
sub jfalse { JSON::PP::false }

sub jdec {
    my ($text) = @_;
    return undef if !defined $text || $text eq '';
    my $v = eval { $JSON->decode($text) };
    return $v;
}

sub port {
    return $ENV{TEST_NGINX_CLIENT_PORT} || $ENV{TEST_NGINX_SERVER_PORT}
           || $ENV{TEST_NGINX_PORT} || 1984;
}

sub server_root {
    return $ENV{TEST_NGINX_SERVER_ROOT} || $ENV{TEST_NGINX_SERVROOT}
           || 't/servroot';
}

sub error_log_path { server_root() . '/logs/error.log' }

# the module under test: the runner sets TEST_NGINX_RUNS_MODULE; default to
# the build tree next to t/
if (!$ENV{TEST_NGINX_RUNS_MODULE}) {
    require File::Basename;
    require File::Spec;
    my $dir = File::Spec->rel2abs(File::Basename::dirname(__FILE__));
    $ENV{TEST_NGINX_RUNS_MODULE} =
        File::Spec->catfile($dir, '..', '..', 'build',
                            'ngx_http_runs_module.so');
}

our $DEFAULT_MAIN_CONFIG = 'load_module $TEST_NGINX_RUNS_MODULE;';
our $DEFAULT_HTTP_CONFIG = 'runs_zone runs 4m;';
our $DEFAULT_CONFIG = <<'_EOC_';
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
_EOC_

# title (without "TEST n: ") => [number of assertions, code], by flow()
our %FLOWS;

# the error-log check of a block that says nothing about the error log
our $DEFAULT_NO_ERROR_LOG = "[error]\n[alert]\n[emerg]\n[crit]\n";

# The no_error_log section preprocess() adds to a block, or undef when it
# adds none: not when the block has its own (an empty "--- no_error_log"
# opts out of any check: Test::Nginx reads it as no pattern at all), not
# for must_die (nginx does not start; its [emerg] is expected), and not
# when the block has an error_log section (a pattern does not tell the
# level of the line it expects, which may well be [error]).
sub default_no_error_log {
    my ($block) = @_;
    return undef if defined _sec($block, 'no_error_log')
                    || defined _sec($block, 'must_die')
                    || defined _sec($block, 'error_log');
    return $DEFAULT_NO_ERROR_LOG;
}

# The request preprocess() gives a block that has a flow and no request of
# its own, as { request => ..., response_body_like => ... }, else undef:
# the first listing its configuration mounts (runs, else launchers) is
# read and must answer 200 with a JSON listing before the flow runs.
sub flow_request {
    my ($block) = @_;
    return undef if !$FLOWS{ _key($block->name) };
    for my $s (qw(request request_eval raw_request pipelined_requests)) {
        return undef if defined _sec($block, $s);
    }
    my $config = _sec($block, 'config') // $DEFAULT_CONFIG;
    for my $api (['runs_api', '?limit=1', 'runs'],
                 ['runs_launchers_api', '', 'launchers'])
    {
        my ($handler, $query, $key) = @$api;
        next if $config !~ m#\blocation\s+(?:=\s*)?(/\S*)\s*\{[^}]*\b$handler\s#;
        return { request => "GET $1$query",
                 response_body_like => '^\{.*"' . $key . '"\s*:\s*\[' };
    }
    die _key($block->name) . ": a flow block without a request needs a "
        . "location with runs_api or runs_launchers_api\n";
}

# for add_block_preprocessor: fill in the sections a block leaves out
sub preprocess {
    my ($block) = @_;
    if (!defined _sec($block, 'main_config')) {
        $block->set_value('main_config', $DEFAULT_MAIN_CONFIG);
    }
    if (!defined _sec($block, 'http_config')) {
        $block->set_value('http_config', $DEFAULT_HTTP_CONFIG);
    }
    if (!defined _sec($block, 'config')) {
        $block->set_value('config', $DEFAULT_CONFIG);
    }
    my $fr = flow_request($block);
    $block->set_value($_, $fr->{$_}) for sort keys %{ $fr || {} };
    my $nel = default_no_error_log($block);
    $block->set_value('no_error_log', $nel) if defined $nel;
    return $block;
}

# Debian's nginx is built with --error-log-path=stderr: errors found while
# it reads its configuration go to stderr, not to the error log that
# "--- error_log" reads.  Call from a BEGIN block before
# "use Test::Nginx::Socket": routes such nginx binaries through
# t/inc/nginx-startup-log.pl, which adds "-e <prefix>/logs/error.log".
sub route_startup_log {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $v = `$bin -V 2>&1`;
    return if !defined $v || $v !~ /--error-log-path=stderr\b/;
    return if $v !~ m{nginx/(\d+)\.(\d+)\.(\d+)};
    return if sprintf('%03d%03d%03d', $1, $2, $3) lt '001019005';  # -e
    require File::Basename;
    require File::Spec;
    my $dir = File::Spec->rel2abs(File::Basename::dirname(__FILE__));
    my $wrapper = File::Spec->catfile($dir, 'nginx-startup-log.pl');
    chmod 0755, $wrapper if !-x $wrapper;
    if ($bin !~ m{/}) {
        for my $d (split /:/, $ENV{PATH} // '') {
            if (-x "$d/$bin") { $bin = "$d/$bin"; last }
        }
    }
    $ENV{TEST_NGINX_REAL_BINARY} = $bin;
    $ENV{TEST_NGINX_BINARY} = $wrapper;
}

# ---------------------------------------------------------------------
# HTTP client

package Runs::Conn;

use strict;
use warnings;
use Time::HiRes qw(time sleep);

sub new {
    my ($class, %o) = @_;
    my $sock;
    for my $try (1 .. 50) {
        $sock = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => Runs::port(),
            Proto    => 'tcp',
            Timeout  => 5,
        );
        last if $sock;
        sleep 0.05;
    }
    die "cannot connect to 127.0.0.1:" . Runs::port() . ": $!\n" if !$sock;
    $sock->autoflush(1);
    binmode $sock;
    return bless { sock => $sock, buf => '', keepalive => $o{keepalive} },
                 $class;
}

sub close {
    my $self = shift;
    if ($self->{sock}) {
        CORE::close($self->{sock});
        undef $self->{sock};
    }
}

# send one request; $body: undef (none), a reference (encoded as JSON) or
# a byte string sent as it is
sub send {
    my ($self, $method, $path, $body, $headers) = @_;
    $headers ||= {};
    my $auth = Runs::token_header($path, $body, $headers);
    $headers = { %$headers, Authorization => $auth } if defined $auth;
    if (ref $body) {
        $body = Runs::jenc($body);
    }
    my $h = "$method $path HTTP/1.1\r\nHost: localhost\r\n";
    $h .= "Connection: " . ($self->{keepalive} ? 'keep-alive' : 'close')
          . "\r\n";
    my %hl = map { lc($_) => 1 } keys %$headers;
    if (defined $body) {
        $h .= "Content-Type: application/json\r\n"
            if !$hl{'content-type'};
        $h .= "Content-Length: " . length($body) . "\r\n"
            if !$hl{'content-length'};
    } elsif ($method eq 'POST' || $method eq 'PUT') {
        $h .= "Content-Length: 0\r\n" if !$hl{'content-length'};
    }
    for my $k (sort keys %$headers) {
        $h .= "$k: $headers->{$k}\r\n";
    }
    $h .= "\r\n";
    $h .= $body if defined $body;
    my $off = 0;
    while ($off < length $h) {
        my $n = syswrite($self->{sock}, $h, length($h) - $off, $off);
        if (!defined $n) {
            next if $!{EINTR};
            die "write failed: $!\n";
        }
        $off += $n;
    }
    $self->{sent_at} = time;
    $self->{method} = $method;
    $self->{path} = $path;
    return 1;
}

# send bytes as they are (a request written by hand); $method tells
# read() whether a body follows
sub send_raw {
    my ($self, $bytes, $method) = @_;
    $bytes = Runs::raw_token($bytes);
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        if (!defined $n) {
            next if $!{EINTR};
            die "write failed: $!\n";
        }
        $off += $n;
    }
    $self->{sent_at} = time;
    $self->{method} = $method // 'GET';
    return 1;
}

sub _fill {
    my ($self, $deadline) = @_;
    my $left = $deadline - time;
    return 0 if $left <= 0;
    my $sel = IO::Select->new($self->{sock});
    return 0 if !$sel->can_read($left);
    my $n = sysread($self->{sock}, my $chunk, 65536);
    return -1 if !defined $n && $!{EINTR};
    return 0 if !defined $n;
    return -2 if $n == 0;
    $self->{buf} .= $chunk;
    return 1;
}

# is a complete or partial response already readable?
sub ready {
    my $self = shift;
    return 1 if length $self->{buf};
    my $sel = IO::Select->new($self->{sock});
    return $sel->can_read(0) ? 1 : 0;
}

# read one response; returns a hash: status (0 on timeout / closed),
# headers (lower-cased names), body, json, elapsed (since send)
sub read {
    my ($self, $timeout) = @_;
    $timeout //= 10;
    my $deadline = time + $timeout;
    my $res = { status => 0, headers => {}, body => '' };

    while ($self->{buf} !~ /\r\n\r\n/) {
        my $rc = $self->_fill($deadline);
        if ($rc == -1) { next }
        if ($rc <= 0) {
            $res->{error} = $rc == 0 ? 'timeout' : 'closed';
            $res->{elapsed} = time - ($self->{sent_at} || time);
            return $res;
        }
    }
    $self->{buf} =~ s/^(.*?)\r\n\r\n//s;
    my @lines = split /\r\n/, $1;
    my $sl = shift @lines;
    ($res->{status}) = $sl =~ m{^HTTP/\d\.\d\s+(\d+)};
    $res->{status} ||= 0;
    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        $k = lc $k;
        if (exists $res->{headers}{$k}) {
            $res->{headers}{$k} .= ", $v";
        } else {
            $res->{headers}{$k} = $v;
        }
    }
    my $h = $res->{headers};
    if ($self->{method} eq 'HEAD' || $res->{status} == 204
        || $res->{status} == 304)
    {
        # no body
    } elsif (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        my $body = '';
        while (1) {
            while ($self->{buf} !~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
                my $rc = $self->_fill($deadline);
                next if $rc == -1;
                if ($rc <= 0) { $res->{error} = 'short chunked body'; last }
            }
            last if $res->{error};
            $self->{buf} =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/;
            my $len = hex $1;
            my $hl = length $&;
            while (length($self->{buf}) < $hl + $len + 2) {
                my $rc = $self->_fill($deadline);
                next if $rc == -1;
                if ($rc <= 0) { $res->{error} = 'short chunk'; last }
            }
            last if $res->{error};
            $body .= substr($self->{buf}, $hl, $len);
            substr($self->{buf}, 0, $hl + $len + 2) = '';
            if ($len == 0) {
                # trailers, if any, end with an empty line: ignore them
                last;
            }
        }
        $res->{body} = $body;
    } elsif (defined $h->{'content-length'}) {
        my $len = $h->{'content-length'};
        while (length($self->{buf}) < $len) {
            my $rc = $self->_fill($deadline);
            next if $rc == -1;
            if ($rc <= 0) { $res->{error} = 'short body'; last }
        }
        $res->{body} = substr($self->{buf}, 0, $len);
        substr($self->{buf}, 0, $len) = '';
    } else {
        while (1) {
            my $rc = $self->_fill($deadline);
            next if $rc == -1;
            last if $rc <= 0;
        }
        $res->{body} = $self->{buf};
        $self->{buf} = '';
    }
    $res->{elapsed} = time - ($self->{sent_at} || time);
    $res->{json} = Runs::jdec($res->{body})
        if ($h->{'content-type'} // '') =~ /json/i || $res->{body} =~ /^\s*[\{\[]/;
    $res->{worker} = $h->{'x-worker'};
    Runs::remember_token($res) if ($self->{path} // '') =~ m{/register$};
    if (($h->{connection} // '') =~ /close/i || !$self->{keepalive}) {
        $self->{closed_by_peer} = 1;
    }
    return $res;
}

# a streamed answer (a log follow): read_head() reads its status line
# and headers; read_stream() then reads the chunked body as it comes,
# until "want" bytes have come, the answer ends, or the time is up;
# returns (bytes, ended)
sub read_head {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my $res = { status => 0, headers => {} };
    while ($self->{buf} !~ /\r\n\r\n/) {
        my $rc = $self->_fill($deadline);
        next if $rc == -1;
        return $res if $rc <= 0;
    }
    $self->{buf} =~ s/^(.*?)\r\n\r\n//s;
    my @lines = split /\r\n/, $1;
    ($res->{status}) = (shift @lines) =~ m{^HTTP/\d\.\d\s+(\d+)};
    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        $res->{headers}{lc $k} = $v;
    }
    $self->{stream_chunked} =
        (($res->{headers}{'transfer-encoding'} // '') =~ /chunked/i);
    return $res;
}

sub read_stream {
    my ($self, $timeout, $want) = @_;
    my $deadline = time + ($timeout // 10);
    my $data = '';
    while (1) {
        if (!$self->{stream_chunked}) {
            $data .= $self->{buf};
            $self->{buf} = '';
            return ($data, 0) if defined $want && length $data >= $want;
            my $rc = $self->_fill($deadline);
            next if $rc == -1;
            return ($data, $rc == -2 ? 1 : 0) if $rc <= 0;
            next;
        }
        if ($self->{buf} =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
            my $len = hex $1;
            my $hl = length $&;
            if (length($self->{buf}) >= $hl + $len + 2) {
                $data .= substr($self->{buf}, $hl, $len);
                substr($self->{buf}, 0, $hl + $len + 2) = '';
                return ($data, 1) if $len == 0;
                return ($data, 0) if defined $want && length $data >= $want;
                next;
            }
        }
        my $rc = $self->_fill($deadline);
        next if $rc == -1;
        return ($data, $rc == -2 ? 'closed' : 0) if $rc <= 0;
    }
}

# an event stream's events (after read_head): reads until "want" events
# have come, the answer ends or the time is up; returns the events, each
# { id, event, data (decoded), comment }, comments (": ...") as their own
# entries when "comments" is set, and whether the answer ended
sub read_events {
    my ($self, $timeout, $want, %o) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // 5);
    my (@ev, $ended);
    $self->{sse} //= '';
    while (1) {
        while ($self->{sse} =~ s/^(.*?)\n\n//s) {
            my $block = $1;
            my %e;
            for my $line (split /\n/, $block) {
                if ($line =~ /^:\s?(.*)$/) {
                    $e{comment} = $1;
                } elsif ($line =~ /^(id|event|data|retry): ?(.*)$/) {
                    $e{$1} = $1 eq 'data' && defined $e{data}
                             ? "$e{data}\n$2" : $2;
                }
            }
            next if defined $e{comment} && !defined $e{event}
                    && !defined $e{data} && !$o{comments};
            $e{json} = eval { Runs::jdec($e{data}) } if defined $e{data};
            push @ev, \%e;
        }
        last if defined $want && @ev >= $want;
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        my ($d, $end) = $self->read_stream($left, 1);
        $self->{sse} .= $d;
        if ($end) { $ended = 1; last }
    }
    return wantarray ? (\@ev, $ended) : \@ev;
}

sub request {
    my ($self, $method, $path, $body, $headers, $timeout) = @_;
    $self->send($method, $path, $body, $headers);
    return $self->read($timeout);
}

package Runs;

# a keep-alive connection
sub conn { Runs::Conn->new(keepalive => 1) }

# one request on a fresh connection (Connection: close)
sub req {
    my ($method, $path, $body, $headers, $timeout) = @_;
    my $c = Runs::Conn->new;
    my $res = eval { $c->request($method, $path, $body, $headers, $timeout) };
    if ($@) {
        $res = { status => 0, headers => {}, body => '', error => $@ };
    }
    $c->close;
    return $res;
}

# start a request that is expected to be held; collect() reads it
sub hold {
    my ($method, $path, $body, $headers) = @_;
    my $c = Runs::Conn->new;
    $c->send($method, $path, $body, $headers);
    return $c;
}

sub collect {
    my ($c, $timeout) = @_;
    my $res = eval { $c->read($timeout) };
    if ($@) {
        $res = { status => 0, headers => {}, body => '', error => $@ };
    }
    $c->close;
    return $res;
}

# ---------------------------------------------------------------------
# API shortcuts (no assertions)

my $seq = 0;

sub uniq_name {
    my ($p) = @_;
    $seq++;
    return sprintf("%s-%d-%d", $p // 's', $$, $seq);
}

# create_run(type => ..., session_name => ..., prompt => ...) -> run id or
# undef; in list context also the response
sub create_run {
    my (%f) = @_;
    $f{type} //= 'start_session';
    $f{session_name} //= uniq_name('sess');
    $f{prompt} //= "prompt for $f{session_name}";
    my $res = req('POST', '/runs', \%f);
    my $id = ($res->{status} == 201 && $res->{json}) ? $res->{json}{run_id}
                                                     : undef;
    return wantarray ? ($id, $res) : $id;
}

sub register_launcher {
    my (%f) = @_;
    my $res = req('POST', '/launcher/register', %f ? \%f : '{}');
    my $id = ($res->{status} == 200 && $res->{json})
             ? $res->{json}{launcher_id} : undef;
    return wantarray ? ($id, $res) : $id;
}

# Runner tokens: every registration's answer is kept, and a request that
# acts as a launcher whose token is known (launcher_id in its query or
# body, or DELETE /launchers/ID?self=true) carries it, unless it sets
# Authorization itself (undef: send none) or $NO_TOKEN is set.
our %TOKEN;
our $NO_TOKEN;

sub remember_token {
    my ($res) = @_;
    my $j = $res && $res->{json};
    $TOKEN{ $j->{launcher_id} } = $j->{token}
        if ref $j eq 'HASH' && $j->{launcher_id} && $j->{token};
}

sub token_of { $TOKEN{ $_[0] // '' } }

# a request written by hand (or its first piece) that acts as a launcher
# whose token is known, and sets no Authorization: the header is added
# at the end of its head
sub raw_token {
    my ($bytes) = @_;
    return $bytes if $NO_TOKEN || $bytes !~ /^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/;
    my $end = index($bytes, "\r\n\r\n");
    return $bytes if $end < 0;
    my $head = substr($bytes, 0, $end + 2);
    return $bytes if $head =~ /^authorization:/mi;
    my ($lid) = $bytes =~ /(lnch_[0-9a-f]{12})/;
    my $t = defined $lid ? $TOKEN{$lid} : undef;
    return $bytes if !defined $t;
    return $head . "Authorization: Bearer $t\r\n" . substr($bytes, $end + 2);
}

sub token_header {
    my ($path, $body, $headers) = @_;
    return undef if $NO_TOKEN;
    return undef if grep { lc($_) eq 'authorization' } keys %$headers;
    my $lid;
    if ($path =~ m{[?&]launcher_id=(lnch_[0-9a-f]+)}) {
        $lid = $1;
    } elsif ($path =~ m{^/launchers/(lnch_[0-9a-f]+)\?self=(?:true|1)}) {
        $lid = $1;
    } elsif (ref $body eq 'HASH') {
        $lid = $body->{launcher_id};
    } elsif (defined $body && !ref $body && $body =~ /"launcher_id"\s*:\s*"(lnch_[0-9a-f]+)"/) {
        $lid = $1;
    }
    my $t = defined $lid ? $TOKEN{$lid} : undef;
    return defined $t ? "Bearer $t" : undef;
}

# a request as user $user of auth_basic, password "pw"
sub as_user {
    my ($user, $method, $path, $body) = @_;
    require MIME::Base64;
    return req($method, $path, $body,
               { Authorization => 'Basic '
                                  . MIME::Base64::encode_base64("$user:pw", '') });
}

# a session $name started by $user: (run id or undef, the response)
sub start_as {
    my ($user, $name, %f) = @_;
    my $r = as_user($user, 'POST', '/runs', { type => 'start_session',
                                             session_name => $name,
                                             prompt => "${user}'s $name", %f });
    return ($r->{status} == 201 ? $r->{json}{run_id} : undef, $r);
}

# the run a poll of $lid hands out now (its id), '' for none
sub claimed_by {
    my ($lid, $timeout) = @_;
    my $r = poll_once($lid, $timeout // 5);
    return ($r->{status} == 200 && $r->{json} && $r->{json}{run})
           ? $r->{json}{run}{run_id} : '';
}

# a request with runner token $tok in its Authorization header ('':
# none at all, whatever the harness knows)
sub with_token {
    my ($tok, $method, $path, $body) = @_;
    if ($tok eq '') {
        local $NO_TOKEN = 1;
        return req($method, $path, $body);
    }
    return req($method, $path, $body, { Authorization => "Bearer $tok" });
}

sub poll_once {
    my ($lid, $timeout) = @_;
    return req('GET', "/launcher/runs?launcher_id=$lid", undef, undef,
               $timeout // 10);
}

sub launcher_event {
    my ($run, $event, $body) = @_;
    return req('POST', "/launcher/runs/$run/$event", $body);
}

sub get_run {
    my ($id) = @_;
    my $res = req('GET', "/runs/$id");
    return wantarray ? ($res->{json}, $res) : $res->{json};
}

sub list_runs {
    my ($query) = @_;
    my $res = req('GET', '/runs' . (defined $query ? "?$query" : ''));
    my $runs = ($res->{json} && ref $res->{json}{runs} eq 'ARRAY')
               ? $res->{json}{runs} : [];
    return wantarray ? ($runs, $res) : $runs;
}

sub stop_run {
    my ($id) = @_;
    return req('POST', "/runs/$id/stop");
}

sub deregister {
    my ($lid, $self) = @_;
    return req('DELETE', "/launchers/$lid" . ($self ? '?self=true' : ''));
}

# a piece of a run's log, posted by launcher $lid
sub log_post {
    my ($id, $lid, $offset, $data) = @_;
    return req('POST', "/launcher/runs/$id/log",
               { launcher_id => $lid, offset => $offset, data => $data });
}

# { pid => [keep-alive connections served by that worker] }, with at least
# $need connections in each of two workers, or undef; the locations must
# add "X-Worker: $pid"
sub worker_conns {
    my ($need) = @_;
    $need //= 1;
    my %by;
    for my $try (1 .. 40) {
        my @c = map { Runs::conn() } 1 .. 8;
        for my $c (@c) {
            my $r = eval { $c->request('GET', '/runs?limit=1', undef, undef, 5) };
            if ($r && $r->{status} == 200 && $r->{worker}) {
                push @{ $by{ $r->{worker} } }, $c;
            } else {
                $c->close;
            }
        }
        my @pids = grep { @{ $by{$_} } >= $need } keys %by;
        return { map { $_ => $by{$_} } @pids[0, 1] } if @pids >= 2;
        Time::HiRes::sleep(0.05);
    }
    Test::More::diag('could not get connections served by two different '
        . 'workers: ' . join(', ', map { "$_: " . scalar(@{ $by{$_} }) }
                                   keys %by));
    return undef;
}

sub close_all {
    my ($w) = @_;
    return if !$w;
    $_->close for map { @$_ } values %$w;
}

# poll until a run is handed out (skipping stop_runs answers); returns the
# run object or undef
sub claim {
    my ($lid, $tries) = @_;
    for (1 .. ($tries // 3)) {
        my $r = poll_once($lid, 10);
        return $r->{json}{run}
            if $r->{status} == 200 && $r->{json} && $r->{json}{run};
        return undef
            if $r->{status} != 200
               || !($r->{json} && $r->{json}{stop_runs});
    }
    return undef;
}

# a run in the given state, held by launcher $lid (registered when not
# given); returns (run_id, launcher_id)
sub run_in_state {
    my ($state, $lid, %f) = @_;
    $lid //= register_launcher();
    my $id = create_run(%f);
    return ($id, $lid) if $state eq 'pending';
    my $run = claim($lid);
    return (undef, $lid) if !$run || $run->{run_id} ne $id;
    if ($state eq 'claimed') {
    } elsif ($state eq 'running') {
        launcher_event($id, 'started', { launcher_id => $lid });
    } elsif ($state eq 'stopping') {
        stop_run($id);
    } elsif ($state eq 'completed') {
        launcher_event($id, 'started', { launcher_id => $lid });
        launcher_event($id, 'completed', { launcher_id => $lid });
    } elsif ($state eq 'failed') {
        launcher_event($id, 'failed', { launcher_id => $lid,
                                        error => 'set up to fail' });
    } elsif ($state eq 'stopped') {
        launcher_event($id, 'stopped', { launcher_id => $lid });
    } else {
        die "unknown state $state\n";
    }
    return (status_of($id) eq $state ? $id : undef, $lid);
}

# status of run $id, or '' when it cannot be read
sub status_of {
    my ($id) = @_;
    return '' if !defined $id;
    my $r = get_run($id);
    return ($r && ref $r eq 'HASH') ? ($r->{status} // '') : '';
}

# ---------------------------------------------------------------------
# flows

sub _key {
    my ($name) = @_;
    $name //= '';
    $name =~ s/^.*?\bTEST\s+\d+\w*\s*:\s*//;   # 'TEST 3: ', maybe after '$0 '
    $name =~ s/\s+$//;
    return $name;
}

# flow('block title', $number_of_assertions, sub { ... })
sub flow ($$&) {
    my ($title, $n, $code) = @_;
    die "flow '$title' declared twice\n" if $FLOWS{$title};
    $FLOWS{$title} = [$n, $code];
}

# the add_response_body_check hook: runs a block's flow after the block's
# first response (the real Test::Nginx::Socket, 0.24 on, and the fallback
# call the hooks after every response, whether the block has a body
# section or not)
sub flow_hook {
    return sub {
        my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
        my $f = $FLOWS{ _key($block->name) };
        return if !$f || ($req_idx // 0) != 0;
        my ($n, $code) = @$f;
        my $tb = Test::More->builder;
        if ($dry_run) {
            SKIP: { Test::More::skip("flow skipped: $dry_run", $n) }
            return;
        }
        my $before = $tb->current_test;
        my $ok = eval { $code->($block); 1 };
        my $err = $@;
        my $done = $tb->current_test - $before;
        if (!$ok) {
            Test::More::diag(_key($block->name) . " - flow died: $err");
        }
        if ($done < $n) {
            for (1 .. $n - $done) {
                Test::More::fail(_key($block->name)
                                 . " - flow ended early ($done of $n)");
            }
        } elsif ($done > $n) {
            Test::More::diag(_key($block->name)
                             . " - flow ran $done assertions, declared $n");
        }
    };
}

sub _count_list {
    my ($v) = @_;
    return 0 if !defined $v;
    return scalar(@$v) if ref $v eq 'ARRAY';
    return 1 if ref $v;                 # a Regexp
    my $s = $v;
    chomp $s;
    return scalar(grep { length } split /\n+/, $s);
}

sub _sec {
    my ($block, $name) = @_;
    my $v = eval { $block->$name };
    return $v;
}

# the number of assertions Test::Nginx::Socket makes for these blocks
# (repeat_each 1), flows included
sub plan_count {
    my (@blocks) = @_;
    my $total = 0;
    my %matched;
    for my $b (@blocks) {
        # run_tests() preprocesses a block only when it runs it, after
        # the plan: count the no_error_log that preprocess() will add
        my $logpats = _count_list(_sec($b, 'error_log'))
                      + _count_list(_sec($b, 'no_error_log')
                                    // default_no_error_log($b));
        if (defined _sec($b, 'must_die')) {
            $total += 1 + $logpats;
            next;
        }
        my $nreq;
        my $pr = _sec($b, 'pipelined_requests');
        my $rq = _sec($b, 'request');
        if ($pr) {
            $nreq = scalar @$pr;
        } elsif (ref $rq eq 'ARRAY') {
            $nreq = scalar @$rq;
        } else {
            $nreq = 1;
        }
        # the request and body check preprocess() gives a flow block
        my $body = (flow_request($b)
                    || defined _sec($b, 'response_body')
                    || defined _sec($b, 'response_body_like')
                    || defined _sec($b, 'response_body_unlike')) ? 1 : 0;
        my $hdrsec = _sec($b, 'response_headers');
        $hdrsec = _sec($b, 'response_headers_like') if !defined $hdrsec;
        for my $i (0 .. $nreq - 1) {
            $total += 1 + $body + $logpats;
            if (defined $hdrsec) {
                my $h = ref $hdrsec eq 'ARRAY' ? $hdrsec->[$i] : $hdrsec;
                $total += scalar(grep { /\S/ } split /\n/, $h // '');
            }
        }
        my $f = $FLOWS{ _key($b->name) };
        if ($f) {
            $total += $f->[0];
            $matched{ _key($b->name) } = 1;
        }
    }
    my @orphans = grep { !$matched{$_} } sort keys %FLOWS;
    die "flows without a block of that title: @orphans\n" if @orphans;
    return $total;
}

# lines of the current error log matching $re
sub error_log_lines {
    my ($re) = @_;
    open my $in, '<', error_log_path() or return undef;
    my @l = grep { /$re/ } <$in>;
    close $in;
    return \@l;
}

# time factor for upper bounds on latencies: nginx under valgrind is slow
sub tf {
    my ($secs) = @_;
    my $f = $ENV{TEST_RUNS_TIME_FACTOR}
            || ($ENV{TEST_NGINX_USE_VALGRIND} ? 10 : 1);
    return defined $secs ? $secs * $f : $f;
}

# wait until $cond->() is true or $timeout seconds pass
sub wait_for {
    my ($timeout, $cond, $step) = @_;
    my $deadline = time + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if time >= $deadline;
        sleep($step // 0.05);
    }
}

# ---------------------------------------------------------------------
# runsctl: running the command-line client ($ENV{TEST_RUNS_BIN}/runsctl,
# the ASan/UBSan build under build.sh) from a flow

our @SANITIZER_REPORTS;     # stderr lines of sanitizer reports seen

sub runsctl_bin {
    my $dir = $ENV{TEST_RUNS_BIN};
    if (!$dir) {
        require File::Basename;
        require File::Spec;
        $dir = File::Spec->catdir(
            File::Spec->rel2abs(File::Basename::dirname(__FILE__)),
            '..', '..', 'build', 'asan');
    }
    return "$dir/runsctl";
}

# the coordinator Test::Nginx started
sub runsctl_url { 'http://127.0.0.1:' . port() }

# start runsctl with @$args; %o: stdin (bytes), env ({NAME => value or
# undef to unset}), cwd, url (AGENT_ORCHESTRATOR_API_URL, default
# runsctl_url(); undef in env unsets it).  Returns a handle for
# runsctl_finish.
sub runsctl_bg {
    my ($args, %o) = @_;
    require File::Temp;
    my $tmp = File::Temp->newdir('runsctl-XXXXXX', TMPDIR => 1);
    my %f = map { $_ => "$tmp/$_" } qw(in out err);
    open my $fh, '>', $f{in} or die "$f{in}: $!\n";
    binmode $fh;
    print $fh $o{stdin} if defined $o{stdin};
    close $fh or die "$f{in}: $!\n";

    my %env = (AGENT_ORCHESTRATOR_API_URL => $o{url} // runsctl_url());
    # sanitizer reports go to stderr, where the flows look for them
    $env{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=0:exitcode=86'
        if !$ENV{ASAN_OPTIONS};
    $env{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1'
        if !$ENV{UBSAN_OPTIONS};
    %env = (%env, %{ $o{env} || {} });

    my $bin = runsctl_bin();
    my $t0 = time;
    my $pid = fork;
    die "fork: $!\n" if !defined $pid;
    if ($pid == 0) {
        eval {
            for my $k (keys %env) {
                if (defined $env{$k}) { $ENV{$k} = $env{$k} }
                else { delete $ENV{$k} }
            }
            chdir $o{cwd} or die "chdir $o{cwd}: $!\n" if defined $o{cwd};
            open STDIN, '<', $f{in} or die "stdin: $!\n";
            open STDOUT, '>', $f{out} or die "stdout: $!\n";
            open STDERR, '>', $f{err} or die "stderr: $!\n";
            exec { $bin } $bin, @$args or die "exec $bin: $!\n";
        };
        print STDERR $@;
        POSIX::_exit(127);
    }
    return { pid => $pid, t0 => $t0, tmp => $tmp, files => \%f,
             args => $args };
}

# is a runsctl_bg still running?  (once ended, its status is kept)
sub runsctl_running {
    my ($h) = @_;
    return 0 if defined $h->{status};
    my $w = waitpid($h->{pid}, POSIX::WNOHANG());
    die "waitpid: $!\n" if $w < 0;
    return 1 if $w == 0;
    $h->{status} = $?;
    $h->{ended} = time;
    return 0;
}

# wait (at most $timeout seconds, then kill) for a runsctl_bg handle:
# { rc (exit status; -1 killed at the timeout, 128+N signal N), out, err
# (bytes), elapsed, ended (time() it was seen ended), json (stdout
# decoded, or undef) }.  Sanitizer report lines of its stderr are kept
# for no_sanitizer_reports().
sub runsctl_finish {
    my ($h, $timeout) = @_;
    my $deadline = time + ($timeout // 30);
    while (runsctl_running($h)) {
        last if time >= $deadline;
        sleep 0.01;
    }
    my $st = $h->{status};
    my $res = { ended => $h->{ended} // time };
    if (!defined $st) {
        kill 'KILL', $h->{pid};
        waitpid($h->{pid}, 0);
        $res->{rc} = -1;
    } elsif ($st & 127) {
        $res->{rc} = 128 + ($st & 127);
    } else {
        $res->{rc} = $st >> 8;
    }
    $res->{elapsed} = $res->{ended} - $h->{t0};
    for my $k (qw(out err)) {
        open my $fh, '<', $h->{files}{$k} or die "$h->{files}{$k}: $!\n";
        binmode $fh;
        local $/;
        $res->{$k} = <$fh> // '';
        close $fh;
    }
    $res->{json} = jdec($res->{out});
    push @SANITIZER_REPORTS,
        map { "runsctl @{ $h->{args} }: $_" }
        grep { /ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: \w+Sanitizer/ }
        split /\n/, $res->{err};
    if ($res->{rc} == -1) {
        push @SANITIZER_REPORTS, "runsctl @{ $h->{args} }: killed after "
                                 . ($timeout // 30) . "s";
    }
    return $res;
}

# runsctl @$args to its end (same options as runsctl_bg, plus timeout)
sub runsctl {
    my ($args, %o) = @_;
    my $timeout = delete $o{timeout};
    return runsctl_finish(runsctl_bg($args, %o), $timeout);
}

# one assertion: no runsctl run since the last call printed a sanitizer
# report (or had to be killed); forgets them
sub no_sanitizer_reports {
    my ($name) = @_;
    my @r = @SANITIZER_REPORTS;
    @SANITIZER_REPORTS = ();
    Test::More::ok(!@r, $name // 'no ASan/UBSan/LSan reports from runsctl')
        or Test::More::diag(join "\n", @r);
}

# lines of the access log matching $re
sub access_log_lines {
    my ($re) = @_;
    open my $in, '<', server_root() . '/logs/access.log' or return [];
    my @l = grep { /$re/ } <$in>;
    close $in;
    return \@l;
}

1;
