package RunsJournal;

# Helpers for the journal suites (t/024-journal.t, t/025-journal-crash.t,
# t/026-journal-ops.t): where the journal lives, stopping nginx in the
# ways a coordinator goes down (-s stop, -s quit, SIGKILL of the master
# and every worker at once) and starting it again from a flow, a binary
# upgrade (USR2, then QUIT to the old master), reading the error log
# since a start, snapshots of the zone's state to compare before and
# after, the journal's records as they are in the file, and a small
# tmpfs or an immutable file to make the journal's writes fail (undone at
# exit, whatever happens).
#
# The journal lives in <server root>/html/journal/: the harness removes
# html/ (and logs/) before every block, so each block starts with no
# journal, and leaves no directory behind that its setup_server_root()
# would refuse to remove.  A block creates the directory with
#     --- user_files
#     >>> journal/.keep
# (user_files are written under html/ before nginx starts).
#
# nginx started here is found by both harnesses through logs/nginx.pid,
# which it writes, so they stop it after the block as usual.

use strict;
use warnings;

use POSIX ();
use Time::HiRes qw(time sleep);
use Test::More ();

use Exporter 'import';

our @EXPORT = qw(
    journal_path journal_dir journal_conf
    master_pid workers_of nginx_pids
    nginx_down nginx_up nginx_start nginx_test
    log_size log_since
    snapshot snap_diff same_state
    slurp spurt file_size
    oldbin_pid conf_workers master_argv0 nginx_upgrade nginx_quit_old
    conf_edit journal_records
    tmpfs_mount tmpfs_resize tmpfs_umount immutable
);

sub root { Runs::server_root() }

sub journal_dir { root() . '/html/journal' }
sub journal_path { journal_dir() . '/runs.journal' }

# the runs_journal line of a block, with $TEST_NGINX_SERVER_ROOT left for
# the harness to expand
sub journal_conf {
    my ($extra) = @_;
    return 'runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal'
           . (defined $extra && length $extra ? " $extra" : '') . ';';
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return undef;
    binmode $in;
    local $/;
    my $s = <$in> // '';
    close $in;
    return $s;
}

sub spurt {
    my ($file, $bytes) = @_;
    open my $out, '>', $file or die "$file: $!\n";
    binmode $out;
    print {$out} $bytes;
    close $out or die "$file: $!\n";
    return 1;
}

sub file_size {
    my ($file) = @_;
    my @st = stat $file;
    return @st ? $st[7] : undef;
}

sub pid_file { root() . '/logs/nginx.pid' }

# the pid file of the old master during a binary upgrade: nginx renames
# its pid file to this before it starts the new binary
sub oldbin_file { pid_file() . '.oldbin' }

sub master_pid {
    # nginx truncates the file before it writes its pid: read again
    for (1 .. 20) {
        my $s = slurp(pid_file()) // return undef;
        $s =~ s/\s+//g;
        return $s if $s =~ /^\d+$/;
        sleep 0.01;
    }
    return undef;
}

sub _stat_of {
    my ($pid) = @_;
    return slurp("/proc/$pid/stat") // '';
}

sub _alive {
    my ($pid) = @_;
    return 0 if !kill 0, $pid;
    return _stat_of($pid) =~ /\)\s+Z\s/ ? 0 : 1;     # a zombie is gone
}

# the children of $master (its workers)
sub workers_of {
    my ($master) = @_;
    return () if !$master;
    my @w;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        my ($ppid) = _stat_of($p) =~ /\)\s+\S+\s+(\d+)/;
        push @w, $p if defined $ppid && $ppid == $master && _alive($p);
    }
    closedir $d;
    return @w;
}

# the master and its workers, as they are now
sub nginx_pids {
    my $m = master_pid() or return ();
    return () if !_alive($m);
    return ($m, workers_of($m));
}

sub _bin { $ENV{TEST_NGINX_BINARY} || 'nginx' }

# the nginx binary by its absolute path (what a binary upgrade needs: the
# master starts the new binary from its own argv[0])
sub _abs_bin {
    my $bin = _bin();
    return $bin if $bin =~ m{^/};
    if ($bin !~ m{/}) {
        for my $d (split /:/, $ENV{PATH} // '') {
            return "$d/$bin" if -f "$d/$bin" && -x _;
        }
        return $bin;
    }
    require Cwd;
    return Cwd::abs_path($bin) // $bin;
}

sub _cmd {
    my (@extra) = @_;
    my $r = root();
    return (_bin(), '-p', "$r/", '-c', "$r/conf/nginx.conf", @extra);
}

# the same with the binary's absolute path
sub _abs_cmd {
    my @cmd = _cmd(@_);
    $cmd[0] = _abs_bin();
    return @cmd;
}

# run a command, its stdout and stderr together: (exit status, output).
# Into a file, not a pipe: a daemon keeps what it inherited open.
sub _run {
    my (@cmd) = @_;
    require File::Temp;
    my $tmp = File::Temp->new(TEMPLATE => 'nginx-out-XXXXXX', TMPDIR => 1);
    my $file = $tmp->filename;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $file or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $st = $?;
    return ($st, slurp($file) // '');
}

# Stops nginx: $how is 'stop' (nginx -s stop), 'quit' (nginx -s quit) or
# 'kill' (SIGKILL to the master and all its workers in one kill()).
# Waits (up to 20 s) until every one of those processes is gone.  Returns
# 1 when they are.
sub nginx_down {
    my ($how) = @_;
    my @pids = nginx_pids();
    return 0 if !@pids;
    if ($how eq 'kill') {
        kill 'KILL', @pids;
    } elsif ($how eq 'stop' || $how eq 'quit') {
        my ($st, $out) = _run(_cmd('-s', $how));
        if ($st != 0) {
            Test::More::diag("nginx -s $how: status $st: $out");
            kill($how eq 'stop' ? 'TERM' : 'QUIT', $pids[0]);
        }
    } else {
        die "nginx_down: unknown way $how\n";
    }
    my $gone = Runs::wait_for(Runs::tf(20), sub { !grep { _alive($_) } @pids },
                              0.02) ? 1 : 0;
    # a killed master leaves its pid file: never signal whoever gets the
    # pid next
    unlink pid_file() if $gone && $how eq 'kill';
    return $gone;
}

# size of the error log now (lines written after it: log_since)
sub log_size {
    return file_size(Runs::error_log_path()) // 0;
}

sub log_since {
    my ($off) = @_;
    my $all = slurp(Runs::error_log_path()) // '';
    return '' if length($all) < ($off // 0);
    return substr($all, $off // 0);
}

# Starts nginx with the block's configuration.  Returns a hash: st (exit
# status of the nginx command), out (what it printed), log (the error log
# written since), up (1 when it answers GET /launchers with 200 within
# $timeout seconds; 0 when it did not start), text (out and log together).
# With $abs true, nginx is started by the absolute path of its binary (a
# binary upgrade re-executes the master's argv[0]).
sub nginx_start {
    my ($timeout, $abs) = @_;
    my $off = log_size();
    my ($st, $out) = _run($abs ? _abs_cmd() : _cmd());
    my $up = 0;
    if ($st == 0) {
        $up = Runs::wait_for(Runs::tf($timeout // 15), sub {
            Runs::req('GET', '/launchers', undef, undef, 5)->{status} == 200;
        }, 0.05) ? 1 : 0;
    }
    my $log = log_since($off);
    return { st => $st, out => $out, log => $log, up => $up,
             text => "$out\n$log" };
}

# nginx_start() that must succeed: returns 1 once nginx answers
sub nginx_up {
    my ($timeout) = @_;
    my $r = nginx_start($timeout);
    Test::More::diag("nginx did not start again: status $r->{st}\n$r->{text}")
        if !$r->{up};
    return $r->{up};
}

# nginx -t on a configuration: the block's own, or its text with each
# [$from, $to] of @subst replaced (written beside it).  (status, output)
sub nginx_test {
    my (@subst) = @_;
    my $r = root();
    my $conf = "$r/conf/nginx.conf";
    if (@subst) {
        my $text = slurp($conf) // die "$conf: $!\n";
        for my $s (@subst) {
            my ($from, $to) = @$s;
            my $n = $text =~ s/\Q$from\E/$to/g;
            die "nginx_test: \"$from\" not in $conf\n" if !$n;
        }
        $conf = "$r/conf/nginx-t.conf";
        spurt($conf, $text);
    }
    # the pid directive names the running nginx's pid file: -t writes it,
    # so test with a copy that names another one
    my $text = slurp($conf);
    $text =~ s{^(\s*pid\s+)\S+;}{${1}$r/logs/nginx-t.pid;}m;
    # its messages on its stderr, not in the error log of the block
    $text =~ s{^(\s*error_log\s+)[^;]*;}{${1}stderr;}mg;
    my $tconf = "$r/conf/nginx-t2.conf";
    spurt($tconf, $text);
    # the binary itself, not t/inc/nginx-startup-log.pl (which adds "-e
    # logs/error.log"): what it says goes to its stderr
    my $bin = $ENV{TEST_NGINX_REAL_BINARY} || _bin();
    return _run($bin, (_knows_e($bin) ? ('-e', 'stderr') : ()),
                '-t', '-p', "$r/", '-c', $tconf);
}

# does this nginx know "-e" (1.19.5 and later)?
my %KNOWS_E;
sub _knows_e {
    my ($bin) = @_;
    return $KNOWS_E{$bin} //= do {
        my (undef, $v) = _run($bin, '-v');
        $v =~ m{nginx/(\d+)\.(\d+)\.(\d+)}
            && sprintf('%03d%03d%03d', $1, $2, $3) ge '001019005' ? 1 : 0;
    };
}

# ---------------------------------------------------------------------
# binary upgrade

sub oldbin_pid {
    my $s = slurp(oldbin_file()) // return undef;
    $s =~ s/\s+//g;
    return $s =~ /^\d+$/ ? $s : undef;
}

# worker_processes of the block's nginx.conf (1 when it does not say)
sub conf_workers {
    my $text = slurp(root() . '/conf/nginx.conf') // '';
    return $text =~ /^\s*worker_processes\s+(\d+)\s*;/m ? $1 : 1;
}

# the binary a running master was started as (its argv[0]): nginx puts
# it in its process title ("nginx: master process ARGV0 ARGS...")
sub master_argv0 {
    my ($pid) = @_;
    my $c = slurp("/proc/$pid/cmdline") // '';
    $c =~ s/^nginx: master process //;
    return (split /[\0 ]/, $c)[0] // '';
}

# The first half of a binary upgrade: USR2 to the master, which renames
# logs/nginx.pid to logs/nginx.pid.oldbin and starts its own binary again
# (from its argv[0], with the listening sockets); the new master writes
# logs/nginx.pid, makes its zones (rebuilt from the journal) and starts
# its workers.  Waits (up to $timeout s, default 20) until the new master
# has conf_workers() workers.  Returns a hash: old, new (the masters'
# pids), workers ([the new master's]), ok (1 when all that happened), log
# (the error log written since), why (what did not happen).  nginx must
# have been started with the binary's absolute path: argv0 says what it
# was.
sub nginx_upgrade {
    my ($timeout) = @_;
    my %r = (old => master_pid(), ok => 0, why => '');
    my $off = log_size();
    if (!$r{old} || !_alive($r{old})) {
        $r{why} = 'no running master in ' . pid_file();
        return \%r;
    }
    $r{argv0} = master_argv0($r{old});
    if ($r{argv0} !~ m{^/}) {
        $r{why} = "the master runs as \"$r{argv0}\", not by an absolute "
                  . 'path: USR2 could not start it again';
        return \%r;
    }
    my $want = conf_workers();
    kill 'USR2', $r{old};
    my $done = Runs::wait_for(Runs::tf($timeout // 20), sub {
        my $o = oldbin_pid() // return 0;
        my $n = master_pid() // return 0;
        return 0 if $o != $r{old} || $n == $r{old} || !_alive($n);
        $r{new} = $n;
        my @w = workers_of($n);
        $r{workers} = \@w;
        return @w >= $want;
    }, 0.05);
    $r{log} = log_since($off);
    if ($done) {
        $r{ok} = 1;
    } else {
        $r{why} = sprintf('after USR2: %s holds %s, %s holds %s, the new '
                          . 'master has %d of %d workers',
                          oldbin_file(), oldbin_pid() // 'nothing',
                          pid_file(), master_pid() // 'nothing',
                          scalar(@{ $r{workers} || [] }), $want);
    }
    return \%r;
}

# The second half: QUIT to the old master; waits (up to $timeout s,
# default 20) until it and its workers are gone (not the new master,
# which is its child too).  1 when they are.
sub nginx_quit_old {
    my ($up, $timeout) = @_;
    my $old = $up->{old};
    return 0 if !$old || !_alive($old);
    my @pids = ($old, grep { $_ != ($up->{new} // 0) } workers_of($old));
    kill 'QUIT', $old;
    return Runs::wait_for(Runs::tf($timeout // 20),
                          sub { !grep { _alive($_) } @pids }, 0.02) ? 1 : 0;
}

# each [$from, $to] of @subst replaced in the block's nginx.conf (dies
# when $from is not there); 1
sub conf_edit {
    my (@subst) = @_;
    my $conf = root() . '/conf/nginx.conf';
    my $text = slurp($conf) // die "$conf: $!\n";
    for my $s (@subst) {
        my ($from, $to) = @$s;
        my $n = $text =~ s/\Q$from\E/$to/g;
        die "conf_edit: \"$from\" not in $conf\n" if !$n;
    }
    return spurt($conf, $text);
}

# ---------------------------------------------------------------------
# the journal's records, as the file holds them

# The layout (src/ngx_http_runs_store_journal.c): a 64-byte header
# ("NGXRUNSJ", the format's version, ...), then records of a u32 size
# (header included), a u32 CRC-32 of what follows it, a u64 change
# number, a u32 type (1 run, 2 session, 3 launcher, 4-6 one of them
# gone), a u32 reserved, then the body (a run's holds its session's name
# and its prompt, result and error as they are), in the machine's byte
# order.  Returns { records => [ { off, size, change, type, body } ] (the
# records that check, in file order), bad => [offsets where a record does
# not check and the scan went on at the next one that does], tail => the
# offset of a torn end (undef: none) }.
sub journal_records {
    my ($image) = @_;
    require Compress::Zlib;
    my %r = (records => [], bad => [], tail => undef);
    my $len = length($image // '');
    my $off = 64;
    my $check = sub {
        my ($at) = @_;
        return undef if $at + 32 > $len;
        my ($size, $crc) = unpack('LL', substr($image, $at, 8));
        return undef if $size < 32 || $size > $len - $at;
        my ($change, $type) = unpack('QL', substr($image, $at + 8, 12));
        return undef if $type < 1 || $type > 6;
        return undef
            if Compress::Zlib::crc32(substr($image, $at + 8, $size - 8)) != $crc;
        return { off => $at, size => $size, change => $change, type => $type,
                 body => substr($image, $at + 24, $size - 24) };
    };
    while ($off < $len) {
        my $rec = $check->($off);
        if ($rec) {
            push @{ $r{records} }, $rec;
            $off += $rec->{size};
            next;
        }
        my $next;
        for my $at ($off + 1 .. $len - 32) {
            last if $at + 32 > $len;
            $next = $at, last if $check->($at);
        }
        if (!defined $next) {
            $r{tail} = $off;
            last;
        }
        push @{ $r{bad} }, $off;
        $off = $next;
    }
    return \%r;
}

# ---------------------------------------------------------------------
# making the journal's writes fail: a small tmpfs, an immutable file.
# Whatever a flow leaves behind is undone at exit (by the process that
# did it, not a forked child).

my $OWNER = $$;
my (%MOUNTS, %IMMUTABLE);

sub _sh {
    my (@cmd) = @_;
    my ($st, $out) = _run(@cmd);
    chomp $out;
    return ($st, $out);
}

# A tmpfs of $size (mount's size=, e.g. "2m") on a new directory under the
# system's temporary directory: (directory) or (undef, why it could not).
sub tmpfs_mount {
    my ($size) = @_;
    require File::Temp;
    my $dir = File::Temp::tempdir('runs-tmpfs-XXXXXX', TMPDIR => 1);
    my ($st, $out) = _sh('mount', '-t', 'tmpfs', '-o', "size=$size,mode=0755",
                         'tmpfs', $dir);
    if ($st != 0) {
        rmdir $dir;
        return (undef, "mount -t tmpfs -o size=$size: "
                       . ($out ne '' ? $out : "status $st"));
    }
    $MOUNTS{$dir} = 1;
    return ($dir);
}

# a mounted tmpfs given another size (the files stay): 1 when it is
sub tmpfs_resize {
    my ($dir, $size) = @_;
    my ($st, $out) = _sh('mount', '-o', "remount,size=$size", $dir);
    Test::More::diag("remount $dir size=$size: $out") if $st != 0;
    return $st == 0 ? 1 : 0;
}

# unmounted (lazily when a process still has a file open) and removed
sub tmpfs_umount {
    my ($dir) = @_;
    return 1 if !$MOUNTS{$dir};
    my ($st) = _sh('umount', $dir);
    ($st) = _sh('umount', '-l', $dir) if $st != 0;
    delete $MOUNTS{$dir} if $st == 0;
    rmdir $dir if $st == 0;
    return $st == 0 ? 1 : 0;
}

# chattr +i (or -i with $on false) on a file: even a process that has it
# open cannot write to it any more (EPERM), root included.  (1) or
# (0, why not).
sub immutable {
    my ($file, $on) = @_;
    my ($st, $out) = _sh('chattr', $on ? '+i' : '-i', $file);
    return (0, "chattr: " . ($out ne '' ? $out : "status $st")) if $st != 0;
    if ($on) { $IMMUTABLE{$file} = 1 } else { delete $IMMUTABLE{$file} }
    return (1);
}

END {
    if ($$ == $OWNER) {
        local $?;
        _sh('chattr', '-i', $_) for keys %IMMUTABLE;
        tmpfs_umount($_) for keys %MOUNTS;
    }
}

# The zone's state as the API shows it: { runs => { id => run }, order =>
# [ids oldest first], launchers => { id => launcher (without the fields
# that change as time passes) }, sessions => { id => session } }
sub snapshot {
    my %s = (runs => {}, order => [], launchers => {}, sessions => {},
             ok => 1);
    my $r = Runs::req('GET', '/runs?limit=10000');
    $s{ok} = 0 if $r->{status} != 200;
    for my $run (@{ ($r->{json} || {})->{runs} || [] }) {
        push @{ $s{order} }, $run->{run_id};
        $s{dup}++ if exists $s{runs}{ $run->{run_id} };
        $s{runs}{ $run->{run_id} } = $run;
    }
    $r = Runs::req('GET', '/launchers');
    $s{ok} = 0 if $r->{status} != 200;
    for my $l (@{ ($r->{json} || {})->{launchers} || [] }) {
        my %l = %$l;
        delete @l{qw(last_heartbeat status seconds_since_heartbeat)};
        $s{launchers}{ $l{launcher_id} } = \%l;
    }
    $r = Runs::req('GET', '/sessions?limit=10000');
    $s{ok} = 0 if $r->{status} != 200;
    for my $x (@{ ($r->{json} || {})->{sessions} || [] }) {
        $s{sessions}{ $x->{session_id} } = $x;
    }
    return \%s;
}

# a short description of how two snapshots' runs differ ('' when they
# do not)
sub snap_diff {
    my ($want, $got) = @_;
    my @d;
    for my $id (sort keys %{ $want->{runs} }) {
        my $a = $want->{runs}{$id};
        my $b = $got->{runs}{$id};
        if (!$b) { push @d, "$id missing"; next }
        for my $k (sort keys %$a) {
            my ($x, $y) = (Runs::jenc($a->{$k}), Runs::jenc($b->{$k}));
            push @d, "$id.$k: $x -> $y" if $x ne $y;
        }
        for my $k (sort keys %$b) {
            push @d, "$id.$k: new field" if !exists $a->{$k};
        }
    }
    for my $id (sort keys %{ $got->{runs} }) {
        push @d, "$id: not there before" if !$want->{runs}{$id};
    }
    return join "\n", @d;
}

# one assertion: snapshot $got holds what $want held (runs field by field,
# their order, launchers, sessions), no run twice
sub same_state {
    my ($got, $want, $name) = @_;
    my @d;
    push @d, 'a listing failed' if !$got->{ok};
    push @d, "$got->{dup} run ids listed twice" if $got->{dup};
    my $rd = snap_diff($want, $got);
    push @d, $rd if $rd ne '';
    push @d, 'run order differs'
        if "@{ $got->{order} }" ne "@{ $want->{order} }";
    push @d, 'launchers differ: ' . Runs::jenc($got->{launchers}) . ' vs '
             . Runs::jenc($want->{launchers})
        if Runs::jenc($got->{launchers}) ne Runs::jenc($want->{launchers});
    push @d, 'sessions differ: ' . Runs::jenc($got->{sessions}) . ' vs '
             . Runs::jenc($want->{sessions})
        if Runs::jenc($got->{sessions}) ne Runs::jenc($want->{sessions});
    Test::More::ok(!@d, $name) or Test::More::diag(join "\n", @d);
}

1;
