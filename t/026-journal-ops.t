# The journal in operation (runs_journal, docs/JOURNAL.md): a binary
# upgrade (USR2 to the master, QUIT to the old one) keeps every run,
# session and launcher exactly, and a runner carries on with its
# launcher_id; a journal on a full filesystem answers 503 with a clear
# detail (the changes whose write failed: not acknowledged; every later
# one: refused before it is made), logs one line per worker per 10 s,
# loses nothing answered 201 and takes changes again once there is room;
# a journal file made unwritable while nginx runs (chattr +i: a chmod
# does not stop a process that has the file open) does the same; a file
# made read-only is made writable again at a reload or a start; a
# journal directory made unwritable stops only rewrites; in the strict
# mode a 201 is answered
# only once the run's record is in the file, while the relaxed mode
# answers before.
#
# Each block has its own journal in <server root>/html/journal/ (see
# t/inc/RunsJournal.pm), or on a tmpfs the flow mounts (needs root:
# skipped with the reason otherwise) and unmounts; nginx is stopped and
# started again from the flows, and the harness stops the last one
# through logs/nginx.pid.

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    require Runs;
    Runs::route_startup_log();
    # run as root (CI is): workers as nobody, as in production, rather
    # than the harness's "user root", so that file modes and the
    # module's handing of the journal to the workers' user count
    if ($> == 0 && !defined $ENV{TEST_NGINX_WORKER_USER}) {
        my @pw = getpwnam('nobody');
        my $group = @pw ? getgrgid($pw[3]) : undef;
        $ENV{TEST_NGINX_WORKER_USER} = "nobody $group" if defined $group;
    }
}

use Test::Nginx::Socket;
use Runs;
use RunsJournal;
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $NOT_ACKED = 'The change could not be written to the runs_journal: it is not acknowledged';
# once a write failed, changes are refused before they are made
my $NOTHING = 'The runs_journal cannot be written (see the error log): nothing was changed, ask again later';

# "status N, status M, ..." of a snapshot's runs
sub by_status {
    my ($s) = @_;
    my %n;
    $n{ $_->{status} }++ for values %{ $s->{runs} };
    return join ', ', map { "$_ $n{$_}" } sort keys %n;
}

# ---------------------------------------------------------------------
# binary upgrade

# 100 runs in every status across 70 sessions, held by three runners:
# returns (\@launchers, \%ids by name, problems)
sub populate_100 {
    my @bad;
    my @L = map {
        scalar register_launcher(hostname => "up-host-$_", project_dir => "/srv/up$_",
                                 executor_type => 'upgrade-test', agents => ["agent$_"])
    } 1 .. 3;
    push @bad, 'register' if grep { !$_ } @L;
    my %id;
    for my $i (1 .. 60) {
        $id{"s$i"} = create_run(session_name => "up-$i", prompt => "upgrade prompt $i",
                                agent_name => 'agent' . (1 + $i % 3),
                                project_dir => "/srv/p$i");
    }
    push @bad, 'create' if grep { !$id{"s$_"} } 1 .. 60;
    # claims hand out the oldest claimable run: s1 .. s50, round robin
    my %holder;
    for my $i (1 .. 50) {
        my $L = $L[$i % 3];
        my $r = claim($L);
        push @bad, "claim $i" if !$r || $r->{run_id} ne ($id{"s$i"} // '');
        $holder{$i} = $L;
    }
    for my $i (1 .. 45) {
        my $ev = launcher_event($id{"s$i"}, 'started', { launcher_id => $holder{$i} });
        push @bad, "started $i: $ev->{status}" if $ev->{status} != 200;
    }
    for my $i (1 .. 30) {
        my $ev = launcher_event($id{"s$i"}, 'completed',
                                { launcher_id => $holder{$i},
                                  result => "result $i: \x{e9}t\x{e9} \x{2713}\nline 2" });
        push @bad, "completed $i: $ev->{status}" if $ev->{status} != 200;
    }
    for my $i (31 .. 35) {
        my $ev = launcher_event($id{"s$i"}, 'failed',
                                { launcher_id => $holder{$i}, error => "broke $i \x{2717}",
                                  result => "partial $i" });
        push @bad, "failed $i: $ev->{status}" if $ev->{status} != 200;
    }
    # 36 .. 42 running, 43 .. 45 stopping, 46 .. 50 claimed
    for my $i (43 .. 45, 51 .. 55) {
        my $st = stop_run($id{"s$i"})->{status};
        push @bad, "stop $i: $st" if $st != 200 && $st != 202;
    }
    # 56 .. 60 pending; resumes of the 30 completed sessions, 10 more
    for my $i (1 .. 30) {
        $id{"r$i"} = create_run(type => 'resume_session', session_name => "up-$i",
                                prompt => "resume $i");
        push @bad, "resume $i" if !$id{"r$i"};
    }
    for my $i (61 .. 70) {
        $id{"s$i"} = create_run(session_name => "up-$i", prompt => "later $i");
        push @bad, "create $i" if !$id{"s$i"};
    }
    return (\@L, \%id, \%holder, join(', ', @bad));
}

flow 'a binary upgrade (USR2, then QUIT to the old master) keeps every run, session and runner', 18, sub {
    my ($L, $id, $holder, $bad) = populate_100();
    is $bad, '', '100 runs in every status, 70 sessions, 3 runners';
    my $s0 = snapshot();
    is by_status($s0), 'claimed 5, completed 30, failed 5, pending 45, running 7, stopped 5, stopping 3',
       'by status: ' . by_status($s0);

    # USR2 starts the master's own binary from its argv[0]: nginx must
    # run by an absolute path (the harness may have started it otherwise)
    if (master_argv0(master_pid()) !~ m{^/}) {
        nginx_down('quit');
        nginx_start(15, 1);
    }
    my $up = nginx_upgrade();
    ok $up->{ok}, "USR2: the old master $up->{old} is in nginx.pid.oldbin, the new one "
                  . ($up->{new} // '?') . ' in nginx.pid with '
                  . scalar(@{ $up->{workers} || [] }) . ' workers'
        or diag("$up->{why}\n$up->{log}");
    unlike $up->{log} // '', qr/\[(?:emerg|alert|crit)\]/, 'no [emerg], [alert] or [crit] while it starts'
        or diag($up->{log});
    ok nginx_quit_old($up), 'QUIT to the old master: it and its workers are gone';
    ok !-e Runs::server_root() . '/logs/nginx.pid.oldbin' && (master_pid() // 0) == ($up->{new} // -1),
       'nginx.pid.oldbin removed, nginx.pid names the new master';

    # only the new master's workers answer now
    my $s1 = snapshot();
    my ($nr, $ns, $nl) = map { scalar keys %{ $s1->{$_} } } qw(runs sessions launchers);
    is "$nr of 100 runs, $ns of 70 sessions, $nl of 3 runners",
       '100 of 100 runs, 70 of 70 sessions, 3 of 3 runners', 'counts after the upgrade';
    same_state($s1, $s0, 'every run as it was (status, ids, times, result, error), '
                         . 'every session and runner');

    # a runner from before carries on without registering again
    my $L2 = $L->[2 % 3];
    my ($L2stop) = grep { $holder->{$_} eq $L2 } 43 .. 45;
    is req('POST', '/launcher/heartbeat', { launcher_id => $L2 })->{status}, 200,
       'heartbeat of a runner from before: 200';
    # its first poll answers the stop of the run it held that was being
    # stopped, the next one claims
    my $p = poll_once($L2, 10);
    my @stops = @{ ($p->{json} || {})->{stop_runs} || [] };
    ok $p->{status} == 200 && "@stops" eq $id->{"s$L2stop"},
       'its poll: 200, the stop of the run it held being stopped'
        or diag(Runs::jenc({ status => $p->{status}, body => $p->{body} }));
    my $run = claim($L2);
    is $run && $run->{run_id}, $id->{s56}, 'its next poll: the oldest claimable run (of up-56)';
    my @ev = (
        [$id->{s56}, 'started', $L2, {}],
        [$id->{s56}, 'completed', $L2, { result => 'after the upgrade' }],
        [$id->{s46}, 'started', $holder->{46}, {}],
        [$id->{s36}, 'completed', $holder->{36}, { result => 'ran across the upgrade' }],
        [$id->{s43}, 'stopped', $holder->{43}, {}],
    );
    my @st = map { launcher_event($_->[0], $_->[1], { launcher_id => $_->[2], %{ $_->[3] } })->{status} }
             @ev;
    is "@st", '200 200 200 200 200',
       'its reports, and those of the other runners on the runs they held before: 200';
    is_deeply [map { status_of($id->{$_}) } qw(s56 s46 s36 s43)],
              [qw(completed running completed stopped)], 'recorded';
    is((get_run($id->{s36}) || {})->{result}, 'ran across the upgrade', 'with the result');

    my ($nid, $nres) = create_run(session_name => 'up-new', prompt => 'after the upgrade');
    ok $nres->{status} == 201 && !$s0->{runs}{$nid}, 'a new run gets a new id';
    my (undef, $again) = create_run(session_name => 'up-5', prompt => 'again');
    is $again->{status}, 409, 'a session from before cannot be started again: 409';

    # what the new master's workers wrote is in the journal too
    my $s2 = snapshot();
    ok nginx_down('quit') && nginx_up(), 'stopped (-s quit) and started';
    same_state(snapshot(), $s2, 'every change made before and after the upgrade is there');
};


# ---------------------------------------------------------------------
# the journal's writes failing

# the run records (type 1) of the journal at $path holding $text (a
# session name, a prompt, a result: they are in a run's record as they
# are), whole ones only (their CRC checks)
sub run_records_with {
    my ($path, $text) = @_;
    my $j = journal_records(slurp($path) // '');
    return [grep { $_->{type} == 1 && index($_->{body}, $text) >= 0 } @{ $j->{records} }];
}

# creations of runs named "$prefix-$i" with $prompt, until $stop->(status,
# count of 503s) says so or $max attempts: { acked => { run_id => name },
# refused => [names answered 503], details => { detail of a 503 => n },
# other => [ "name status" ] }
sub create_until {
    my ($prefix, $prompt, $max, $stop) = @_;
    my %r = (acked => {}, refused => [], nothing => [], details => {}, other => []);
    for my $i (1 .. $max) {
        my $name = "$prefix-$i";
        my ($id, $res) = create_run(session_name => $name, prompt => "$name $prompt");
        if ($res->{status} == 201 && $id) {
            $r{acked}{$id} = $name;
        } elsif ($res->{status} == 503) {
            my $d = ($res->{json} || {})->{detail} // $res->{body};
            push @{ $r{refused} }, $name;
            push @{ $r{nothing} }, $name if $d eq $NOTHING;
            $r{details}{$d}++;
        } else {
            push @{ $r{other} }, "$name $res->{status}";
        }
        last if $stop->($res->{status}, scalar @{ $r{refused} });
    }
    return \%r;
}

# one assertion: the changes whose write failed said "not acknowledged"
# (at least one; at most one write per worker), every later one was
# refused before it was made ("nothing was changed")
sub all_refused {
    my ($c, $name) = @_;
    my $d = $c->{details};
    my $na = $d->{$NOT_ACKED} // 0;
    my @other = grep { $_ ne $NOT_ACKED && $_ ne $NOTHING } keys %$d;
    ok $na >= 1 && !@other && $na + ($d->{$NOTHING} // 0) == @{ $c->{refused} }, $name
        or diag('details: ' . Runs::jenc($d));
}

# Checks after a restart: every run answered 201 (%$acked: id => session
# name) is there, pending, in its session; no run id twice; a session
# answered 503 (@$refused) has at most one run.  Two assertions.
sub acked_there {
    my ($acked, $refused, $name, $nothing) = @_;
    my $s = snapshot();
    my @missing = grep { !$s->{runs}{$_} || $s->{runs}{$_}{session_name} ne $acked->{$_}
                         || $s->{runs}{$_}{status} ne 'pending' } sort keys %$acked;
    ok $s->{ok} && keys(%$acked) && !@missing,
       sprintf('%s: every one of the %d runs answered 201 is there, pending', $name,
               scalar keys %$acked)
        or diag(scalar(@missing) . ' missing or changed: '
                . join(' ', grep { defined } @missing[0 .. 9]));
    my %per;
    $per{ $_->{session_name} }++ for values %{ $s->{runs} };
    my @twice = grep { ($per{$_} // 0) > 1 } @$refused;
    my $back = grep { $per{$_} } @$refused;
    my @made = grep { $per{$_} } @{ $nothing || [] };
    ok !$s->{dup} && !@twice && !@made,
       sprintf('no run twice; of the %d runs answered 503, %d are there (those not '
               . 'acknowledged, written once there was room), none twice, none of the '
               . '%d refused before they were made', scalar(@$refused), $back,
               scalar @{ $nothing || [] })
        or diag("listed twice: " . ($s->{dup} // 0) . "; sessions with two runs: @twice; "
                . "refused before being made but there: @made");
    return $s;
}

# the lines of $log saying the journal could not be written
sub write_errors {
    my ($log, $path) = @_;
    return [grep { /\[error\].*writing the runs_journal "\Q$path\E" failed/ } split /\n/, $log];
}

# ---------------------------------------------------------------------
# a full disk

my $PROMPT_4K = 'x' x 4000;

flow 'a journal on a full disk: 503, one error line per worker, nothing answered 201 lost', 21, sub {
    my ($dir, $why) = tmpfs_mount('2m');
    SKIP: {
        skip "the full-disk flow needs a tmpfs: $why", 21 if !$dir;
        my $path = "$dir/runs.journal";
        my $done = eval { full_disk($dir, $path); 1 };
        my $err = $@;
        # whatever happened: the journal back where the block had it, the
        # tmpfs unmounted
        my $conf = slurp(Runs::server_root() . '/conf/nginx.conf') // '';
        nginx_down('quit');
        conf_edit([$path, journal_path()]) if index($conf, $path) >= 0;
        nginx_up();
        ok tmpfs_umount($dir), 'the journal back on the disk, the tmpfs unmounted';
        die $err if !$done;
    }
};

# the full-disk flow with its tmpfs at $dir: 20 assertions
sub full_disk {
    my ($dir, $path) = @_;
    ok nginx_down('quit') && conf_edit([journal_path(), $path]) && nginx_up(),
       "restarted with the journal on a 2 MB tmpfs ($dir)";

    # 4 KB prompts until the disk is full, then 40 more
    my $off = RunsJournal::log_size();
    my $t0 = time;
    my $c = create_until('full', $PROMPT_4K, 3000, sub { $_[1] >= 40 });
    my $acked = $c->{acked};
    my $n201 = keys %$acked;
    ok $n201 > 200 && @{ $c->{refused} } == 40 && !@{ $c->{other} },
       sprintf('%d runs answered 201 until the disk was full, then 503 (%d), nothing else',
               $n201, scalar @{ $c->{refused} })
        or diag("other answers: @{ $c->{other} }[0 .. 9]");
    all_refused($c, "503 {\"detail\": \"$NOT_ACKED\"} for the write that failed, then \"$NOTHING\"");
    my $log = RunsJournal::log_since($off);
    my $errs = write_errors($log, $path);
    my $secs = time - $t0;
    my $allowed = conf_workers() * (1 + int($secs / 10));
    ok @$errs >= 1 && @$errs <= $allowed,
       sprintf('%d error line(s) for %d refused changes in %.1f s (at most one per worker '
               . 'per 10 s)', scalar(@$errs), scalar @{ $c->{refused} }, $secs)
        or diag(join "\n", @$errs[0 .. ($#$errs > 5 ? 5 : $#$errs)]);
    like $errs->[0] // '', qr/No space left on device/, 'saying why: no space left on device';
    my $full = file_size($path) // 0;
    cmp_ok $full, '>', 1_900_000, "the journal filled the disk ($full bytes)";

    # the zone keeps a change whose write failed (it is written once there
    # is room), not one refused before it was made; reads go on
    my $s = snapshot();
    my %in_zone = map { $_->{session_name} => 1 } values %{ $s->{runs} };
    my @nothing = @{ $c->{nothing} };
    my @na = grep { my $n = $_; !grep { $_ eq $n } @nothing } @{ $c->{refused} };
    ok $s->{ok} && !grep({ !$in_zone{$_} } @na) && !grep({ $in_zone{$_} } @nothing),
       sprintf('listings answer 200; the zone holds the %d changes not acknowledged and '
               . 'none of the %d refused before they were made', scalar @na, scalar @nothing);

    # a restart with the disk still full: the last write that failed
    # may have left part of a record at the end, which is cut off
    ok nginx_down('quit'), 'stopped (-s quit) with the disk full';
    my $tail = journal_records(slurp($path))->{tail};
    my $r = nginx_start();
    ok $r->{up}, 'started again with the disk full' or diag($r->{text});
    # (what nginx printed and its log: each line may be there twice)
    my %torn = map { $_ => 1 } $r->{text} =~ /torn record at byte (\d+)/g;
    my @torn = sort keys %torn;
    ok defined $tail ? "@torn" eq $tail && file_size($path) == $tail : !@torn,
       defined $tail ? "the part of a record at byte $tail dropped with a warning, the file cut there"
                     : 'the journal ends with a whole record: no warning'
        or diag(join "\n", grep { /runs_journal/ } split /\n/, $r->{text});
    acked_there($acked, $c->{refused}, 'after a start on a full disk', $c->{nothing});
    my $c2 = create_until('stillfull', $PROMPT_4K, 30, sub { $_[1] >= 3 });
    $acked->{$_} = $c2->{acked}{$_} for keys %{ $c2->{acked} };
    ok @{ $c2->{refused} } == 3 && !@{ $c2->{other} },
       'creations answer 503 again once the room the start freed is used ('
       . scalar(keys %{ $c2->{acked} }) . ' answered 201 first)';

    # room again: the failed write is tried again every second, no
    # restart needed
    ok tmpfs_resize($dir, '8m'), 'the tmpfs grown to 8 MB';
    sleep Runs::tf(1.5);
    my $c3 = create_until('room', $PROMPT_4K, 20, sub { 0 });
    is scalar(keys %{ $c3->{acked} }), 20, 'creations answer 201 again within 1.5 s: 20 of 20'
        or diag("503: @{ $c3->{refused} }; other: @{ $c3->{other} }");
    $acked->{$_} = $c3->{acked}{$_} for keys %{ $c3->{acked} };
    my @refused = (@{ $c->{refused} }, @{ $c2->{refused} });
    my @nothing_all = (@{ $c->{nothing} }, @{ $c2->{nothing} });
    ok nginx_down('quit'), 'stopped';
    # a write that failed half-way is followed by whole records now
    my $bad = journal_records(slurp($path))->{bad};
    $r = nginx_start();
    ok $r->{up}, 'started' or diag($r->{text});
    my %cut = map { $_ => 1 } $r->{text} =~ /write cut short at byte (\d+)/g;
    my @cut = sort { $a <=> $b } keys %cut;
    is "@cut", "@$bad", @$bad ? "the part of a record at byte(s) @$bad skipped with a warning"
                              : 'no part of a record in the file, no warning';
    acked_there($acked, \@refused, 'with room again', \@nothing_all);
}

# ---------------------------------------------------------------------
# a journal made unwritable while nginx runs

flow 'a journal file made unwritable while nginx runs: 503 not acknowledged, then taken again, nothing answered 201 lost', 14, sub {
    my $path = journal_path();
    my $jdir = journal_dir();
    my @w = workers_of(master_pid());
    my $wuser = @w ? (stat "/proc/$w[0]")[4] : -1;
    my %acked;
    my @ids = map { scalar create_run(session_name => "ro-$_", prompt => "before $_") } 1 .. 5;
    $acked{ $ids[$_ - 1] } = "ro-$_" for grep { $ids[$_ - 1] } 1 .. 5;
    is scalar(keys %acked), 5, 'five runs created';
    is((stat $path)[4], $wuser, "the journal belongs to the workers' user (uid $wuser)");

    # a chmod does not stop a process that has the file open: nginx goes
    # on writing to it
    my ($fmode, $dmode) = map { (stat $_)[2] & 07777 } $path, $jdir;
    chmod 0444, $path;
    chmod 0555, $jdir;
    my ($id, $res) = create_run(session_name => 'ro-chmod', prompt => 'after the chmod');
    my $recs = run_records_with($path, 'ro-chmod');
    ok $res->{status} == 201 && @$recs == 1,
       'the file 0444 and its directory 0555: a creation still answers 201, '
       . 'its record in the file (the workers have it open)'
        or diag("status $res->{status}, " . scalar(@$recs) . ' records');
    $acked{$id} = 'ro-chmod' if $id;
    chmod $fmode, $path;
    chmod $dmode, $jdir;

    # chattr +i: no write to it succeeds any more, root's included
    my ($ok, $why) = immutable($path, 1);
    SKIP: {
        skip "chattr +i on the journal: $why", 11 if !$ok;
        my $refused;
        my $done = eval { $refused = while_immutable($path); 1 };
        my $err = $@;
        ($ok) = immutable($path, 0);
        die $err if !$done;
        ok $ok, 'chattr -i';
        sleep Runs::tf(1.5);
        my $c2 = create_until('ro-back', 'writable again', 10, sub { 0 });
        is scalar(keys %{ $c2->{acked} }), 10,
           'writable again: creations answer 201 within 1.5 s, 10 of 10';
        $acked{$_} = $c2->{acked}{$_} for keys %{ $c2->{acked} };
        ok nginx_down('quit') && nginx_up(), 'stopped and started';
        acked_there(\%acked, $refused->{refused}, 'after a restart', $refused->{nothing});
    }
};

# changes with the journal immutable: 6 assertions; what create_until saw
sub while_immutable {
    my ($path) = @_;
    my $off = RunsJournal::log_size();
    my $t0 = time;
    my $size0 = file_size($path);
    my $c = create_until('ro-imm', 'immutable', 30, sub { 0 });
    is scalar(@{ $c->{refused} }), 30, 'the file immutable: 30 creations answer 503'
        or diag(scalar(keys %{ $c->{acked} }) . " answered 201; other: @{ $c->{other} }");
    all_refused($c, "with {\"detail\": \"$NOT_ACKED\"}, then \"$NOTHING\"");
    my (undef, $lres) = register_launcher(hostname => 'ro-imm');
    is $lres->{status}, 503, 'a registration answers 503 too';
    my $errs = write_errors(RunsJournal::log_since($off), $path);
    my $secs = time - $t0;
    ok @$errs >= 1 && @$errs <= conf_workers() * (1 + int($secs / 10)),
       sprintf('%d error line(s) in %.1f s, saying why', scalar(@$errs), $secs)
        or diag(join "\n", @$errs);
    like $errs->[0] // '', qr/Operation not permitted/, 'the error names the cause';
    is file_size($path), $size0, 'the file is as it was';
    return $c;
}

# A journal file made read-only (0444) while nginx runs: the master,
# which runs as root, gives it to the workers' user writable again at a
# reload or a start (with a warning), so the new workers open it and
# nothing is lost.
flow 'a journal file made read-only is made writable again at a reload or a start', 6, sub {
    my $path = journal_path();
    my @ids = map { scalar create_run(session_name => "rl-$_", prompt => "reload $_") } 1 .. 5;
    my %acked = map { $ids[$_ - 1] => "rl-$_" } grep { $ids[$_ - 1] } 1 .. 5;
    is scalar(keys %acked), 5, 'five runs created';
    my $fmode = (stat $path)[2] & 07777;
    chmod 0444, $path;
    my $m = master_pid();
    my %old = map { $_ => 1 } workers_of($m);
    my $off = RunsJournal::log_size();
    kill 'HUP', $m;
    # the old workers quit once the new ones are started
    Runs::wait_for(Runs::tf(5), sub { !grep { kill 0, $_ } keys %old }, 0.05);
    sleep 0.3;
    my $res = req('POST', '/runs', { type => 'start_session', session_name => 'rl-after',
                                     prompt => 'after the reload' }, undef, 2);
    my $log = RunsJournal::log_since($off);
    my @alerts = grep { /\[(?:alert|emerg)\]/ } split /\n/, $log;
    is $res->{status}, 201, 'the journal 0444 and a reload: nginx still answers (a creation: 201)'
        or diag($res->{error} // '');
    ok !@alerts && $log =~ /\[warn\].*runs_journal "\Q$path\E" was not writable/,
       'no alert; a warning says the file is made writable again' or diag(join "\n", @alerts);
    ok nginx_down('quit'), 'stopped';
    chmod 0444, $path;
    my $r = nginx_start(2);
    ok $r->{up} && $r->{text} =~ /was not writable/,
       'the journal 0444 and a start: nginx answers, with the same warning'
        or diag(join "\n", grep { /\[(?:alert|emerg|warn)\]/ } split /\n/, $r->{text});
    chmod $fmode, $path;
    ok nginx_down('quit') && nginx_up() && !grep({ !get_run($_) } keys %acked),
       'the journal writable again: started, every run there';
};

# a rewrite needs the directory: one it cannot write to stops rewrites
# (logged, tried again a minute later), not changes
flow 'a journal directory made unwritable while nginx runs stops rewrites only', 7, sub {
    my $path = journal_path();
    my $jdir = journal_dir();
    my $dmode = (stat $jdir)[2] & 07777;
    chmod 0555, $jdir;
    my $off = RunsJournal::log_size();
    my $c = create_until('dir', $PROMPT_4K, 40, sub { 0 });
    is scalar(keys %{ $c->{acked} }), 40,
       'the directory 0555: 40 runs of 4 KB prompts answered 201 (past compact=64k)';
    my $rew = [grep { /rewriting the runs_journal "\Q$path\E" failed/ }
               split /\n/, RunsJournal::log_since($off)];
    ok @$rew >= 1 && @$rew <= conf_workers(),
       scalar(@$rew) . ' error line(s): the rewrite failed, tried again in a minute';
    like $rew->[0] // '', qr/Permission denied/, 'naming the cause';
    ok !-e "$path.new" && !-e "$path.old", 'no file left beside the journal';
    # a master run as root gives the directory back to the workers' user
    # at start; any other leaves it as it is
    chmod $dmode, $jdir if $> != 0;
    my $r;
    ok nginx_down('quit') && ($r = nginx_start())->{up} && ((stat $jdir)[2] & 0200),
       'stopped and started: the directory is the workers\' to write again'
        or diag($r && $r->{text});
    acked_there($c->{acked}, [], 'after the restart');
    chmod $dmode, $jdir;
};


# ---------------------------------------------------------------------
# strict and relaxed: when the record is in the file

flow 'strict mode: a change is answered only once its whole record is in the file', 7, sub {
    my $path = journal_path();
    my $L = register_launcher(hostname => 'strict');
    my @bad;
    my %id;
    for my $i (1 .. 30) {
        my $name = sprintf 'strict-%03d', $i;
        my ($id, $res) = create_run(session_name => $name, prompt => "strict prompt $i");
        # the file as it is the moment the answer is read
        my $n = @{ run_records_with($path, $name) };
        $id{$i} = $id;
        push @bad, "$name: $res->{status}, $n records" if $res->{status} != 201 || $n != 1;
    }
    ok !@bad, '30 runs answered 201: the record of each is in the file, whole (its CRC '
              . 'checks), when its answer arrives' or diag(join "\n", @bad);

    # each later change of a run: one more record of it, with the change
    my $run = claim($L);
    my $n1 = @{ run_records_with($path, 'strict-001') };
    ok $run && $run->{run_id} eq $id{1} && $n1 == 2, "a claim: answered with its record there ($n1)";
    my $st = launcher_event($id{1}, 'started', { launcher_id => $L })->{status};
    my $n2 = @{ run_records_with($path, 'strict-001') };
    ok $st == 200 && $n2 == 3, "started: 200, its record there ($n2)";
    my $result = "strict result \x{2713} " . ('r' x 300);
    $st = launcher_event($id{1}, 'completed', { launcher_id => $L, result => $result })->{status};
    my $recs = run_records_with($path, 'strict-001');
    my $utf8 = $result;
    utf8::encode($utf8);
    ok $st == 200 && @$recs == 4 && index($recs->[-1]{body}, $utf8) >= 0,
       'completed: 200, its record there with the result (' . scalar(@$recs) . ')';
    $st = stop_run($id{2})->{status};
    my $n3 = @{ run_records_with($path, 'strict-002') };
    ok $st == 200 && $n3 == 2, "a stop: 200, its record there ($n3)";

    # and nothing else: the file is whole records up to its end
    my $image = slurp($path) // '';
    my $j = journal_records($image);
    my $last = $j->{records}[-1];
    ok !@{ $j->{bad} } && !defined $j->{tail} && $last && $last->{off} + $last->{size} == length $image,
       scalar(@{ $j->{records} }) . ' whole records, the last one ending the file ('
       . length($image) . ' bytes)';
    # one client, one change at a time, each on disk before its answer:
    # the file holds them in the order they were made
    my @changes = map { $_->{change} } @{ $j->{records} };
    my @back = grep { $changes[$_] < $changes[$_ - 1] } 1 .. $#changes;
    ok @changes && !@back && $changes[-1] >= 35,
       'in the order of their changes, 1 to ' . ($changes[-1] // '?')
        or diag("out of order at records @back: @changes");
};

flow 'relaxed mode: a 201 comes before the record is in the file, which follows within the interval', 3, sub {
    my $path = journal_path();
    my $t0 = time;
    my ($now, @names) = (0);
    for my $i (1 .. 5) {
        my $name = sprintf 'relaxed-%03d', $i;
        my (undef, $res) = create_run(session_name => $name, prompt => "relaxed $i");
        $now++ if @{ run_records_with($path, $name) };
        push @names, $name if $res->{status} == 201;
    }
    my $secs = time - $t0;
    ok @names == 5 && $now <= 1,
       sprintf('5 runs answered 201 in %.2f s, %d of them in the file at the answer', $secs, $now);
    my $all = Runs::wait_for(Runs::tf(4), sub {
        !grep { !@{ run_records_with($path, $_) } } @names;
    }, 0.1);
    ok $all, sprintf('all of them in the file %.1f s later (interval=2s)', time - $t0);
    ok nginx_down('kill') && nginx_up() && !grep({ !@{ list_runs("session_name=$_") } } @names),
       'and there after a SIGKILL of every nginx process';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a binary upgrade (USR2, then QUIT to the old master) keeps every run, session and runner
--- http_config
    runs_zone runs 16m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 2: a journal on a full disk: 503, one error line per worker, nothing answered 201 lost
--- http_config
    runs_zone runs 16m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 3: a journal file made unwritable while nginx runs: 503 not acknowledged, then taken again, nothing answered 201 lost
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 4: a journal file made read-only is made writable again at a reload or a start
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log



=== TEST 5: a journal directory made unwritable while nginx runs stops rewrites only
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal compact=64k;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: strict mode: a change is answered only once its whole record is in the file
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=strict;
--- user_files
>>> journal/.keep



=== TEST 7: relaxed mode: a 201 comes before the record is in the file, which follows within the interval
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=relaxed interval=2s;
--- user_files
>>> journal/.keep
