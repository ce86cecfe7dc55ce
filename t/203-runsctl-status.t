# runsctl status: the coordinator's figures read from runs_metrics, as
# tables and as --json, against the state a flow made (runs in every
# status, runners online and stale, held polls, waits and follows, a
# refused follow, the journal's state); where the metrics are (--url,
# RUNS_METRICS_URL, --metrics-url) and what is said when they cannot be
# read (404, 403, no answer, no runs_ series); the text format as
# written by others (blanks, escapes, timestamps, NaN, several zones,
# --zone) and malformed lines, each named by its number.
#
# The binary is $TEST_RUNS_BIN/runsctl (build.sh: build/asan, the
# ASan/UBSan build); every flow fails if runsctl printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl runsctl_url no_sanitizer_reports);
use Test::More;
use Time::HiRes qw(sleep time);
use IO::Socket::INET ();
use JSON::PP ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $HOWTO = 'location = /metrics { runs_metrics ZONE; }';
my $ZONE_BYTES = 4 * 1024 * 1024;

# a port nothing listens on
sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "listen: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# the tables of "runsctl status": ({zone => {FIGURE => VALUE}}, [zones in
# order], number of "FIGURE  VALUE" headers, each right under its zone)
sub tables {
    my ($out) = @_;
    my (%t, @order, $cur, $headers);
    my @lines = split /\n/, $out;
    for my $i (0 .. $#lines) {
        my $l = $lines[$i];
        if ($l =~ /^zone: (.*)$/) {
            $cur = $1;
            push @order, $cur;
            $t{$cur} = {};
            $headers++ if ($lines[$i + 1] // '') =~ /^FIGURE\s+VALUE$/;
            next;
        }
        next if !defined $cur || $l eq '' || $l =~ /^FIGURE\s+VALUE$/;
        my ($k, $v) = split /\s{2,}/, $l, 2;
        $t{$cur}{$k} = $v;
    }
    return (\%t, \@order, $headers // 0);
}

# a decoded JSON value with true/false as 'true'/'false' and numbers as
# numbers (0.0 is 0), for is_deeply
sub norm {
    my ($v) = @_;
    return [ map { norm($_) } @$v ] if ref $v eq 'ARRAY';
    return { map { ($_ => norm($v->{$_})) } keys %$v } if ref $v eq 'HASH';
    return ($v ? 'true' : 'false') if JSON::PP::is_bool($v);
    return $v if !defined $v;
    return 0 + $v if $v =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\z/;
    return $v;
}

# a file under the server root's html/, served by its "location /"
sub serve {
    my ($name, $bytes) = @_;
    my $path = Runs::server_root() . "/html/$name";
    open my $out, '>', $path or die "$path: $!\n";
    binmode $out;
    print $out $bytes;
    close $out or die "$path: $!\n";
    return runsctl_url() . "/$name";
}

sub launcher_state {
    my ($lid) = @_;
    my ($l) = grep { $_->{launcher_id} eq $lid }
              @{ (req('GET', '/launchers')->{json} || {})->{launchers} || [] };
    return $l ? $l->{status} : '';
}

# the rows of the table both snapshots of the first flow share with
# their JSON, from one set of figures
sub rows_of {
    my ($f) = @_;
    my %rows;
    $rows{"runs $_"} = $f->{runs}{$_} for keys %{ $f->{runs} };
    $rows{"held $_"} = $f->{held_requests}{$_} for keys %{ $f->{held_requests} };
    $rows{"runners $_"} = $f->{runners}{$_} for keys %{ $f->{runners} };
    $rows{"total $_"} = $f->{totals}{$_} for keys %{ $f->{totals} };
    $rows{'queue depth'} = $f->{queue}{depth};
    $rows{sessions} = $f->{sessions};
    $rows{'zone size'} = '4194304 (4.0 MiB)';
    $rows{'zone full'} = 'no';
    $rows{"refused $_"} = $f->{refused}{$_} for grep { $f->{refused}{$_} } keys %{ $f->{refused} };
    return \%rows;
}

# the JSON of the first flow's zone, from the same figures
sub json_of {
    my ($f, $free, $fill) = @_;
    return { %$f, queue => { %{ $f->{queue} } },
             memory => { size_bytes => $ZONE_BYTES, free_bytes => $free,
                         fill_percent => $fill, full => 'false' },
             journal => undef };
}

# the table's and the JSON's zone without the figures that move (the
# queue's age, the free bytes), checked on their own
sub steady {
    my ($rows, $json) = @_;
    my %r = %$rows;
    my $j = { %$json, queue => { %{ $json->{queue} || {} } },
              memory => { %{ $json->{memory} || {} } } };
    my %moving = (age => delete $r{'queue oldest age'},
                  free => delete $r{'zone free'},
                  fill => delete $r{'zone fill'},
                  jage => delete $j->{queue}{oldest_age_seconds},
                  jfree => $j->{memory}{free_bytes},
                  jfill => $j->{memory}{fill_percent});
    return (\%r, $j, \%moving);
}

# the free bytes and fill of a table and of a JSON are each other's
sub fill_ok {
    my ($m) = @_;
    my ($free) = ($m->{free} // '') =~ /^(\d+) \(/;
    return 0 if !defined $free || !defined $m->{jfree};
    return $m->{fill} eq sprintf('%.1f%%', ($ZONE_BYTES - $free) * 100 / $ZONE_BYTES)
           && $m->{jfill} == 0 + sprintf('%.2f', ($ZONE_BYTES - $m->{jfree}) * 100 / $ZONE_BYTES)
           && $free < $ZONE_BYTES && $m->{jfree} < $ZONE_BYTES;
}

flow 'status: the zone\'s figures as a table and as --json, against the state made', 18, sub {
    # a different number of runs in each status, of held requests of each
    # kind: a figure shown in another's row cannot go unseen
    my %n = (claimed => 1, running => 3, completed => 4, failed => 5, stopped => 6,
             stopping => 2);
    my $lid = register_launcher(hostname => 'st-one');
    my %id;
    for my $st (qw(claimed running completed failed stopped stopping)) {
        push @{ $id{$st} }, (run_in_state($st, $lid))[0] for 1 .. $n{$st};
    }
    my $l2 = register_launcher(hostname => 'st-two');
    ok !grep({ grep { !defined } @{ $id{$_} } } keys %id) && $l2,
       'runs in every status (1 to 6 of each), two runners' or diag explain \%id;

    # held: two polls (nothing to claim), three ?wait= (one until the run
    # ends, two for 3 s) and a log follow; a second follow beyond
    # runs_max_follows 1
    my $running = $id{running}[0];
    my @polls = map { hold('GET', "/launcher/runs?launcher_id=$l2") } 1, 2;
    my @waits = (hold('GET', "/runs/$running?wait=30"),
                 map { hold('GET', "/runs/$_?wait=3") } $id{claimed}[0], $id{stopping}[0]);
    my $follow = hold('GET', "/runs/$running/log?follow=1");
    sleep 0.3;
    my $refused = req('GET', "/runs/$running/log?follow=1");
    is $refused->{status}, 503, 'a second follow is refused (runs_max_follows 1)';

    my %f = (queue => { depth => 0, oldest_age_seconds => 0 },
             runs => { pending => 0, %n }, sessions => 21,
             runners => { online => 2, stale => 0 },
             held_requests => { poll => 2, wait => 3, follow => 1, events => 0 },
             refused => { zone_full => 0, max_waiters => 0, max_polls => 0,
                          max_waits => 0, max_follows => 1, max_streams => 0 },
             totals => { created => 21, claimed => 21, completed => 4, failed => 5,
                         stopped => 6 });
    my $t = runsctl(['status']);
    my $j = runsctl(['status', '--json']);
    my ($tab, $order, $headers) = tables($t->{out});
    ok $t->{rc} == 0 && $t->{err} eq '' && "@$order" eq 'runs' && $headers == 1,
       'status: one table, its zone above it, exit 0' or diag explain $t;
    my ($rows, $zone, $m) = steady($tab->{runs} || {}, norm(($j->{json} || {})->{zones}{runs} || {}));
    is_deeply $rows, rows_of(\%f),
        'the table: every figure as the state made it (no zero refusal, no journal)'
        or diag $t->{out};
    ok $m->{age} eq '0.000s' && defined $m->{jage} && $m->{jage} == 0,
       'no claimable run: its age 0 in both' or diag explain $m;
    ok fill_ok($m), 'the zone\'s free bytes and fill (table and JSON)' or diag explain $m;
    ok $j->{rc} == 0 && $j->{err} eq '' && $j->{json}
       && $j->{json}{metrics_url} eq runsctl_url() . '/metrics'
       && join(',', keys %{ $j->{json}{zones} }) eq 'runs',
       '--json: one object, the URL read and the zone' or diag explain $j;
    is_deeply $zone, json_of({ %f, queue => { depth => 0 } }, $m->{jfree}, $m->{jfill}),
        '--json: the same figures, a zero refusal and no journal (null) too'
        or diag $j->{out};

    # the first wait and the follow end with the run, the others with their
    # time
    launcher_event($running, 'completed', { launcher_id => $lid });
    my @ends = map { collect($_, 10)->{status} } @waits, $follow, @polls;
    is "@ends", '200 200 200 200 204 204', 'the held requests ended';
    Runs::deregister($l2, 1);
    my $created = time;
    my @p = map { scalar create_run(session_name => "st-pending-$_") } 1, 2;
    my $stale = wait_for(Runs::tf(15), sub { launcher_state($lid) eq 'stale' }, 0.2);
    ok $stale && !grep({ !defined } @p), 'two runs pending, the first runner stale';

    %f = (%f, runs => { %{ $f{runs} }, pending => 2, running => 2, completed => 5 },
          queue => { depth => 2 }, sessions => 23, runners => { online => 0, stale => 1 },
          held_requests => { poll => 0, wait => 0, follow => 0, events => 0 },
          totals => { %{ $f{totals} }, created => 23, completed => 5 });
    my $before = time;
    $t = runsctl(['status']);
    $j = runsctl(['status', '--json']);
    my $after = time;
    ($tab) = tables($t->{out});
    ($rows, $zone, $m) = steady($tab->{runs} || {}, norm(($j->{json} || {})->{zones}{runs} || {}));
    is_deeply $rows, rows_of(\%f), 'the table after: runs pending, a runner stale, nothing held'
        or diag $t->{out};
    is_deeply $zone, json_of(\%f, $m->{jfree}, $m->{jfill}), '--json after: the same'
        or diag $j->{out};
    my ($age) = ($m->{age} // '') =~ /^(\d+\.\d{3})s$/;
    ok defined $age && $age >= $before - $created - 0.25 && $age <= $after - $created + 0.25,
       "the table: the oldest claimable run's age ($m->{age})"
       or diag "created $created, status between $before and $after";
    ok defined $m->{jage} && $m->{jage} >= $age - 0.05 && $m->{jage} <= $after - $created + 0.25,
       "--json: its age ($m->{jage})";
    ok fill_ok($m), 'free bytes and fill, again';

    my $z = runsctl(['status', '--zone', 'runs']);
    my ($ztab, $zorder) = tables($z->{out});
    ok $z->{rc} == 0 && "@$zorder" eq 'runs' && ($ztab->{runs}{'total created'} // '') eq '23',
       '--zone runs: that zone' or diag explain $z;
    $z = runsctl(['status', '--zone', 'nope', '--json']);
    ok $z->{rc} == 1 && $z->{out} eq ''
       && $z->{err} eq 'runsctl: no zone \'nope\' in the metrics at ' . runsctl_url() . "/metrics (zones: runs)\n",
       '--zone of a zone not there: says which there are, exit 1' or diag explain $z;
    no_sanitizer_reports();
};

flow 'status: where the metrics are, and what is said when they cannot be read', 15, sub {
    my $url = runsctl_url();
    my $r = runsctl(['status', '--url', "$url/"]);
    my ($t) = tables($r->{out});
    ok $r->{rc} == 0 && defined $t->{runs}{'queue depth'},
       'the metrics at --url (a final / or not) followed by /metrics' or diag explain $r;

    my $none = "$url/open/metrics";
    my $want404 = "runsctl: $none answered HTTP 404: runs_metrics is not configured there: "
        . "add \"$HOWTO\" to the coordinator's nginx.conf, or give the metrics' URL "
        . "with --metrics-url or \$RUNS_METRICS_URL\n";
    $r = runsctl(['status', '--url', "$url/open"]);
    ok $r->{rc} == 1 && $r->{out} eq '' && $r->{err} eq $want404,
       'HTTP 404: which URL, and that runs_metrics must be configured there; exit 1'
       or diag explain $r;
    $r = runsctl(['status', '--json'], env => { RUNS_METRICS_URL => $none });
    ok $r->{rc} == 1 && $r->{out} eq '' && $r->{err} eq $want404,
       'RUNS_METRICS_URL is read before --url; --json: nothing on stdout' or diag explain $r;
    $r = runsctl(['status', '--metrics-url', "$url/metrics"], env => { RUNS_METRICS_URL => $none });
    ok $r->{rc} == 0 && $r->{out} =~ /^zone: runs\n/, '--metrics-url wins over RUNS_METRICS_URL'
        or diag explain $r;
    $r = runsctl(['status'], env => { RUNS_METRICS_URL => '' });
    ok $r->{rc} == 0, 'an empty RUNS_METRICS_URL is none';

    my $closed = 'http://127.0.0.1:' . closed_port() . '/metrics';
    $r = runsctl(['status', '--metrics-url', $closed]);
    ok $r->{rc} == 3 && $r->{out} eq ''
       && $r->{err} =~ /^runsctl: cannot read the metrics at \Q$closed\E: .+: is the coordinator running there, with runs_metrics configured \(\Q$HOWTO\E\)\?\n\z/,
       'no answer: which URL, and runs_metrics; exit 3, as every command' or diag explain $r;
    $r = runsctl(['status', '--metrics-url', "$url/denied"]);
    ok $r->{rc} == 1 && $r->{out} eq ''
       && $r->{err} eq "runsctl: $url/denied answered HTTP 403, not the metrics: runs_metrics must be configured there ($HOWTO), and allow this host\n",
       'HTTP 403: the status, exit 1' or diag explain $r;

    my $bad = "$url/bad";
    my $body = req('GET', '/bad')->{body};
    $r = runsctl(['status', '--metrics-url', $bad]);
    ok $body =~ /\A# HELP .*\nruns_queue_depth\{zone="runs"\} 1\nruns_runs\{/ && $r->{rc} == 1
       && $r->{out} eq ''
       && $r->{err} eq "runsctl: the metrics at $bad are not the Prometheus text format: line 3: the value 'two' of 'runs_runs' is not a number\n",
       'a malformed third line: its number and what is wrong, exit 1' or diag explain $r;
    $r = runsctl(['status', '--json', '--metrics-url', $bad]);
    ok $r->{rc} == 1 && $r->{out} eq '' && $r->{err} =~ /line 3: /, 'the same with --json, stdout empty';
    $r = runsctl(['status', '--metrics-url', "$url/empty"]);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: $url/empty answered no runs_ series: is it the coordinator's runs_metrics ($HOWTO)?\n",
       'comments only: no runs_ series, exit 1' or diag explain $r;

    $r = runsctl(['status', '--metrics-url', 'ftp://127.0.0.1/metrics']);
    ok $r->{rc} == 2 && $r->{out} eq '' && $r->{err} =~ /'ftp:\/\/127\.0\.0\.1\/metrics': it must start with http/,
       'a --metrics-url that is not http: usage error' or diag explain $r;
    $r = runsctl(['status', 'runs']);
    ok $r->{rc} == 2 && $r->{err} =~ /status: unexpected argument 'runs'/, 'no argument: usage error';

    my $a = runsctl(['help', 'status']);
    my $b = runsctl(['status', '--help']);
    ok $a->{rc} == 0 && $a->{out} eq $b->{out} && $a->{out} =~ /^Usage: runsctl status /
       && $a->{out} =~ /^  --metrics-url URL /m && $a->{out} =~ /^  --zone NAME /m
       && $a->{out} =~ /\$RUNS_METRICS_URL/,
       'help status and status --help: the same, the options and RUNS_METRICS_URL';
    $r = runsctl(['help']);
    like $r->{out}, qr/^  status \[--metrics-url URL\] \[--zone NAME\]\n      \S/m,
        'help lists status';
    no_sanitizer_reports();
};

flow 'status: the text format as others write it: blanks, escapes, timestamps, several zones', 9, sub {
    my $beta = "be\"ta\\\nx";
    my $url = serve('zones.prom', join '',
        "# HELP runs_queue_depth Runs a runner could claim now.\n",
        "# TYPE runs_queue_depth gauge\n",
        "\t # an indented comment\n",
        "\n",
        "runs_queue_depth{zone=\"alpha\"} 3 1700000000000\n",
        "runs_queue_depth { zone = \"be\\\"ta\\\\\\nx\" , } 4\n",
        "runs_queue_oldest_age_seconds{zone=\"alpha\"} 75.5\n",
        "runs_runs{status=\"pending\",zone=\"alpha\"} 3\n",
        "runs_runs{zone=\"alpha\",status=\"running\"}\t1e0\n",
        "runs_runs{zone=\"alpha\",status=\"sleeping\"} 9\n",
        "runs_sessions{zone=\"alpha\"} NaN\n",
        "runs_refused_total{zone=\"alpha\",reason=\"max_polls\"} 2\n",
        "runs_refused_total{zone=\"alpha\",reason=\"zone_full\"} 0\n",
        "runs_zone_size_bytes{zone=\"alpha\"} 1048576\n",
        "runs_zone_free_bytes{zone=\"alpha\"} 262144\n",
        "runs_zone_full{zone=\"alpha\"} 1\n",
        "runs_journal_failing{zone=\"alpha\"} 1\n",
        "runs_journal_pending_changes{zone=\"alpha\"} 17 -5\n",
        "other_series{zone=\"gamma\"} 1\n",
        "runs_created_total{zone=\"alpha\"} 12\n",
        "runs_claimed_total{zone=\"alpha\"} +Inf");

    my @fig = ('queue oldest age', map({ "runs $_" } qw(pending claimed running stopping completed failed stopped)),
               'sessions', 'runners online', 'runners stale', map({ "held $_" } qw(poll wait follow events)),
               'zone size', 'zone free', 'zone fill', 'zone full', 'refused',
               map { "total $_" } qw(created claimed completed failed stopped));
    my %none = map { ($_ => '-') } @fig;
    my %alpha = (%none, 'queue depth' => '3', 'queue oldest age' => '75.500s (1m15s)',
                 'runs pending' => '3', 'runs running' => '1', sessions => 'nan',
                 'zone size' => '1048576 (1.0 MiB)', 'zone free' => '262144 (256.0 KiB)',
                 'zone fill' => '75.0%', 'zone full' => 'yes', 'refused max_polls' => '2',
                 'journal failing' => 'yes', 'journal pending changes' => '17',
                 'total created' => '12', 'total claimed' => 'inf');
    delete $alpha{refused};
    my $r = runsctl(['status', '--metrics-url', $url]);
    my ($tab, $order, $headers) = tables($r->{out});
    ok $r->{rc} == 0 && "@$order" eq "alpha be\"ta\\ x" && $headers == 2
       && $r->{out} =~ /\n\nzone: be"ta\\ x\nFIGURE/,
       'a table per zone, in their order, a blank line between; a name shown on one line'
       or diag explain $r;
    is_deeply $tab->{alpha}, \%alpha, 'alpha: every figure given, "-" for the others, no zero refusal'
        or diag $r->{out};
    is_deeply $tab->{"be\"ta\\ x"}, { %none, 'queue depth' => '4' },
        'the zone whose name has escapes: its one figure, no journal rows' or diag $r->{out};

    my %nulls = (queue => { oldest_age_seconds => undef },
                 runs => { map { ($_ => undef) } qw(pending claimed running stopping completed failed stopped) },
                 sessions => undef, runners => { online => undef, stale => undef },
                 held_requests => { poll => undef, wait => undef, follow => undef, events => undef },
                 memory => { size_bytes => undef, free_bytes => undef, fill_percent => undef, full => undef },
                 refused => undef, journal => undef,
                 totals => { map { ($_ => undef) } qw(created claimed completed failed stopped) });
    my $want = { metrics_url => $url, zones => {
        alpha => { %nulls, queue => { depth => 3, oldest_age_seconds => 75.5 },
                   runs => { %{ $nulls{runs} }, pending => 3, running => 1 },
                   memory => { size_bytes => 1048576, free_bytes => 262144, fill_percent => 75, full => 'true' },
                   refused => { max_polls => 2, zone_full => 0 },
                   journal => { failing => 'true', pending_changes => 17 },
                   totals => { %{ $nulls{totals} }, created => 12 } },
        $beta => { %nulls, queue => { depth => 4, oldest_age_seconds => undef } } } };
    $r = runsctl(['status', '--metrics-url', $url, '--json']);
    is_deeply norm($r->{json}), $want, '--json: the same figures, null for the missing and NaN, the names unescaped'
        or diag $r->{out};
    like $r->{out}, qr/^\{"metrics_url":.*"oldest_age_seconds":75\.5\b/, '--json: compact, 75.5 as written';

    $r = runsctl(['status', '--metrics-url', $url, '--zone', 'alpha']);
    ($tab, $order) = tables($r->{out});
    ok $r->{rc} == 0 && "@$order" eq 'alpha' && ($tab->{alpha}{'queue depth'} // '') eq '3',
       '--zone alpha: that table alone' or diag explain $r;
    $r = runsctl(['status', '--metrics-url', $url, '--zone', $beta, '--json']);
    ok $r->{rc} == 0 && $r->{json} && join(',', keys %{ $r->{json}{zones} }) eq $beta
       && $r->{json}{zones}{$beta}{queue}{depth} == 4,
       '--zone with the escaped name, --json: that zone alone' or diag explain $r;
    $r = runsctl(['status', '--metrics-url', $url, '--zone', 'gamma']);
    ok $r->{rc} == 1 && $r->{err} =~ /^runsctl: no zone 'gamma' in the metrics at \Q$url\E \(zones: alpha, be"ta\\ x\)\n\z/,
       'a zone with no runs_ series is none' or diag explain $r;
    no_sanitizer_reports();
};

flow 'status: malformed lines, each named by its number', 17, sub {
    my $ok = "runs_queue_depth{zone=\"z\"} 1\n";
    my @bad = (
        ["runs_queue_depth{zone=\"z\"}\n", 1, qr/no value after 'runs_queue_depth'/],
        ["$ok# c\n\nruns_queue_depth{zone=\"z\"} 1 2 3\n", 4, qr/'3' after the timestamp of 'runs_queue_depth'/],
        ["${ok}runs_queue_depth{zone=\"z\"} one\n", 2, qr/the value 'one' of 'runs_queue_depth' is not a number/],
        ["${ok}runs_queue_depth{zone=\"a\\x\"} 1\n", 2, qr/'\\x' in the value of the label 'zone' is not an escape/],
        ["runs_queue_depth{zone=\"a\",zone=\"b\"} 1\n", 1, qr/the label 'zone' is given twice/],
        ["$ok${ok}runs_queue_depth{zone=\"a\" 1\n", 3, qr/'1' after the value of the label 'zone', where ',' or '\}' was expected/],
        ["${ok}runs_queue_depth{zone=\"z\"} 1 12.5\n", 2, qr/the timestamp '12\.5' of 'runs_queue_depth' is not a whole number/],
        ["${ok}9runs 1\n", 2, qr/'9runs 1' where a metric name was expected/],
        ["${ok}runs_queue_depth{zone=z} 1\n", 2, qr/'z\} 1' where the '"' opening the value of the label 'zone' was expected/],
        ["${ok}runs_queue_depth{=\"a\"} 1\n", 2, qr/'="a"\} 1' where a label name or '\}' was expected/],
        ["$ok${ok}runs_queue_depth{zone=\"z\"} 1\r\n", 3, qr/the value '1\\x0d' of 'runs_queue_depth' is not a number/],
        ["${ok}runs_queue_depth{zone=\"z\"} 1\0\n", 2, qr/a NUL byte/],
        ["${ok}runs_queue_depth{zone=\"caf\xe9\"} 1\n", 2, qr/the value of the label 'zone' is not UTF-8/],
        ["${ok}runs-queue 1\n", 2, qr/'-queue 1' after the metric name 'runs', where/],
        ["${ok}runs_queue_depth{zone=\"z\"} 1e999\n", 2, qr/the value '1e999' of 'runs_queue_depth' is not a number/],
        ["${ok}runs_queue_depth{zone=\"z\n$ok", 2, qr/the value of the label 'zone' has no closing '"'/],
    );
    my $i = 0;
    for my $b (@bad) {
        my ($text, $line, $re) = @$b;
        my $url = serve('bad' . ++$i . '.prom', $text);
        my $r = runsctl(['status', '--metrics-url', $url]);
        ok $r->{rc} == 1 && $r->{out} eq ''
           && $r->{err} =~ /^runsctl: the metrics at \Q$url\E are not the Prometheus text format: line $line: $re/
           && $r->{err} =~ /\n\z/ && ($r->{err} =~ tr/\n//) == 1,
           "case $i: line $line named, exit 1" or diag explain $r;
    }
    no_sanitizer_reports();
};

flow 'status: the journal\'s state when the zone has one', 3, sub {
    create_run(prompt => 'journalled');
    my $j = wait_for(Runs::tf(5), sub {
        my $r = runsctl(['status', '--json']);
        my $z = norm((($r->{json} || {})->{zones} || {})->{runs} || {});
        ($z->{journal} && $z->{journal}{pending_changes} == 0) ? $z : undef;
    }, 0.2);
    is_deeply $j && $j->{journal}, { failing => 'false', pending_changes => 0 },
        '--json: the journal is not failing, nothing left to write';
    my $r = runsctl(['status']);
    my ($t) = tables($r->{out});
    ok $r->{rc} == 0 && ($t->{runs}{'journal failing'} // '') eq 'no'
       && ($t->{runs}{'journal pending changes'} // '') eq '0'
       && ($t->{runs}{'total created'} // '') eq '1',
       'the table: its two rows' or diag $r->{out};
    no_sanitizer_reports();
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: status: the zone's figures as a table and as --json, against the state made
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 4s;
    runs_heartbeat_timeout 4s;
    runs_claim_timeout 0;
    runs_max_follows 1;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location = /metrics { runs_metrics runs; }
--- error_log
holds runs_max_follows log follows already
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: status: where the metrics are, and what is said when they cannot be read
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location = /metrics { runs_metrics runs; }
    location = /denied { runs_metrics runs; deny all; }
    location = /bad {
        default_type text/plain;
        return 200 "# HELP runs_queue_depth Runs a runner could claim now.\nruns_queue_depth{zone=\"runs\"} 1\nruns_runs{zone=\"runs\",status=\"pending\"} two\n";
    }
    location = /empty { default_type text/plain; return 200 "# nothing here\n"; }
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: status: the text format as others write it: blanks, escapes, timestamps, several zones



=== TEST 4: status: malformed lines, each named by its number



=== TEST 5: status: the journal's state when the zone has one
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- user_files
>>> journal/.keep
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /sessions { runs_sessions_api runs; }
    location = /metrics { runs_metrics runs; }
