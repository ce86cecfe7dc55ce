# Operations (docs/METRICS.md): runs_metrics answers the Prometheus text
# format, read here by the parser of the official Prometheus client
# library (Debian's python3-prometheus-client, through
# t/prometheus/parse.py), and each series is checked against the state
# the test made; runs_health answers a load balancer's check, 503 when
# the zone cannot take a run.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use RunsJournal;
use Test::More;
use File::Temp ();
use Time::HiRes qw(sleep time);

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $PARSER = "$FindBin::Bin/prometheus/parse.py";
my $PYTHON = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
die "the Prometheus parser is not installed: ./build.sh deps (python3-prometheus-client)\n"
    if system("$PYTHON -c 'import prometheus_client' 2>/dev/null") != 0;

# GET /metrics read by the parser: ({families => {name => family},
# samples => [...]}, the response, error).  The parser names a counter's
# family without "_total"; its samples keep it.
sub scrape {
    my $res = req('GET', '/metrics');
    my $tmp = File::Temp->new;
    print $tmp $res->{body};
    close $tmp;
    my $out = `$PYTHON $PARSER < $tmp 2>&1`;
    return ({ families => {}, samples => [] }, $res, "parser: $out") if $? != 0;
    my $fams = Runs::jdec($out) || [];
    my %s = (families => { map { ($_->{name} => $_) } @$fams },
             samples => [map { @{ $_->{samples} } } @$fams]);
    return (\%s, $res, '');
}

# the value of the sample named $name whose labels include %want
sub val {
    my ($f, $name, %want) = @_;
    for my $m (@{ $f->{samples} }) {
        next if $m->{name} ne $name;
        next if grep { ($m->{labels}{$_} // '') ne $want{$_} } keys %want;
        return $m->{value};
    }
    return undef;
}

sub finish {
    my ($lid, $id, $how) = @_;
    launcher_event($id, 'started', { launcher_id => $lid });
    launcher_event($id, $how // 'completed', { launcher_id => $lid, result => 'ok', error => 'bad' });
}

flow 'a scrape, read by a Prometheus parser, says what the zone holds', 22, sub {
    my $busy = register_launcher(hostname => 'busy');
    my $quiet = register_launcher(hostname => 'quiet');
    my @done;
    for my $how (qw(completed failed stopped)) {
        my $id = create_run(prompt => $how);
        claim($busy);
        finish($busy, $id, $how);
        push @done, $id;
    }
    my $running = create_run(prompt => 'running');
    claim($busy);
    launcher_event($running, 'started', { launcher_id => $busy });
    my $claimed = create_run(prompt => 'claimed');
    claim($busy);
    my @pending = map { scalar create_run(prompt => "pending $_") } 1 .. 3;
    create_run(type => 'resume_session', session_name => (get_run($pending[0]) || {})->{session_name}, prompt => 'behind');
    # a held ?wait= and a held poll; a second poll beyond runs_max_polls 1
    my $w = hold('GET', "/runs/$running?wait=20");
    my $poll = do { local $Runs::NO_TOKEN = 0; hold('GET', "/launcher/runs?launcher_id=$busy&claim=0") };
    sleep 0.3;
    my $refused = req('GET', "/launcher/runs?launcher_id=$quiet&claim=0");
    sleep 1.2;      # "quiet" is stale after runs_heartbeat_timeout 1s

    my ($f, $res, $err) = scrape();
    is $err, '', 'the parser reads the answer';
    like $res->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, 'as text/plain, version 0.0.4';
    my @nohelp = grep { !$f->{families}{$_}{help} || !$f->{families}{$_}{type} } sort keys %{ $f->{families} };
    is "@nohelp", '', 'every family has # HELP and # TYPE';
    my %by = (pending => 4, claimed => 1, running => 1, stopping => 0, completed => 1, failed => 1, stopped => 1);
    is join(' ', map { val($f, 'runs_runs', status => $_) // '?' } sort keys %by),
       join(' ', map { $by{$_} } sort keys %by), 'runs_runs by status: ' . join(', ', map { "$_ $by{$_}" } sort keys %by);
    is val($f, 'runs_created_total', zone => 'runs'), 9, 'runs_created_total 9, with the zone as label';
    is val($f, 'runs_claimed_total'), 5, 'runs_claimed_total 5';
    is join(' ', map { val($f, "runs_${_}_total") } qw(completed failed stopped)), '1 1 1',
       'runs_completed_total, _failed_total, _stopped_total: 1 each';
    is $f->{families}{runs_created}{type}, 'counter', 'the totals are counters';
    is val($f, 'runs_queue_depth'), 3, 'runs_queue_depth 3 (the resume waits behind its session\'s run)';
    ok val($f, 'runs_queue_oldest_age_seconds') > 1, 'the oldest claimable run is over a second old';
    is val($f, 'runs_sessions'), 8, 'runs_sessions 8';
    is join(' ', map { val($f, 'runs_runners', state => $_) } qw(online stale)), '1 1', 'one runner online, one stale';
    is join(' ', map { val($f, 'runs_held_requests', kind => $_) } qw(poll wait follow)), '1 1 0',
       'held: one poll, one wait, no follow';
    is val($f, 'runs_refused_total', reason => 'max_polls'), 1, 'one poll refused beyond runs_max_polls';
    is $refused->{status}, 503, '(it was answered 503)';
    is val($f, 'runs_zone_size_bytes'), 4 * 1024 * 1024, 'runs_zone_size_bytes: 4m';
    my $free = val($f, 'runs_zone_free_bytes');
    ok $free > 0 && $free < 4 * 1024 * 1024, "runs_zone_free_bytes $free";
    is $f->{families}{runs_claim_latency_seconds}{type}, 'histogram', 'claim latency is a histogram';
    is val($f, 'runs_claim_latency_seconds_count'), 5, 'its count is the claims made';
    my @b = map { $_->{value} }
            sort { ($a->{labels}{le} eq '+Inf' ? 1e99 : $a->{labels}{le}) <=> ($b->{labels}{le} eq '+Inf' ? 1e99 : $b->{labels}{le}) }
            grep { $_->{name} eq 'runs_claim_latency_seconds_bucket' } @{ $f->{samples} };
    ok @b == 15 && !grep({ $b[$_] < $b[$_ - 1] } 1 .. $#b) && $b[-1] == 5, 'its 15 buckets are cumulative up to +Inf = 5';
    is val($f, 'runs_completion_seconds_count'), 1, 'completion: one run completed';
    ok !defined val($f, 'runs_journal_failing'), 'no journal series without a journal';
    collect($_, 1) for $w, $poll;
};

flow 'with a journal, its state is a series', 3, sub {
    create_run(prompt => 'p');
    my ($f, $res, $err) = scrape();
    is $err, '', 'parsed';
    is val($f, 'runs_journal_failing'), 0, 'runs_journal_failing 0';
    is val($f, 'runs_journal_pending_changes'), 0, 'runs_journal_pending_changes 0 once written';
};

flow 'runs_health: 200 while the zone can take a run, 503 once it is full of live runs', 8, sub {
    my $r = req('GET', '/health');
    is $r->{status}, 200, 'an empty zone: 200';
    is $r->{json}{status}, 'healthy', '"healthy"';
    my ($n, $last) = (0, undef);
    while ($n < 5000) {
        my (undef, $c) = create_run(prompt => 'x' x 2000);
        $last = $c->{status};
        last if $last != 201;
        $n++;
    }
    is $last, 503, "the zone refuses a run after $n live ones";
    $r = req('GET', '/health');
    is $r->{status}, 503, 'runs_health: 503';
    is $r->{json}{reason}, 'the zone is full of live runs', 'saying why';
    ok $r->{headers}{'retry-after'}, 'with Retry-After';
    my $sid = (get_run((list_runs('limit=1')->[0] || {})->{run_id} // '') || {})->{session_id} // '';
    req('DELETE', "/sessions/$sid");
    $r = req('GET', '/health');
    is $r->{status}, 200, 'a session deleted: 200 again';
    is $r->{json}{live_runs}, $n - 1, 'live_runs counts what is left';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: a scrape, read by a Prometheus parser, says what the zone holds
--- http_config
    runs_zone runs 4m;
    runs_poll_timeout 10s;
    runs_max_polls 1;
    runs_heartbeat_timeout 1s;
    runs_launcher_expiry 60s;
--- config
    location /runs { runs_api runs; }
    location /launcher { runs_launcher_api runs; }
    location /launchers { runs_launchers_api runs; }
    location = /metrics { runs_metrics runs; }
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: with a journal, its state is a series
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- config
    location /runs { runs_api runs; }
    location = /metrics { runs_metrics runs; }
--- user_files
>>> journal/.keep



=== TEST 3: runs_health: 200 while the zone can take a run, 503 once it is full of live runs
--- http_config
    runs_zone runs 64k;
--- config
    location /runs { runs_api runs; }
    location /sessions { runs_sessions_api runs; }
    location = /health { runs_health runs; }
--- no_error_log
[alert]
[emerg]
[crit]
