package Test::Nginx::Util;

# Fallback re-implementation of Test::Nginx::Util (openresty/test-nginx),
# used only when the real Test::Nginx is not installed.  It mirrors the
# public API, the environment variables, the generated nginx.conf and the
# server life cycle of the real module (version 0.29 era, with the temp
# paths under the server root and the "-e" error log of 0.33).  See
# t/fallback/README for the known differences.

use strict;
use warnings;

our $VERSION = '0.29_fallback';

use base 'Exporter';

use POSIX qw( SIGQUIT SIGKILL SIGTERM SIGHUP SIGUSR1 WNOHANG );
use File::Spec ();
use File::Path qw( make_path remove_tree );
use File::Find ();
use File::Temp ();
use Config ();
use Cwd ();
use HTTP::Response ();
use List::Util qw( shuffle );
use Time::HiRes qw( sleep time );
use Scalar::Util qw( looks_like_number );
use IO::Socket::INET ();
use IO::Select ();
use Test::More ();
use Test::LongString;
use Carp qw( croak );

our @EXPORT = qw(
    use_http2 use_http3 env_to_nginx is_str check_accum_error_log
    is_running $NoLongString no_long_string $ServerAddr server_addr
    $ServerName server_name parse_time $UseStap verbose sleep_time
    stap_out_fh stap_out_fname bail_out add_cleanup_handler
    access_log_data error_log_data setup_server_root write_config_file
    get_canon_version get_nginx_version trim show_all_chars parse_headers
    run_tests get_pid_from_pidfile $ServerPortForClient $ServerPort
    $NginxVersion $PidFile $ServRoot $ConfFile $RunTestHelper
    $CheckErrorLog $CheckShutdownErrorLog $FilterHttpConfig
    $NoNginxManager $RepeatEach $CheckLeak $Benchmark $BenchmarkWarmup
    add_block_preprocessor timeout worker_connections workers master_on
    master_off config_preamble repeat_each master_process_enabled
    log_level no_shuffle no_root_location html_dir server_root
    server_port server_port_for_client no_nginx_manager use_hup
    is_udp_port_opened
);

# ---------------------------------------------------------------------------
# settings (same names and defaults as the real module)

our $MainPid = $$;
our $ConfigVersion;
our $FilterHttpConfig;
our $NoLongString;
our $FirstTime = 1;
our $ReusePort = $ENV{TEST_NGINX_REUSE_PORT};
our $UseHttp2;                  # not supported by the fallback
our $UseHttp3;                  # not supported by the fallback
our $UseHup = $ENV{TEST_NGINX_USE_HUP};
our $Verbose = $ENV{TEST_NGINX_VERBOSE};
our $NoNginxManager = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $InSubprocess;
our $RepeatEach = 1;
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND};
our $UseStap;                   # not supported by the fallback
our $EventType = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckLeak = 0;             # not supported by the fallback
our $Benchmark = 0;             # not supported by the fallback
our $BenchmarkWarmup = 0;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $WorkerUser = $ENV{TEST_NGINX_WORKER_USER};
our $PrevBlock;
our $ErrLogFilePos = 0;
our @CleanupHandlers;
our @BlockPreprocessors;
our $Randomize = $ENV{TEST_NGINX_RANDOMIZE};
our $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers = 1;
our $WorkerConnections = 64;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled = 'on';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $NoRootLocation = 0;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
# "-e <servroot>/logs/error.log" on the nginx command line, as 0.33 does:
# start-up (config parsing) errors land in error.log even when the binary
# was built with an absolute or "stderr" default error log path.
# Fallback-only: TEST_NGINX_FALLBACK_STARTUP_ERRLOG=0 leaves it out, as
# 0.29 did.
our $StartupErrLog = defined $ENV{TEST_NGINX_FALLBACK_STARTUP_ERRLOG}
                     ? $ENV{TEST_NGINX_FALLBACK_STARTUP_ERRLOG} : 1;

our $ChildPid;
our @EnvToNginx;
our $ConfigPreamble = '';
our $RunTestHelper;
our $CheckErrorLog;
our $CheckShutdownErrorLog;
our $NginxVersion;
our $NginxRawVersion;
our $OpenSSLVersion;
our $PrevConfig;
our $LatestNginxVersion = 0.008039;

our @RandStrAlphabet = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '#', '@', '-', '_', '^');

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

for my $unsupported (qw( TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3
                         TEST_NGINX_USE_STAP TEST_NGINX_CHECK_LEAK
                         TEST_NGINX_BENCHMARK TEST_NGINX_USE_RR ))
{
    if ($ENV{$unsupported}) {
        warn "WARNING: $unsupported is not supported by the fallback "
             . "Test::Nginx and is ignored\n";
    }
}

srand $$;

sub bail_out (@);

if ($Randomize) {
    $ServerPort = &gen_rand_port(1000);
    if (!defined $ServerPort) {
        bail_out("Cannot find an available listening port number after 1000 attempts.\n");
    }
    $ServerPortForClient = $ServerPort;
}

if ($UseValgrind) {
    # like the real one: valgrind runs nginx in the foreground, the master
    # process setting is left alone
    $DaemonEnabled = 'off';
}

our $ServRoot;
if ($Randomize) {
    $ServRoot = File::Spec->rel2abs("t/servroot_" . $ServerPort);
} else {
    $ServRoot = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
}
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# valgrind reports are written outside the server root, which gets wiped
our $ValgrindLogDir;
our %ValgrindLogPos;

# ---------------------------------------------------------------------------
# small helpers

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    return 0 unless kill 0, $pid;
    # a daemonized nginx is not our child: once it exits it stays a zombie
    # until init reaps it, which some containers do only lazily
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        close $in;
        return 0 if $stat =~ /^\d+ \(.*\) [ZX] /s;
    }
    return 1;
}

sub gen_rand_str {
    my $len = shift;
    return join '', map { $RandStrAlphabet[int rand @RandStrAlphabet] } 1 .. $len;
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;
    $tries //= 1000;
    $used //= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr,
            LocalPort => $port,
            Proto     => 'tcp',
            Timeout   => 0.1,
        );
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub is_udp_port_opened ($) { return 0 }
sub use_http2 ($) { return undef }
sub use_http3 ($) { return undef }
sub stap_out_fh { return undef }
sub stap_out_fname { return undef }

sub no_long_string () { $NoLongString = 1 }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }
    return is_string($got, $expected, $desc);
}

sub server_addr (@) {
    if (@_) { $ServerAddr = shift; return }
    return $ServerAddr;
}

sub server_name (@) {
    if (@_) { $ServerName = shift; return }
    return $ServerName;
}

sub timeout (@) {
    if (@_) { $Timeout = shift; return }
    return $Timeout;
}

sub no_shuffle () { $NoShuffle = 1 }
sub no_nginx_manager () { $NoNginxManager = 1 }
sub use_hup () { $UseHup = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub sleep_time { return $TestNginxSleep }
sub verbose { return $Verbose }
sub html_dir () { return $HtmlDir }
sub server_root () { return $ServRoot }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" if !@_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub server_port (@) {
    if (@_) { $ServerPort = shift; return }
    return $ServerPort;
}

sub server_port_for_client (@) {
    if (@_) { $ServerPortForClient = shift; return }
    return $ServerPortForClient;
}

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift; return }
    return $WorkerConnections;
}

sub workers (@) {
    if (@_) { $Workers = shift; return }
    return $Workers;
}

sub log_level (@) {
    if (@_) { $LogLevel = shift; return }
    return $LogLevel;
}

sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off'; return }
    return $MasterProcessEnabled;
}

sub config_preamble ($) { $ConfigPreamble = shift }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }

sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }

sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;
        } else {
            $tm =~ s/([^_a-zA-Z])s$/$1/;
        }
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

sub parse_headers ($) {
    my $s = shift;
    my %headers;
    for my $line (split /\n/, $s // '') {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub get_canon_version (@) {
    return sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub get_canon_version_for_OpenSSL (@) {
    if (defined $_[3]) {
        return sprintf "%d.%03d%03d%03d", $_[0], $_[1], $_[2], ord($_[3]) - ord('a');
    }
    return get_canon_version(@_);
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: " . ($out // ''));
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}s) {
        $OpenSSLVersion = get_canon_version_for_OpenSSL($1, $2, $3, $4);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# "nginx -V" as write_config_file reads it for the temp paths (0.33 runs it
# for every config it writes; the fallback keeps the answer per binary)
my %NginxVOutput;

sub nginx_V_output () {
    if (!exists $NginxVOutput{$NginxBinary}) {
        my $out = `$NginxBinary -V 2>&1`;
        $NginxVOutput{$NginxBinary} = defined $out ? $out : '';
    }
    return $NginxVOutput{$NginxBinary};
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    $pid //= '';
    $pid =~ s/\s+//g;
    return $pid;
}

sub can_run {
    my ($cmd) = @_;
    if ($cmd =~ m{[/\\]}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir ((split /\Q$Config::Config{path_sep}\E/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

# ---------------------------------------------------------------------------
# process management

sub reap ($) {
    my $pid = shift;
    waitpid($pid, WNOHANG) if $pid;
}

sub kill_process ($$$;$) {
    my ($pid, $wait, $name, $grace) = @_;

    return if !$pid;

    if ($wait) {
        kill(SIGQUIT, $pid);
        my $left = $grace // timeout();
        while ($left > 0 && is_running($pid)) {
            reap($pid);
            last if !is_running($pid);
            sleep 0.05;
            $left -= 0.05;
        }
        reap($pid);
        if (is_running($pid)) {
            warn "$name - timeout when waiting for the process $pid to exit\n";
            if (getpgrp($pid) == $pid) {
                kill(SIGKILL, -$pid);
            } else {
                kill(SIGKILL, $pid);
            }
            sleep 0.05;
            reap($pid);
        }
    }

    my $step = $TestNginxSleep;
    for (1 .. 20) {
        reap($pid);
        return if !is_running($pid);
        kill(SIGTERM, $pid);
        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
    }

    reap($pid);
    return if !is_running($pid);
    warn "$name - WARNING: killing the child process $pid with force...\n";
    kill(SIGKILL, $pid);
    sleep 0.05;
    reap($pid);
}

sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, "cleanup", valgrind_grace());
        undef $ChildPid;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub valgrind_grace () {
    return $UseValgrind ? ($Timeout > 30 ? $Timeout : 30) : undef;
}

# ---------------------------------------------------------------------------
# log files

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or do {
        return undef if $AccLogFile eq 'off';
        die "open $AccLogFile failed: $!";
    };
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub error_log_data () {
    # give nginx a chance to write log-phase messages after the response
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return undef;
    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    if (!$CheckAccumErrLog) {
        $ErrLogFilePos = tell($in);
    }
    close $in;
    return \@lines;
}

sub err_log_tail ($) {
    my $n = shift;
    open my $in, '<', $ErrLogFile or return '';
    my @lines = <$in>;
    close $in;
    splice @lines, 0, @lines - $n if @lines > $n;
    return join '', @lines;
}

# ---------------------------------------------------------------------------
# server root and config file

sub setup_server_root ($) {
    my $first_time = shift;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));

        if ($UseHup) {
            File::Find::find({ bydepth => 1, no_chdir => 1, wanted => sub {
                return if -d $_;
                if (/(?:\bnginx\.pid|\.sock|\.crt|\.key)$/) {
                    return unless $first_time;
                }
                unlink $_ or warn "Failed to remove $_\n";
            }}, $ServRoot);

        } else {
            remove_tree($HtmlDir, $LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir) {
        if (!-d $dir) {
            mkdir $dir or bail_out("Failed to do mkdir $dir\n");
        }
    }

    my $index_file = "$HtmlDir/index.html";
    open my $out, '>', $index_file
        or bail_out("Can't open $index_file for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;

    mkdir $ConfDir or bail_out("Failed to do mkdir $ConfDir\n");
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;

    return undef if !defined $text;

    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $port = gen_rand_port(1000, \%used);
                if (!defined $port) {
                    bail_out("$name - Cannot find an available listening port number for $var.\n");
                }
                $rand_ports->{$var} = $port;
                $used{$port} = 1;
            }
            $val = $rand_ports->{$var};
        } else {
            if (!defined $ENV{$var}) {
                bail_out("$name - No environment $var defined.\n");
            }
            $val = $ENV{$var};
        }
        $val;
    }eg;

    return $text;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;

    my $name = $block->name;
    my $files = $block->user_files;
    return if !$files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if defined $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if defined $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: " . ref($files)
                 . ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' if !defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            if (!-d $dir) {
                make_path($dir) or bail_out("$name - Cannot create directory $dir");
            }
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' $HtmlDir/$fname";
            system($cmd) == 0 or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $name = $block->name;
    my $http_config = $block->http_config;
    my $main_config = $block->main_config;
    my $post_main_config = $block->post_main_config;
    my $err_log_file = $block->error_log_file;
    my $server_name = $block->server_name;

    if ($UseHup) {
        master_on();    # config reload is buggy with master off
    }

    $http_config = expand_env_in_text($http_config, $name, $rand_ports);
    $config = '' if !defined $config;
    $http_config = '' if !defined $http_config;

    if ($FilterHttpConfig) {
        $http_config = $FilterHttpConfig->($http_config);
    }

    my $postpone = $PostponeOutput;
    undef $postpone if $http_config =~ /\bpostpone_output\b/;

    my $extra_http_config = '';
    if (defined $postpone) {
        if ($postpone !~ /^\d+$/) {
            bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $postpone\n");
        }
        $extra_http_config .= "\n    postpone_output $postpone;\n";
    }

    $main_config = '' if !defined $main_config;
    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config .= join ' ', @mods if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    $post_main_config = '' if !defined $post_main_config;
    $post_main_config = expand_env_in_text($post_main_config, $name, $rand_ports);

    $err_log_file = $ErrLogFile if !$err_log_file;
    $server_name = $ServerName if !defined $server_name;

    my $listen_opts = $ReusePort ? ' reuseport' : '';

    # as 0.33: the temp paths under the server root, on the access_log line
    # (so that the line numbers of nginx.conf do not move), except for the
    # modules the binary was built without and, for the proxy and request
    # body paths, when --- http_config sets them itself
    my $nginx_V = nginx_V_output();
    my $fastcgi_temp_path = "fastcgi_temp_path $ServRoot/fastcgi_temp;";
    my $scgi_temp_path = "scgi_temp_path $ServRoot/scgi_temp;";
    my $uwsgi_temp_path = "uwsgi_temp_path $ServRoot/uwsgi_temp;";
    my $proxy_temp_path = "proxy_temp_path $ServRoot/proxy_temp;";
    my $client_body_temp_path = "client_body_temp_path $ServRoot/client_body_temp;";
    $fastcgi_temp_path = '' if $nginx_V =~ /--without-http_fastcgi_module/;
    $scgi_temp_path = '' if $nginx_V =~ /--without-http_scgi_module/;
    $uwsgi_temp_path = '' if $nginx_V =~ /--without-http_uwsgi_module/;
    $proxy_temp_path = '' if $http_config =~ /\bproxy_temp_path\b/;
    $client_body_temp_path = '' if $http_config =~ /\bclient_body_temp_path\b/;

    my $env_lines = '';
    for my $v (@EnvToNginx) {
        my $e = $v =~ /\s/ ? "'$v'" : $v;
        $env_lines .= "env $e;\n";
    }

    my $conf = <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
${env_lines}#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile; $client_body_temp_path $proxy_temp_path $fastcgi_temp_path $scgi_temp_path $uwsgi_temp_path
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$server_name';

        client_max_body_size 30M;
        #client_body_buffer_size 4k;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_

    if (!$NoRootLocation) {
        $conf .= <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    $conf .= "    }\n";

    if ($UseHup) {
        $conf .= <<_EOC_;
    server {
        listen          $ServerPort$listen_opts;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }

$extra_http_config
_EOC_
    }

    $conf .= <<_EOC_;
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
_EOC_

    $conf .= "    use $EventType;\n" if $EventType;
    $conf .= "}\n";
    $conf .= <<_EOC_;
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
_EOC_

    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $conf .= "user root;\n";
    }

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $conf;
    close $out;
}

# ---------------------------------------------------------------------------
# tiny HTTP GET used for the HUP-mode config version probe (the real module
# shells out to curl for this)

sub http_get_body ($$$) {
    my ($host, $path, $tmo) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => $ServerAddr,
        PeerPort => $ServerPort,
        Proto    => 'tcp',
        Timeout  => $tmo,
    ) or return undef;
    $sock->autoflush(1);
    print $sock "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $resp = '';
    while ($sel->can_read($tmo)) {
        my $n = sysread($sock, my $buf, 4096);
        last if !$n;
        $resp .= $buf;
    }
    close $sock;
    return undef if $resp !~ /\r\n\r\n(.*)\z/s;
    return $1;
}

sub test_config_version ($$) {
    my ($name, $block) = @_;
    my $total = 200;
    my $nsucc = 0;
    my $sleep = sleep_time();

    for my $tries (1 .. $total) {
        my $ver = http_get_body('Test-Nginx', '/ver', 2);
        if (defined $ver && $ver eq $ConfigVersion) {
            $nsucc++;
            sleep $sleep if $nsucc == 5;
            return if $nsucc >= 20;
            next;
        }
        $nsucc = 0;
        my $wait = ($sleep + $sleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        if ($wait > 0.5) {
            warn "$name - waiting $wait sec for nginx to reload the configuration\n";
        }
        sleep $wait;
    }

    Test::More->builder->no_ending(1);
    Test::More::fail("$name - failed to reload configuration after $total failed test requests");
}

sub check_if_missing_directives ($) {
    my $extra = shift // '';
    my $text = $extra;
    if (open my $in, '<', $ErrLogFile) {
        local $/;
        $text .= <$in> // '';
        close $in;
    }
    if ($text =~ /\[emerg\] \S+?: unknown directive "([^"]+)"/
        || $text =~ /\[emerg\] unknown directive "([^"]+)"/)
    {
        return $1;
    }
    return 0;
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock;
    return if !defined $block;
    if (defined $block->shutdown_error_log) {
        my $dry_run = ($UseHup || $ENV{TEST_NGINX_NO_CLEAN}) ? 1 : 0;
        $CheckShutdownErrorLog->($block, $dry_run);
    }
}

# ---------------------------------------------------------------------------
# valgrind support (fallback addition: reports are collected from log
# files and any error makes the current block fail)

sub valgrind_cmd_prefix () {
    if (!$ValgrindLogDir) {
        $ValgrindLogDir = File::Temp::tempdir("tn-valgrind-XXXXXX", TMPDIR => 1,
                                              CLEANUP => 1);
    }
    my $log = "--log-file=$ValgrindLogDir/vg.%p.log";
    my @cmd;
    if ($UseValgrind =~ /^\d+$/) {
        my $opts = "--tool=memcheck --leak-check=full --show-possibly-lost=no";
        my $supp = -f 'valgrind.suppress' ? ' --suppressions=valgrind.suppress' : '';
        return "valgrind --num-callers=100 -q $opts --gen-suppressions=all$supp $log";
    }
    return "valgrind -q $UseValgrind $log";
}

sub check_valgrind_logs ($) {
    my $name = shift;
    return if !$UseValgrind || !$ValgrindLogDir;

    my $report = '';
    for my $file (sort glob("$ValgrindLogDir/vg.*.log")) {
        open my $in, '<', $file or next;
        seek $in, $ValgrindLogPos{$file} // 0, 0;
        local $/;
        my $new = <$in> // '';
        $ValgrindLogPos{$file} = tell($in);
        close $in;
        $report .= $new;
    }
    return if $report eq '';

    # group the "==PID== ..." lines into records separated by empty
    # "==PID==" lines; records starting with a Warning are not errors
    my @errors;
    my $cur = '';
    for my $line (split /\n/, $report) {
        if ($line =~ /^==\d+==\s*$/) {
            push @errors, $cur if $cur ne '';
            $cur = '';
            next;
        }
        # suppression templates (--gen-suppressions) carry no prefix
        $cur .= "$line\n" if $line =~ /^==\d+==/;
    }
    push @errors, $cur if $cur ne '';
    @errors = grep { /^==\d+== / && !/^==\d+== Warning:/ } @errors;

    print STDERR $report;

    if (@errors) {
        Test::More::fail("$name - valgrind reported " . scalar(@errors)
                         . " error record(s)");
    }
}

# ---------------------------------------------------------------------------
# starting nginx

# runs nginx in the foreground of the caller (daemon on) or forks it (daemon
# off, valgrind); returns ($status, $stderr_text)
sub run_nginx_cmd ($$) {
    my ($name, $cmd_args) = @_;

    my ($errfh, $errfile) = File::Temp::tempfile("tn-nginx-err-XXXXXX", TMPDIR => 1,
                                                 UNLINK => 1);
    close $errfh;

    my $pid = fork();
    if (!defined $pid) {
        bail_out("$name - fork() failed: $!");
    }

    if ($pid == 0) {
        $InSubprocess = 1;
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $errfile;
        exec @$cmd_args or POSIX::_exit(127);
    }

    # with "daemon on" nginx returns right after forking the daemon; with
    # "daemon off" (only possible for --- must_die under valgrind) it would
    # keep running, so do not wait forever.
    my $left = $DaemonEnabled eq 'on' ? 60 : timeout();
    my $status;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            $status = $?;
            last;
        }
        if ($r < 0) {
            $status = -1;
            last;
        }
        if ($left <= 0) {
            kill SIGQUIT, $pid;
            sleep 0.5;
            kill SIGKILL, $pid;
            waitpid($pid, 0);
            $status = 0;   # it did not die by itself
            last;
        }
        sleep 0.01;
        $left -= 0.01;
    }

    my $err = '';
    if (open my $in, '<', $errfile) {
        local $/;
        $err = <$in> // '';
        close $in;
    }
    unlink $errfile;

    return ($status, $err);
}

# 0.33 runs "nginx -e $ServRoot/logs/error.log -p $ServRoot/ -c $ConfFile"
# for any nginx >= 0.7.53 (its old test for -p); nginx only knows -e since
# 1.19.5, so the fallback leaves it out for older binaries, which the real
# module cannot start at all.
sub nginx_cmd_args () {
    my @args = ($NginxBinary);
    if ($StartupErrLog && defined $NginxVersion && $NginxVersion >= 1.019005) {
        push @args, '-e', "$ServRoot/logs/error.log";
    }
    push @args, '-p', "$ServRoot/", '-c', $ConfFile;
    return \@args;
}

sub start_nginx_forked ($) {
    my $name = shift;

    my $cmd = join ' ', map { quotemeta } @{ nginx_cmd_args() };
    $cmd = valgrind_cmd_prefix() . " $cmd";
    warn "$name\n";

    unlink $PidFile;

    my $pid = fork();
    if (!defined $pid) {
        bail_out("$name - fork() failed: $!");
    }
    if ($pid == 0) {
        setpgrp;
        $InSubprocess = 1;
        Test::More->builder->no_ending(1);
        warn "command: $cmd\n" if $Verbose;
        exec "exec $cmd > /dev/null" or POSIX::_exit(127);
    }
    $ChildPid = $pid;

    # valgrind is slow to start: wait for the pid file, which nginx writes
    # after its listening sockets are open
    my $left = 60;
    while ($left > 0 && !-s $PidFile) {
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $ChildPid;
            warn "WARNING: $name - nginx (under valgrind) exited early: status $?\n";
            warn err_log_tail(20);
            last;
        }
        sleep 0.05;
        $left -= 0.05;
    }
    sleep $TestNginxSleep;
}

sub stop_forked_nginx ($) {
    my $name = shift;

    my $pid;
    if (-f $PidFile) {
        $pid = get_pid_from_pidfile($name);
    }
    $pid ||= $ChildPid;
    if ($pid && is_running($pid)) {
        kill_process($pid, 1, $name, valgrind_grace());
    }
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, $name, valgrind_grace()) if is_running($ChildPid);
        undef $ChildPid;
    }
    unlink $PidFile if -f $PidFile;
}

# ---------------------------------------------------------------------------
# main driver

sub run_tests () {
    $NginxVersion = get_nginx_version();

    if (!defined $ENV{TEST_NGINX_SERVER_PORT}) {
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    }

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks if !$NoShuffle;

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }
        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);
        $PrevBlock = $block;
    }

    cleanup();
}

sub parse_skip_spec ($$) {
    my ($block, $name) = @_;

    my ($tests_to_skip, $should_skip, $skip_reason);

    my $skip_eval = $block->skip_eval;
    if (defined $skip_eval) {
        if ($skip_eval =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $tests_to_skip = $1;
            $skip_reason = "skip_eval";
            my $code = $2;
            $should_skip = eval $code;
            if ($@) {
                bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@");
            }
        }
    }

    my $cmp = sub {
        my ($have, $op, $want) = @_;
        return $op eq '<'  ? $have <  $want
             : $op eq '<=' ? $have <= $want
             : $op eq '>'  ? $have >  $want
             :               $have >= $want;
    };

    my $skip_nginx = $block->skip_nginx;
    my $skip_nginx2 = $block->skip_nginx2;
    if (defined $skip_nginx) {
        if ($skip_nginx =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/) {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $skip_reason = $6 || "nginx version $op $3.$4.$5";
            if ((!defined $NginxVersion && $op =~ /^</)
                || (defined $NginxVersion && $cmp->($NginxVersion, $op, $ver)))
            {
                $should_skip = 1;
            }
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $skip_nginx");
        }
    } elsif (defined $skip_nginx2) {
        if ($skip_nginx2 =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/) {
            $tests_to_skip = $1;
            my ($opa, $vera) = ($2, get_canon_version($3, $4, $5));
            my $opx = $6;
            my ($opb, $verb) = ($7, get_canon_version($8, $9, $10));
            $skip_reason = $11;
            if (!defined $NginxVersion) {
                $should_skip = 1;
            } else {
                my $ra = $cmp->($NginxVersion, $opa, $vera);
                my $rb = $cmp->($NginxVersion, $opb, $verb);
                $should_skip = 1 if $opx eq "or" ? ($ra || $rb) : ($ra && $rb);
            }
        } else {
            bail_out("$name - Invalid --- skip_nginx2 spec: $skip_nginx2");
        }
    }

    my $skip_openssl = $block->skip_openssl;
    if (defined $skip_openssl) {
        if ($skip_openssl =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*))?\s*$/) {
            $tests_to_skip = $1;
            my ($op, $v4) = ($2, $6);
            my $ver = get_canon_version_for_OpenSSL($3, $4, $5, $v4);
            $skip_reason = $7
                || (defined $OpenSSLVersion
                    ? "OpenSSL version $op $3.$4.$5" . ($v4 // '')
                    : "Not built with OpenSSL");
            if (!defined $OpenSSLVersion || $cmp->($OpenSSLVersion, $op, $ver)) {
                $should_skip = 1;
            }
        } else {
            bail_out("$name - Invalid --- skip_openssl spec: $skip_openssl");
        }
    }

    $skip_reason = "various reasons" if !defined $skip_reason;

    my ($should_todo, $todo_reason);
    my $todo_nginx = $block->todo_nginx;
    if (defined $todo_nginx) {
        if ($todo_nginx =~ /^\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/) {
            my ($op, $ver) = ($1, get_canon_version($2, $3, $4));
            $todo_reason = $5;
            if ((!defined $NginxVersion && $op =~ /^</)
                || (defined $NginxVersion && $cmp->($NginxVersion, $op, $ver)))
            {
                $should_todo = 1;
            }
        } else {
            bail_out("$name - Invalid --- todo_nginx spec: $todo_nginx");
        }
    }

    my $todo = $block->todo;
    if (defined $todo) {
        if ($todo =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $should_todo = 1;
            $tests_to_skip = $1;
            $todo_reason = $2;
        } else {
            bail_out("$name - Invalid --- todo spec: $todo");
        }
    }
    $todo_reason = "various reasons" if !defined $todo_reason;

    return ($tests_to_skip, $should_skip, $skip_reason, $should_todo, $todo_reason);
}

sub run_test ($) {
    my $block = shift;

    return if defined $block->SKIP;

    my $name = $block->name;

    my $first_time;
    if ($FirstTime) {
        $first_time = 1;
        undef $FirstTime;
    }

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    my $dry_run = 0;
    my ($should_restart, $should_reconfig) = (1, 1);

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    local $UseValgrind = $UseValgrind;
    local $UseHup = $UseHup;

    my $must_die;
    if (defined $block->must_die) {
        $must_die = $block->must_die;
        undef $UseValgrind;
        undef $UseHup;
    }

    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        # like the real module: keep the running server as it is
        $should_restart = 0;
        $should_reconfig = 0;

    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        $should_restart = 0;
        $should_reconfig = 0;

    } else {
        $should_reconfig = (!defined $PrevConfig || $config ne $PrevConfig) ? 1 : 0;
        $should_restart = ($should_reconfig || $ForceRestartOnTest) ? 1 : 0;
    }

    my ($tests_to_skip, $should_skip, $skip_reason, $should_todo, $todo_reason)
        = parse_skip_spec($block, $name);

    my $reloaded;

    if (!$NoNginxManager && !$should_skip && $should_restart) {

        $ConfigVersion = gen_rand_str(10) if $UseHup;
        $PrevConfig = $config if $should_reconfig;

        my $nginx_is_running;

        if (-f $PidFile) {
            my $pid = get_pid_from_pidfile($name);

            if ($pid ne '' && is_running($pid)) {
                if ($UseHup && !$first_time) {
                    check_valgrind_logs($PrevBlock ? $PrevBlock->name : $name);
                    setup_server_root($first_time);
                    write_user_files($block, $rand_ports);
                    write_config_file($block, $config, $rand_ports);

                    if (kill(SIGUSR1, $pid)) {
                        sleep $TestNginxSleep;
                        if (kill(SIGHUP, $pid)) {
                            sleep $TestNginxSleep * 3;
                            warn "$name\n" if $UseValgrind;
                            if (defined $block->reload_fails) {
                                sleep 0.3;
                            } else {
                                test_config_version($name, $block);
                            }
                            check_prev_block_shutdown_error_log();
                            $nginx_is_running = 1;
                            $reloaded = 1;
                        } else {
                            warn "$name - Failed to send HUP signal\n" if $Verbose;
                        }
                    } else {
                        warn "$name - Failed to send USR1 signal\n";
                    }
                }

                if (!$reloaded) {
                    kill_process($pid, 1, $name, valgrind_grace());
                    undef $ChildPid if defined $ChildPid && !is_running($ChildPid);
                }

            } elsif (-f $PidFile) {
                unlink $PidFile or warn "WARNING: failed to remove pid file $PidFile\n";
            }
        }

        if (!$reloaded) {
            check_prev_block_shutdown_error_log();
            check_valgrind_logs($PrevBlock ? $PrevBlock->name : $name)
                if $UseHup && $UseValgrind;

            setup_server_root($first_time);
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports);

            if (!can_run($NginxBinary)) {
                bail_out("$name - Cannot find the nginx executable in the PATH environment");
            }

            $NginxVersion = $LatestNginxVersion if !defined $NginxVersion;

            if ($UseValgrind) {
                start_nginx_forked($name);

            } else {
                my $i = 0;
                my $waited = 0;
                $ErrLogFilePos = 0;
                my $cmd = nginx_cmd_args();

              RUN_AGAIN:
                my ($status, $stderr) = run_nginx_cmd($name, $cmd);
                print STDERR $stderr if $stderr ne '';

                my ($exec_failed, $coredump, $exit_code);
                if ($status == -1) {
                    $exec_failed = 1;
                } else {
                    $exit_code = $status >> 8;
                    $coredump = $status & 128;
                }

                if (defined $must_die) {
                    if ($exec_failed) {
                        Test::More::fail("$name - failed to execute the nginx command line");
                    } elsif ($coredump) {
                        Test::More::fail("$name - nginx core dumped");
                    } elsif (looks_like_number($must_die)) {
                        Test::More::is($must_die, $exit_code,
                                       "$name - die with the expected exit code");
                    } else {
                        Test::More::isnt($status, 0, "$name - die as expected");
                    }

                    $CheckErrorLog->($block, undef, $dry_run, $i, 0);

                    if ($status == 0) {
                        warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
                        for (1 .. 15) {
                            last if -f $PidFile;
                            sleep $TestNginxSleep;
                        }
                        if (-f $PidFile) {
                            kill_process(get_pid_from_pidfile($name), 1, $name);
                        }
                    }

                    goto RUN_AGAIN if ++$i < $RepeatEach;
                    return;
                }

                if ($status != 0) {
                    my $directive;
                    if ($ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES}
                        and $directive = check_if_missing_directives($stderr))
                    {
                        $dry_run = "the lack of directive $directive";

                    } else {
                        # retry while a previous instance still holds the port
                        # (the real module retries any failure for 30 sec)
                        if ($stderr =~ /Address already in use|bind\(\) to .* failed/
                            && $waited < 30)
                        {
                            $i++;
                            my $delay = 0.1 * $i;
                            $delay = 1 if $delay > 1;
                            sleep $delay;
                            $waited += $delay;
                            goto RUN_AGAIN;
                        }
                        my $tail = err_log_tail(20);
                        warn "--- nginx stderr:\n$stderr--- tail of $ErrLogFile:\n$tail";
                        bail_out("$name - Cannot start nginx using command \"@$cmd\" "
                                 . "(status code $status).");
                    }
                }
            }

            sleep $TestNginxSleep;
        }
    }

    # request phase

    if ($block->init) {
        eval $block->init;
        if ($@) {
            bail_out("$name - init failed: $@");
        }
    }

    my $i = 0;
    $ErrLogFilePos = 0;
    while ($i++ < $RepeatEach) {
        if ($i > 1) {
            write_user_files($block, $rand_ports);
        }

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
                $RunTestHelper->($block, $dry_run, $i - 1);
            }

        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason", $tests_to_skip);
                $RunTestHelper->($block, $dry_run, $i - 1);
            }

        } else {
            $RunTestHelper->($block, $dry_run, $i - 1);
        }
    }

    if (my $total_errlog = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile) {
            open my $out, '>>', $total_errlog
                or bail_out("Failed to append test case title to $total_errlog: $!\n");
            print $out "\n=== $0 $name\n";
            if (open my $in, '<', $ErrLogFile) {
                local $/;
                my $c = <$in>;
                print $out $c if defined $c;
                close $in;
            }
            close $out;
        }
    }

    if ($UseValgrind && !$UseHup) {
        # like the real module, quit nginx after every block under valgrind
        # so that leak reports are flushed
        stop_forked_nginx($name);
        check_valgrind_logs($name);
    }
}

END {
    return if $InSubprocess;

    if ($$ != $MainPid) {
        warn "WARNING: Test::Nginx END block running in forked child $$ "
             . "(parent $MainPid); the real Test::Nginx would now stop nginx "
             . "too. Leave forked children with POSIX::_exit().\n";
    }

    cleanup();

    if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;
        if (defined $PidFile && -f $PidFile) {
            my $pid = get_pid_from_pidfile('');
            if ($pid && is_running($pid)) {
                kill_process($pid, 1, "END", valgrind_grace());
            } else {
                unlink $PidFile;
            }
        }
        if ($UseValgrind && $$ == $MainPid) {
            local $?;
            check_valgrind_logs($PrevBlock ? $PrevBlock->name : "$0 END");
        }
    }

    {
        local $?;
        check_prev_block_shutdown_error_log() if $$ == $MainPid;
    }

    if ($Randomize && $$ == $MainPid) {
        if (defined $ServRoot && -d $ServRoot && $ServRoot =~ m{/t/servroot_\d+}) {
            remove_tree($ServRoot);
        }
    }
}

1;
