# The journal (runs_journal ZONE PATH [sync=strict|relaxed] [interval=T]):
# what "nginx -t" and a start refuse; that without it nothing is written;
# that a restart (-s stop, -s quit, SIGKILL of the master and every worker
# at once, under load) brings back every run, session and launcher as it
# was last acknowledged, and the runner carries on with its old
# launcher_id; a torn tail (cut at random offsets, half a record
# appended) dropped with a warning; a flipped byte in the middle or a
# journal of a future format refused; relaxed mode; a zone resized on
# reload rebuilt from the journal.
#
# Each block has its own journal in <server root>/html/journal/ (see
# t/inc/RunsJournal.pm); nginx is stopped and started again from the
# flows, and the harness stops the last one through logs/nginx.pid.

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    require Runs;
    Runs::route_startup_log();
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

# ---------------------------------------------------------------------
# the state a restart must bring back

sub is_run {
    my ($id, $want) = @_;
    my $run = get_run($id);
    return $run && $run->{status} eq $want;
}

# Builds a zone with a run in every status, a session resumed, a session
# deleted and a launcher deregistered, through the HTTP API (launcher
# "keeper" plays the runner).  Returns (\%ids, $keeper, $problems).
sub populate {
    my %id;
    my @bad;
    my $L = register_launcher(hostname => 'keeper', project_dir => '/srv/keep',
                              executor_type => 'journal-test', agents => ['coder']);
    my $gone = register_launcher(hostname => 'gone');
    my $bare = register_launcher();         # no hostname, project_dir, ...
    push @bad, 'register' if !$L || !$gone || !$bare;

    # each claim takes the oldest claimable run: claim as soon as created
    $id{completed} = create_run(session_name => 'j-done', prompt => 'done',
                                agent_name => 'coder', project_dir => '/srv/a');
    my $c = claim($L);
    push @bad, 'claim done' if !$c || $c->{run_id} ne ($id{completed} // '');
    launcher_event($id{completed}, 'started', { launcher_id => $L });
    launcher_event($id{completed}, 'completed',
                   { launcher_id => $L,
                     result => "the answer: \x{e9}t\x{e9} \x{2713}\n\x{0}line 2\n" });

    $id{failed} = create_run(session_name => 'j-fail', prompt => 'fail');
    $c = claim($L);
    push @bad, 'claim fail' if !$c || $c->{run_id} ne ($id{failed} // '');
    launcher_event($id{failed}, 'started', { launcher_id => $L });
    launcher_event($id{failed}, 'failed',
                   { launcher_id => $L, error => "it broke: \x{2717} exit 3",
                     result => 'partial' });

    $id{running} = create_run(session_name => 'j-run', prompt => 'run');
    $c = claim($L);
    push @bad, 'claim running' if !$c || $c->{run_id} ne ($id{running} // '');
    launcher_event($id{running}, 'started', { launcher_id => $L });

    $id{stopping} = create_run(session_name => 'j-stopping', prompt => 'stop me');
    $c = claim($L);
    push @bad, 'claim stopping' if !$c || $c->{run_id} ne ($id{stopping} // '');
    launcher_event($id{stopping}, 'started', { launcher_id => $L });
    stop_run($id{stopping});

    # the first poll answers the stop, the next claims
    $id{claimed} = create_run(session_name => 'j-claimed', prompt => 'claimed');
    $c = claim($L);
    push @bad, 'claim claimed' if !$c || $c->{run_id} ne ($id{claimed} // '');

    $id{stopped} = create_run(session_name => 'j-stopped', prompt => 'never');
    stop_run($id{stopped});

    $id{resume} = create_run(type => 'resume_session', session_name => 'j-done',
                             prompt => 'resume before');
    $id{pending1} = create_run(session_name => 'j-pend-1', prompt => 'p1');
    $id{pending2} = create_run(session_name => 'j-pend-2', prompt => "p2 \x{263a}",
                               agent_name => 'coder');

    $id{deleted} = create_run(session_name => 'j-del', prompt => 'deleted');
    my $sid = (get_run($id{deleted}) || {})->{session_id} // 'none';
    push @bad, 'delete session' if req('DELETE', "/sessions/$sid")->{status} != 200;
    push @bad, 'deregister' if deregister($gone, 1)->{status} != 200;

    my %want = (completed => 'completed', failed => 'failed', running => 'running',
                stopping => 'stopping', claimed => 'claimed', stopped => 'stopped',
                resume => 'pending', pending1 => 'pending', pending2 => 'pending');
    for my $k (sort keys %want) {
        push @bad, "$k is " . status_of($id{$k}) if !is_run($id{$k}, $want{$k});
    }
    push @bad, 'deleted run still there'
        if req('GET', "/runs/$id{deleted}")->{status} != 404;
    $id{bare_launcher} = $bare;
    return (\%id, $L, join(', ', @bad));
}

# a child that creates runs as fast as it can, writing "run_id
# session_name" for every 201 to $file as soon as it has it.  Without
# $secs it ends when nginx stops answering; with it, it goes on for $secs
# seconds, on a new connection after a failure (an attempt that failed is
# written "fail": its run may or may not be there).  $pace: seconds to
# wait after each run.
sub start_loader {
    my ($file, $prefix, $secs, $pace) = @_;
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;
    open my $out, '>>', $file or POSIX::_exit(2);
    my $end = defined $secs ? time + $secs : undef;
    my $c;
    for my $i (1 .. 100000) {
        last if defined $end && time > $end;
        my $name = "$prefix-$i";
        $c //= eval { Runs::conn() };
        my $r = $c && eval {
            $c->request('POST', '/runs', { type => 'start_session',
                                           session_name => $name,
                                           prompt => "load $i" }, undef, 10) };
        if ($r && $r->{status} == 201 && $r->{json}) {
            syswrite $out, "$r->{json}{run_id} $name\n";
            sleep $pace if $pace;
            next;
        }
        last if !defined $end;
        syswrite $out, "fail $name\n";
        $c->close if $c;
        undef $c;
        sleep 0.01;
    }
    close $out;
    POSIX::_exit(0);
}

sub read_acked {
    my ($file) = @_;
    my %acked;
    for my $l (split /\n/, slurp($file) // '') {
        my ($id, $name) = split / /, $l;
        $acked{$id} = $name if defined $name && $id ne 'fail';
    }
    return \%acked;
}

# The restart flow: $how is 'stop', 'quit' or 'kill'; with $load a client
# creates runs while nginx is killed.  31 assertions.
sub restart_flow {
    my ($how, $load) = @_;
    my ($id, $L, $bad) = populate();
    is $bad, '', 'a run in every status, a resume, a deleted session, a deregistered launcher';
    my $s0 = snapshot();
    my ($tst, $tout) = nginx_test();
    is $tst, 0, 'nginx -t while nginx runs with the journal: ok' or diag($tout);
    ok -s journal_path(), 'the journal is written';

    my ($loader, $ackfile);
    if ($load) {
        $ackfile = Runs::server_root() . "/logs/acked-$$";
        unlink $ackfile;
        $loader = start_loader($ackfile, 'load');
        Runs::wait_for(Runs::tf(10), sub { (file_size($ackfile) // 0) > 2000 }, 0.02);
        sleep rand(0.2);
    }
    ok nginx_down($how), "nginx stopped ($how)";
    my $acked = {};
    if ($load) {
        waitpid $loader, 0;
        $acked = read_acked($ackfile);
    }
    ok nginx_up(), 'nginx started again';

    my $s1 = snapshot();
    if ($load) {
        my @missing = grep { !$s1->{runs}{$_} } sort keys %$acked;
        my @wrong = grep { $s1->{runs}{$_}
                           && ($s1->{runs}{$_}{session_name} ne $acked->{$_}
                               || $s1->{runs}{$_}{status} ne 'pending') } keys %$acked;
        my @extra = grep { !$s0->{runs}{$_} && !$acked->{$_} } keys %{ $s1->{runs} };
        ok scalar(keys %$acked) > 0 && !@missing && !@wrong,
           sprintf('every one of the %d runs answered 201 under load is there, pending',
                   scalar keys %$acked)
            or diag("missing: @missing[0 .. ($#missing > 9 ? 9 : $#missing)]; wrong: @wrong");
        cmp_ok scalar(@extra), '<=', 1,
               'beyond them at most the one in flight when nginx was killed';
        # compare the rest with what was there before the load
        delete @{ $s1->{runs} }{ keys %$acked, @extra };
        $s1->{order} = [grep { $s0->{runs}{$_} } @{ $s1->{order} }];
        $s1->{sessions} = { map { $_ => $s1->{sessions}{$_} }
                            grep { $s0->{sessions}{$_} } keys %{ $s1->{sessions} } };
    } else {
        is scalar(keys %{ $s1->{runs} }), scalar(keys %{ $s0->{runs} }),
           'as many runs as before: ' . scalar(keys %{ $s0->{runs} });
        is scalar(keys %{ $s1->{sessions} }), scalar(keys %{ $s0->{sessions} }),
           'as many sessions as before';
    }
    same_state($s1, $s0,
               'every run as it was (status, ids, session_id, result, error, times), '
               . 'sessions, launchers');
    is req('GET', "/runs/$id->{deleted}")->{status}, 404, 'the deleted session stays deleted';
    my $ls = req('GET', '/launchers')->{json}{launchers} || [];
    is_deeply [map { $_->{launcher_id} } @$ls], [$L, $id->{bare_launcher}],
              'GET /launchers: the runners with the same ids, not the deregistered one';

    # the runner carries on with its old launcher_id
    my $hb = req('POST', '/launcher/heartbeat', { launcher_id => $L });
    is $hb->{status}, 200, 'its heartbeat: 200';
    my $p = poll_once($L, 10);
    is $p->{status}, 200, 'its poll: 200, not 401';
    my $run = $p->{json} && $p->{json}{run};
    $run = claim($L) if !$run && $p->{status} == 200;
    is $run && $run->{run_id}, $id->{resume}, 'it claims the oldest pending run';
    is $run && $run->{session_id}, $s0->{runs}{ $id->{completed} }{session_id},
       'a resume of the session from before, with its session_id';
    my $ev = sub {
        my ($run, $event, $body, $want, $name) = @_;
        my $res = launcher_event($run, $event, { launcher_id => $L, %{ $body || {} } });
        is $res->{status}, $want, $name
            or diag("POST /launcher/runs/$run/$event: " . Runs::jenc({
                        map { $_ => $res->{$_} } qw(status body error elapsed) }));
    };
    $ev->($id->{claimed}, 'started', {}, 200,
          'started on the run it claimed before the restart: 200');
    $ev->($id->{claimed}, 'completed', { result => 'done after' }, 200, 'completed: 200');
    $ev->($id->{running}, 'completed', { result => 'ran across' }, 200,
          'completed on the run that was running: 200');
    $ev->($id->{stopping}, 'stopped', {}, 200, 'stopped on the run being stopped: 200');
    is launcher_event($id->{completed}, 'completed', { launcher_id => $L })->{status}, 200,
       'a completed repeated after the restart: 200, as before it';
    is launcher_event($id->{failed}, 'completed', { launcher_id => $L })->{status}, 409,
       'a completed on the failed run: 409, as before it';
    my $after = get_run($id->{claimed}) || {};
    is "$after->{status} $after->{result}", 'completed done after', 'recorded with its result';
    is status_of($id->{stopping}), 'stopped', 'the stop ended stopped';

    # new ids, sessions from before
    my @new = map { scalar create_run(session_name => "j-new-$_", prompt => "new $_") } 1 .. 5;
    my %before = map { $_ => 1 } keys %{ $s0->{runs} }, keys %$acked;
    ok !grep({ !defined $_ || $before{$_} } @new), 'new runs get new ids';
    my %u = map { $_ => 1 } grep { defined } @new;
    is scalar(keys %u), 5, 'five distinct ones';
    my ($rs, $rres) = create_run(type => 'resume_session', session_name => 'j-fail',
                                 prompt => 'resume after');
    is $rres->{status}, 201, 'a session from before can be resumed';
    is((get_run($rs) || {})->{session_id}, $s0->{runs}{ $id->{failed} }{session_id},
       'with its session_id');
    my (undef, $again) = create_run(session_name => 'j-done', prompt => 'again');
    is $again->{status}, 409, 'starting a session from before again: 409';
    my ($del2, $dres) = create_run(session_name => 'j-del', prompt => 'reborn');
    is $dres->{status}, 201, 'the deleted session name can start again';
    my $s2 = snapshot();
    my $got = req('GET', "/sessions/by-name/j-del")->{json};
    ok $got && $got->{session} && $got->{session}{run_count} == 1,
       'as a new session of one run';

    # and all of that survives the next restart too
    ok nginx_down($how) && nginx_up(), "stopped ($how) and started a second time";
    same_state(snapshot(), $s2, 'what changed after the first restart is there after the second');
}

flow 'restart with nginx -s stop keeps every run, session and launcher', 31, sub {
    restart_flow('stop');
};

flow 'restart with nginx -s quit keeps every run, session and launcher', 31, sub {
    restart_flow('quit');
};

flow 'SIGKILL of the master and every worker under load keeps every acknowledged change', 31, sub {
    restart_flow('kill', 1);
};

# ---------------------------------------------------------------------

flow 'nginx -t refuses a journal whose directory is unusable and names it', 6, sub {
    my $path = journal_path();
    my $root = Runs::server_root();
    my ($st, $out) = nginx_test();
    is $st, 0, 'nginx -t with a usable directory: ok' or diag($out);
    ($st, $out) = nginx_test([$path, "$root/html/nosuchdir/runs.journal"]);
    isnt $st, 0, 'nginx -t with a directory that does not exist: fails';
    like $out, qr/\[emerg\].*\Q$root\E\/html\/nosuchdir/, 'naming the path' or diag($out);
    ($st, $out) = nginx_test([$path, "$root/html/notadir/runs.journal"]);
    isnt $st, 0, 'nginx -t with a regular file where the directory should be: fails';
    like $out, qr/\[emerg\].*\Q$root\E\/html\/notadir/, 'naming the path' or diag($out);
    like $out, qr/runs_journal|nginx-t2\.conf:\d+/, 'and the directive or its line' or diag($out);
};

flow 'without runs_journal nothing is written and a restart starts empty', 5, sub {
    my ($id, $res) = create_run(session_name => 'nj-1');
    is $res->{status}, 201, 'a run created';
    my $root = Runs::server_root();
    my @files;
    require File::Find;
    File::Find::find({ no_chdir => 1, wanted => sub {
        return if -d $_;
        return if m{^\Q$root\E/(?:conf|logs)/};
        return if $_ eq "$root/html/index.html";
        push @files, $_;
    } }, $root);
    is "@files", '', 'no file written besides conf/, logs/ and html/index.html';
    ok nginx_down('quit'), 'stopped';
    ok nginx_up(), 'started';
    is req('GET', "/runs/$id")->{status}, 404, 'the zone is new and empty, as before';
};

# ---------------------------------------------------------------------
# damage

# Changes made one at a time, each one acknowledged (so on disk, in the
# strict mode): after each, the journal's size and the state.  Returns
# ([sizes], [snapshots], [run touched by each change]); index 0 is the
# state before the first change.
sub stepwise {
    my ($n) = @_;
    my $L = register_launcher(hostname => 'steps');
    my @size = (file_size(journal_path()) // 0);
    my @snap = (snapshot());
    my @touched = (undef);
    my @ids;
    my $k = 0;
    my @steps = (
        sub { my $i = create_run(session_name => 'st-' . ++$k, prompt => "step $k"); push @ids, $i; $i },
        sub { my $r = claim($L); $r && $r->{run_id} },
        sub { launcher_event($ids[0], 'started', { launcher_id => $L }); $ids[0] },
        sub { launcher_event($ids[0], 'completed', { launcher_id => $L, result => "result \x{e9}" }); $ids[0] },
        sub { my $i = create_run(session_name => 'st-' . ++$k, prompt => "step $k"); push @ids, $i; $i },
        sub { stop_run($ids[1]); $ids[1] },
        sub { my $i = create_run(session_name => 'st-' . ++$k, prompt => "step $k"); push @ids, $i; $i },
        sub { my $i = create_run(session_name => 'st-' . ++$k, prompt => "step $k"); push @ids, $i; $i },
    );
    for my $i (0 .. $n - 1) {
        push @touched, $steps[$i % @steps]->();
        push @size, file_size(journal_path()) // 0;
        push @snap, snapshot();
    }
    return (\@size, \@snap, \@touched);
}

# are the sizes strictly growing, each step at least 2 bytes?
sub grows {
    my ($size) = @_;
    for my $i (1 .. $#$size) {
        return 0 if $size->[$i] < $size->[$i - 1] + 2;
    }
    return 1;
}

# is the state after a start with the journal cut inside step $i+1 the
# state after step $i (or, were the step two records, after step $i+1)?
sub state_at {
    my ($snap, $i, $name) = @_;
    my $got = snapshot();
    my $d0 = snap_diff($snap->[$i], $got);
    my $ok = $got->{ok} && !$got->{dup} && $d0 eq ''
             || ($i + 1 <= $#$snap && snap_diff($snap->[$i + 1], $got) eq '');
    ok $ok, $name or diag("state after step $i expected:\n$d0");
}

flow 'a torn tail is dropped with a warning, everything before it is there', 21, sub {
    my $path = journal_path();
    my ($size, $snap) = stepwise(8);
    my $M = $#$size;
    my $image = slurp($path) // '';
    ok grows($size) && length($image) == $size->[$M],
       'the journal grows with each acknowledged change: ' . join(' ', @$size)
        or diag('file now ' . length($image) . ' bytes');
    ok nginx_down('quit'), 'stopped';

    # cut inside the last change, then random cuts inside earlier ones
    my @cuts = ([$M - 1, $size->[$M - 1] + int(($size->[$M] - $size->[$M - 1]) / 2)]);
    for (1 .. 2) {
        my $i = 1 + int rand($M - 1);
        my $len = $size->[$i + 1] - $size->[$i];
        push @cuts, [$i, $size->[$i] + 1 + int rand($len > 1 ? $len - 1 : 1)];
    }
    my $first = 1;
    for my $c (@cuts) {
        my ($i, $at) = @$c;
        spurt($path, substr($image, 0, $at));
        my $r = nginx_start();
        ok $r->{up}, "started with the journal cut at byte $at (inside change " . ($i + 1) . ')'
            or diag($r->{text});
        like $r->{text}, qr/\[warn\].*(?:torn|\Q$path\E)/, 'a warning about the torn tail'
            or diag($r->{text});
        state_at($snap, $i, "the state after change $i: nothing before the cut is lost");
        if ($first) {
            # what is written after a dropped tail is read back after it
            my ($nid, $nr) = create_run(session_name => 'st-after', prompt => 'after the cut');
            is $nr->{status}, 201, 'a run created after the torn tail was dropped';
            my $want = snapshot();
            ok nginx_down('quit'), 'stopped';
            my $r2 = nginx_start();
            ok $r2->{up}, 'started again' or diag($r2->{text});
            same_state(snapshot(), $want, 'the run created after the cut is there, the rest too');
            $first = 0;
        }
        ok nginx_down('quit'), 'stopped';
    }

    # half a record appended after the last one
    my $half = substr($image, $size->[$M - 1], int(($size->[$M] - $size->[$M - 1]) / 2));
    spurt($path, $image . $half);
    my $r = nginx_start();
    ok $r->{up}, 'started with half a record appended' or diag($r->{text});
    like $r->{text}, qr/\[warn\].*(?:torn|\Q$path\E)/, 'a warning about the torn tail'
        or diag($r->{text});
    same_state(snapshot(), $snap->[$M], 'every acknowledged change is there');
};

flow 'a flipped byte in the middle refuses to start, naming the file and offset', 8, sub {
    my $path = journal_path();
    my ($size, $snap) = stepwise(6);
    my $M = $#$size;
    my $image = slurp($path) // '';
    ok grows($size) && length($image) == $size->[$M],
       'the journal grows with each acknowledged change: ' . join(' ', @$size);
    ok nginx_down('quit'), 'stopped';

    # a byte in the middle of the second change's bytes, four changes after
    my $at = $size->[1] + int(($size->[2] - $size->[1]) / 2);
    my $bad = $image;
    substr($bad, $at, 1) = chr(ord(substr($bad, $at, 1)) ^ 0xff);
    spurt($path, $bad);
    my $r = nginx_start();
    ok !$r->{up} && $r->{st} != 0, "nginx refuses to start (byte $at of "
                                   . length($bad) . ' flipped)' or diag($r->{text});
    my @emerg = grep { /\[emerg\]/ } split /\n/, $r->{text};
    ok scalar(grep { /\Q$path\E/ } @emerg), '[emerg] naming the journal' or diag($r->{text});
    my @nums;
    for my $line (@emerg) {
        (my $rest = $line) =~ s/^.*?\[emerg\]\s*(?:\d+#\d+:\s*)?//;
        $rest =~ s/\Q$path\E//g;
        push @nums, $rest =~ /(?<![\w:\/.-])(\d+)(?![\d\/.])/g;
    }
    my ($off) = grep { $_ >= $size->[1] && $_ <= $at } @nums;
    ok defined $off, "and a byte offset between $size->[1] and $at" or diag(join "\n", @emerg);
    is slurp($path), $bad, 'the damaged journal is left as it was';

    spurt($path, $image);
    $r = nginx_start();
    ok $r->{up}, 'the undamaged journal starts' or diag($r->{text});
    same_state(snapshot(), $snap->[$M], 'with every change');
};

# The file's header: 8 bytes of magic ("NGXRUNSJ"), then the format's
# version, a 32-bit number in the machine's byte order.
flow 'a journal of a future format is refused clearly', 8, sub {
    my $path = journal_path();
    my @ids = map { scalar create_run(session_name => "fv-$_", prompt => "future $_") } 1 .. 3;
    my $s0 = snapshot();
    my $image = slurp($path) // '';
    my $v = length($image) >= 12 ? unpack('L', substr($image, 8, 4)) : -1;
    ok substr($image, 0, 8) eq 'NGXRUNSJ' && $v >= 1 && $v < 1000,
       "a header with magic and version ($v)";
    ok nginx_down('quit'), 'stopped';

    my $future = $image;
    substr($future, 8, 4) = pack('L', 99);
    spurt($path, $future);
    my $r = nginx_start();
    ok !$r->{up} && $r->{st} != 0, 'a journal of format 99: nginx refuses to start'
        or diag($r->{text});
    my @emerg = grep { /\[emerg\]/ } split /\n/, $r->{text};
    ok scalar(grep { /\Q$path\E/ } @emerg), '[emerg] naming the journal' or diag($r->{text});
    ok scalar(grep { /\b99\b/ && /format|version/i } @emerg),
       'saying it is of format 99, which this module does not read' or diag($r->{text});
    is slurp($path), $future, 'the journal is left as it was';

    spurt($path, $image);
    $r = nginx_start();
    ok $r->{up}, 'the journal of this format starts' or diag($r->{text});
    same_state(snapshot(), $s0, 'with every change');
};

# ---------------------------------------------------------------------

flow 'relaxed mode: a graceful restart keeps everything, a SIGKILL loses nothing older than the interval', 8, sub {
    my $L = register_launcher(hostname => 'relaxed');
    my @ids = map { scalar create_run(session_name => "rx-$_", prompt => "relaxed $_") } 1 .. 6;
    for my $id (@ids[0, 1]) {
        my $r = claim($L);
        launcher_event($r->{run_id}, 'started', { launcher_id => $L }) if $r;
        launcher_event($r->{run_id}, 'completed', { launcher_id => $L, result => "r $r->{run_id}" })
            if $r;
    }
    is status_of($ids[1]), 'completed', 'runs created, two completed';
    my $s0 = snapshot();
    ok nginx_down('quit'), 'stopped (-s quit)';
    ok nginx_up(), 'started';
    same_state(snapshot(), $s0, 'everything is there');

    my @more = map { scalar create_run(session_name => "rx-more-$_", prompt => "more $_") } 1 .. 4;
    my $r = claim($L);
    launcher_event($r->{run_id}, 'started', { launcher_id => $L }) if $r;
    is $r && $r->{run_id}, $ids[2], 'more runs, one more running';
    sleep Runs::tf(1.2);     # six times interval=200ms
    my $s1 = snapshot();
    ok nginx_down('kill'), 'SIGKILL of the master and the workers, 1.2 s later';
    ok nginx_up(), 'started';
    same_state(snapshot(), $s1, 'every change older than the interval is there');
};

flow 'a zone resized on reload under load is rebuilt from the journal', 11, sub {
    my $L = register_launcher(hostname => 'resize');
    my @ids = map { scalar create_run(session_name => "rz-$_", prompt => "resize $_") } 1 .. 20;
    my $r = claim($L);
    launcher_event($ids[0], 'started', { launcher_id => $L });
    launcher_event($ids[0], 'completed', { launcher_id => $L, result => 'resized' });
    $r = claim($L);
    is $r && $r->{run_id}, $ids[1], 'runs created, one completed, one claimed';
    my $s0 = snapshot();

    my $conf = Runs::server_root() . '/conf/nginx.conf';
    my $text = slurp($conf);
    my $n = $text =~ s/runs_zone runs 4m;/runs_zone runs 8m;/;
    ok $n && spurt($conf, $text), 'nginx.conf: runs_zone runs 8m';
    my $m = master_pid();
    my %old = map { $_ => 1 } workers_of($m);
    my $off = RunsJournal::log_size();

    # runs are created all through the reload
    my $ackfile = Runs::server_root() . "/logs/acked-rz-$$";
    unlink $ackfile;
    my $loader = start_loader($ackfile, 'rzload', Runs::tf(3), 0.01);
    sleep 1;
    ok kill('HUP', $m), 'reload (SIGHUP) while a client creates runs';
    my $new = Runs::wait_for(Runs::tf(15), sub {
        my @w = workers_of($m);
        return @w && !grep { $old{$_} } @w;
    }, 0.05);
    ok $new, 'new workers, the old ones gone';
    waitpid $loader, 0;
    unlike RunsJournal::log_since($off), qr/\[(?:emerg|alert|crit)\]/, 'the reload went through';

    my $s1 = snapshot();
    my $acked = read_acked($ackfile);
    my $fails = () = (slurp($ackfile) // '') =~ /^fail /mg;
    my @missing = grep { !$s1->{runs}{$_} } sort keys %$acked;
    ok scalar(keys %$acked) > 0 && !@missing,
       sprintf('every one of the %d runs answered 201 during the reload is in the new zone',
               scalar keys %$acked)
        or diag(scalar(@missing) . " missing: @missing[0 .. ($#missing > 9 ? 9 : $#missing)]");
    my @extra = grep { !$s0->{runs}{$_} && !$acked->{$_} } keys %{ $s1->{runs} };
    cmp_ok scalar(@extra), '<=', $fails, "no other run beyond the $fails attempts without an answer";
    delete @{ $s1->{runs} }{ keys %$acked, @extra };
    $s1->{order} = [grep { $s0->{runs}{$_} } @{ $s1->{order} }];
    $s1->{sessions} = { map { $_ => $s1->{sessions}{$_} }
                        grep { $s0->{sessions}{$_} } keys %{ $s1->{sessions} } };
    same_state($s1, $s0, 'every run, session and launcher from before is in the new zone');
    is launcher_event($ids[1], 'started', { launcher_id => $L })->{status}, 200,
       'the runner starts the run it claimed before';
    my ($nid, $nres) = create_run(session_name => 'rz-new', prompt => 'after');
    ok $nres->{status} == 201 && !$s0->{runs}{$nid} && !$acked->{$nid}, 'a new run, a new id';
    my $s2 = snapshot();
    ok nginx_down('quit') && nginx_up() && snap_diff($s2, snapshot()) eq '',
       'and a restart with the new size brings it all back'
        or diag(snap_diff($s2, snapshot()));
};

# compact=64k: the file is rewritten from the live state once it is past
# 64k and twice its size after the last rewrite
flow 'the journal is compacted while runs change and a restart reads it back', 7, sub {
    my $path = journal_path();
    my $L = register_launcher(hostname => 'compact');
    my $big = 'x' x 1000;
    my ($max, $shrunk, $last) = (0, 0, 0);
    my $watch = sub {
        my $sz = file_size($path) // 0;
        $shrunk++ if $sz < $last;
        $max = $sz if $sz > $max;
        $last = $sz;
    };
    my @ids;
    for my $i (1 .. 60) {
        push @ids, scalar create_run(session_name => "cp-$i", prompt => "$i $big");
        $watch->();
    }
    for my $i (1 .. 30) {
        my $r = claim($L) or last;
        launcher_event($r->{run_id}, 'started', { launcher_id => $L });
        $watch->();
        launcher_event($r->{run_id}, 'completed',
                       { launcher_id => $L, result => "result $i $big" });
        $watch->();
    }
    is status_of($ids[29]), 'completed', '60 runs of 1 KB prompts, 30 completed with 1 KB results';
    Runs::wait_for(Runs::tf(5), sub { $watch->(); !-e "$path.old" && !-e "$path.new" }, 0.1);
    my $rew = Runs::error_log_lines(qr/runs_journal .* rewritten: \d+ bytes/) || [];
    ok $shrunk && @$rew, sprintf('the file was rewritten %d time(s) (largest %d bytes, now %d)',
                                 scalar(@$rew), $max, $last)
        or diag(scalar(@$rew) . " rewrites logged, shrunk $shrunk times");
    ok !-e "$path.old" && !-e "$path.new", "no $path.old or .new left";
    my $s0 = snapshot();
    ok nginx_down('kill'), 'SIGKILL of the master and the workers';
    my $r = nginx_start();
    ok $r->{up}, 'started again' or diag($r->{text});
    same_state(snapshot(), $s0, 'every run, result and launcher is there');
    unlike $r->{text}, qr/\[(?:warn|error|emerg)\].*runs_journal/, 'the journal read back without a warning';
};

# buffer=1m: a result of 3 MB makes a record larger than the buffer; it
# is not dropped: the buffers grow to hold it and it is written whole
flow 'a record larger than the journal buffer is written whole', 6, sub {
    my $L = register_launcher(hostname => 'large');
    my $id = create_run(session_name => 'large-1', prompt => 'a large answer');
    my $r = claim($L);
    is $r && $r->{run_id}, $id, 'claimed';
    launcher_event($id, 'started', { launcher_id => $L });
    my $result = join '', map { sprintf "%07d large result line\n", $_ } 1 .. 120_000;
    my $res = launcher_event($id, 'completed', { launcher_id => $L, result => $result });
    is $res->{status}, 200, sprintf('completed with a %d-byte result', length $result);
    my @small = map { scalar create_run(session_name => "large-s$_", prompt => "after $_") } 1 .. 5;
    my $s0 = snapshot();
    ok nginx_down('kill'), 'SIGKILL of the master and the workers once answered';
    my $up = nginx_start();
    ok $up->{up}, 'started again' or diag($up->{text});
    my $run = get_run($id);
    ok $run && defined $run->{result} && $run->{result} eq $result,
       'the result is there, byte for byte'
        or diag('result of ' . length($run->{result} // '') . ' bytes');
    same_state(snapshot(), $s0, 'the runs created after it are there too');
};

# relaxed, interval=60s: changes stay in the workers' buffers; both
# workers are killed (not the master): the workers it starts again find
# changes that were made and never written, and rewrite the journal from
# the zone, which has them; then every process is killed and the start
# has every run
flow 'a worker killed with changes not yet written: the journal is rewritten from the zone', 6, sub {
    my $m = master_pid();
    my @ids = map { scalar create_run(session_name => "wk-$_", prompt => "worker kill $_") } 1 .. 12;
    is scalar(grep { defined } @ids), 12, '12 runs created (relaxed: answered before written)';
    my $s0 = snapshot();
    my @old = workers_of($m);
    my $off = RunsJournal::log_size();
    kill 'KILL', @old;
    my $ok = Runs::wait_for(Runs::tf(5), sub {
        my @now = workers_of($m);
        @now == 2 && !grep { my $o = $_; grep { $_ == $o } @now } @old;
    }, 0.05);
    ok $ok, 'both workers killed, the master started two more';
    my $rewritten = Runs::wait_for(Runs::tf(5), sub {
        RunsJournal::log_since($off) =~ /runs_journal .* rewritten: \d+ bytes/;
    }, 0.05);
    my $log = RunsJournal::log_since($off);
    ok $log =~ /exited with \d+ changes not yet in the runs_journal/,
       'a new worker says which worker left changes unwritten'
        or diag($log);
    ok $rewritten, 'and the journal is rewritten from the live state' or diag($log);
    ok nginx_down('kill') && nginx_up(), 'SIGKILL of every process, started again';
    same_state(snapshot(), $s0, 'every run is there');
};

# records that check (their CRC made again) but say what no writer of
# this module writes: a run whose lengths add up to more than its record,
# then a run whose id is not the one the zone's keys give its number
flow 'a record that checks but does not hold together is refused as damage', 8, sub {
    require Compress::Zlib;
    my $path = journal_path();
    my @ids = map { scalar create_run(session_name => "sane-$_", prompt => "sane $_") } 1 .. 3;
    is scalar(grep { defined } @ids), 3, 'three runs';
    ok nginx_down('quit'), 'stopped';
    my $image = slurp($path) // '';
    my ($run) = grep { $_->{type} == 1 } @{ journal_records($image)->{records} };
    ok $run, "a run's record at byte " . ($run ? $run->{off} : '?');
    my $forge = sub {           # the body changed by $edit, the CRC made again
        my ($edit) = @_;
        my $bad = $image;
        my $body = substr($bad, $run->{off} + 24, $run->{size} - 24);
        $edit->(\$body);
        substr($bad, $run->{off} + 24, length $body) = $body;
        substr($bad, $run->{off} + 4, 4) = pack('L', Compress::Zlib::crc32(
            substr($bad, $run->{off} + 8, $run->{size} - 8)));
        return $bad;
    };
    # its prompt said 1000 bytes longer than it is
    spurt($path, $forge->(sub { my $b = shift;
        substr($$b, 72, 4) = pack('L', unpack('L', substr($$b, 72, 4)) + 1000) }));
    my ($st, $out) = nginx_test();
    like $out, qr/damaged at byte $run->{off}: a record whose contents do not hold together/,
         'nginx -t names the record and its offset' or diag($out);
    my $r = nginx_start();
    ok !$r->{up} && $r->{text} =~ /damaged at byte $run->{off}/, 'and a start refuses it'
        or diag($r->{text});
    # its id one more than its number makes
    spurt($path, $forge->(sub { my $b = shift;
        substr($$b, 0, 8) = pack('Q', unpack('Q', substr($$b, 0, 8)) ^ 1) }));
    $r = nginx_start();
    ok !$r->{up} && $r->{text} =~ /damaged at byte $run->{off}: a record whose numbers do not match/,
       "a run whose id does not match its number: refused, at its offset" or diag($r->{text});
    spurt($path, $image);
    $r = nginx_start();
    ok $r->{up}, 'the journal as it was starts' or diag($r->{text});
    ok !grep({ !get_run($_) } @ids), 'with its three runs';
};

flow 'routing survives a restart: tags, demands, affinity and the session\'s host; a format 1 journal is read and upgraded', 12, sub {
    my $a = register_launcher(hostname => 'ha', tags => ['gpu', 'linux'], agents => ['coder']);
    my $b = register_launcher(hostname => 'hb', agents => ['coder']);
    my $first = create_run(session_name => 'rt-aff', prompt => 'one', agent_name => 'coder');
    my $c = claim($a);
    ok $c && $c->{run_id} eq ($first // ''), 'host ha ran the session\'s first run';
    launcher_event($first, 'started', { launcher_id => $a });
    launcher_event($first, 'completed', { launcher_id => $a, result => 'ok' });
    my $resume = create_run(type => 'resume_session', session_name => 'rt-aff', prompt => 'two');
    my $free = create_run(type => 'resume_session', session_name => 'rt-aff', prompt => 'three',
                          affinity => JSON::PP::false);
    my $gpu = create_run(session_name => 'rt-gpu', prompt => 'train',
                         demands => { tags => ['linux', 'gpu'], executor_type => 'cuda' });
    like get_run($gpu)->{waiting_for} // '', qr/tags gpu,linux, executor_type cuda/, 'a run waits for what no runner offers';
    my $s0 = snapshot();
    ok nginx_down('stop') && nginx_up(), 'stopped and started';
    same_state(snapshot(), $s0, 'tags, demands, affinity and waiting_for are back');
    is claimed_by($b), '', 'the resume is not handed to host hb';
    is claimed_by($a), $resume, 'it goes to host ha: the session\'s host came back';

    # a format 1 file is format 2 with no demands, tags or hosts: the same
    # bytes under the old header read the same, and it says the current format (3) after
    ok nginx_down('quit'), 'stopped';
    my $path = journal_path();
    my $image = slurp($path) // '';
    substr($image, 8, 4) = pack('L', 1);
    spurt($path, $image);
    my $r = nginx_start();
    ok $r->{up}, 'a journal whose header says format 1 starts' or diag($r->{text});
    like $r->{text}, qr/\Q$path\E" is now of format 3/, 'a notice says it is of the current format now';
    is unpack('L', substr(slurp($path) // '', 8, 4)), 3, 'and its header says so (format 3)';
    ok create_run(session_name => 'rt-after', prompt => 'after', demands => { hostname => 'hb' }),
       'changes go on';
    ok nginx_down('quit') && nginx_up(), 'and it starts again';
};

# the run a poll of $lid hands out now (its id), '' for none
sub claimed_by {
    my ($lid) = @_;
    my $r = poll_once($lid, 5);
    return ($r->{status} == 200 && $r->{json} && $r->{json}{run}) ? $r->{json}{run}{run_id} : '';
}

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: runs_journal naming an unknown zone
--- http_config
    runs_zone runs 4m;
    runs_journal nosuchzone $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- must_die
--- error_log eval
qr/\[emerg\].*nosuchzone/
--- no_error_log
[alert]
[crit]



=== TEST 2: runs_journal twice for one zone
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/a.journal;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/b.journal;
--- user_files
>>> journal/.keep
--- must_die
--- error_log eval
qr/\[emerg\].*runs_journal/
--- no_error_log
[alert]
[crit]



=== TEST 3: runs_journal without a path
--- http_config
    runs_zone runs 4m;
    runs_journal runs;
--- must_die
--- error_log
invalid number of arguments in "runs_journal" directive
--- no_error_log
[alert]
[crit]



=== TEST 4: runs_journal with a bad sync= value
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=sometimes;
--- user_files
>>> journal/.keep
--- must_die
--- error_log eval
qr/\[emerg\].*sometimes/
--- no_error_log
[alert]
[crit]



=== TEST 5: runs_journal with a bad interval=
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=relaxed interval=10parsecs;
--- user_files
>>> journal/.keep
--- must_die
--- error_log eval
qr/\[emerg\].*10parsecs/
--- no_error_log
[alert]
[crit]



=== TEST 6: runs_journal with an unknown parameter
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal fsync=yes;
--- user_files
>>> journal/.keep
--- must_die
--- error_log eval
qr/\[emerg\].*fsync=yes/
--- no_error_log
[alert]
[crit]



=== TEST 7: runs_journal in a server block
--- http_config
    runs_zone runs 4m;
--- config
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
    location /runs { runs_api runs; }
--- user_files
>>> journal/.keep
--- must_die
--- error_log
"runs_journal" directive is not allowed here
--- no_error_log
[alert]
[crit]



=== TEST 8: runs_journal in a directory that does not exist
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/nosuchdir/runs.journal;
--- must_die
--- error_log eval
qr/\[emerg\].*html\/nosuchdir/
--- no_error_log
[alert]
[crit]



=== TEST 9: runs_journal in a directory that is a regular file
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/notadir/runs.journal;
--- user_files
>>> notadir
not a directory
--- must_die
--- error_log eval
qr/\[emerg\].*html\/notadir/
--- no_error_log
[alert]
[crit]



=== TEST 10: nginx -t refuses a journal whose directory is unusable and names it
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
>>> notadir
not a directory



=== TEST 11: without runs_journal nothing is written and a restart starts empty



=== TEST 12: restart with nginx -s stop keeps every run, session and launcher
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 13: restart with nginx -s quit keeps every run, session and launcher
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=strict;
--- user_files
>>> journal/.keep



=== TEST 14: SIGKILL of the master and every worker under load keeps every acknowledged change
--- http_config
    runs_zone runs 16m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 15: a torn tail is dropped with a warning, everything before it is there
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 16: a flipped byte in the middle refuses to start, naming the file and offset
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]



=== TEST 17: a journal of a future format is refused clearly
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[alert]
[crit]



=== TEST 18: relaxed mode: a graceful restart keeps everything, a SIGKILL loses nothing older than the interval
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=relaxed interval=200ms;
--- user_files
>>> journal/.keep



=== TEST 19: a zone resized on reload under load is rebuilt from the journal
--- http_config
    runs_zone runs 4m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep



=== TEST 20: the journal is compacted while runs change and a restart reads it back
--- http_config
    runs_zone runs 16m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal compact=64k;
--- user_files
>>> journal/.keep



=== TEST 21: a record larger than the journal buffer is written whole
--- http_config
    runs_zone runs 32m;
    runs_claim_timeout 120s;
    runs_result_max 8m;
    client_max_body_size 16m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal buffer=1m;
--- user_files
>>> journal/.keep



=== TEST 22: a worker killed with changes not yet written: the journal is rewritten from the zone
--- http_config
    runs_zone runs 8m;
    runs_claim_timeout 120s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal sync=relaxed interval=60s;
--- user_files
>>> journal/.keep
--- no_error_log
[crit]
[emerg]



=== TEST 23: a record that checks but does not hold together is refused as damage
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[crit]



=== TEST 24: routing survives a restart: tags, demands, affinity and the session's host; a format 1 journal is read and upgraded
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 1s;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- no_error_log
[crit]
[emerg]
