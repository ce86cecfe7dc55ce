#!/usr/bin/perl
# report.pl RAW.jsonl OUTDIR [DOC.md]: the figures of "./build.sh bench"
# from the raw records bench.sh collected; writes OUTDIR/results.json and
# OUTDIR/results.md and prints the markdown.  With DOC.md, the markdown
# also replaces what DOC.md holds between its "bench:results" markers.
use strict;
use warnings;
use utf8;
use JSON::PP;

my ($raw, $out, $doc) = @ARGV;
die "usage: report.pl RAW.jsonl OUTDIR [DOC.md]\n" unless $raw && $out;

my $json = JSON::PP->new->canonical->pretty;
my (%one, %reps, %all);
open my $fh, '<', $raw or die "$raw: $!\n";
while (<$fh>) {
    next unless /\S/;
    my $r = decode_json($_);
    push @{ $all{ $r->{tag} } }, $r->{data};
    if (ref $r->{data} eq 'HASH' && exists $r->{data}{rep}) {
        push @{ $reps{ $r->{tag} } }, $r->{data};
    } else {
        $one{ $r->{tag} } = $r->{data};
    }
}
close $fh;

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub commas {
    my $n = sprintf '%.0f', shift;
    1 while $n =~ s/^(\d+)(\d{3})/$1,$2/;
    return $n;
}

sub ms { my $us = shift; return defined $us ? sprintf('%.2f ms', $us / 1000) : 'n/a' }

sub bool { return $_[0] ? JSON::PP::true : JSON::PP::false }

my %res = (machine => $one{machine}, figures => {});
my @rows;
my $F = $res{figures};
my $nproc = $one{machine}{nproc} || 1;

# ---------------------------------------------------------- throughput
for my $tag (qw(ceiling_get ceiling_post ceiling_get_big get_run list_runs post_runs post_runs_pattern get_run_done post_runs_done post_runs_strict post_runs_relaxed)) {
    my @r = @{ $reps{$tag} || [] };
    next unless @r;
    my @rps = map { $_->{wrk}{requests} / ($_->{wrk}{duration_us} / 1e6) } @r;
    my $bad = 0;
    for my $x (@r) { $bad += $_ for values %{ $x->{wrk}{errors} } }
    $F->{$tag} = {
        rps_median => median(@rps),
        rps_reps => [map { sprintf('%.0f', $_) + 0 } @rps],
        errors => $bad,
        latency_p50_us_median => median(map { $_->{wrk}{latency_us}{p50} } @r),
        latency_p99_us_median => median(map { $_->{wrk}{latency_us}{p99} } @r),
        cpu_pct_of_machine_median => {
            map { my $k = $_; ($k => median(map { $_->{cpu}{$k} } @r)) }
                qw(busy_pct nginx_pct wrk_pct other_pct) },
        other_pct_reps => [map { $_->{cpu}{other_pct} } @r],
        # nginx CPU time per request, whatever else ran on the machine
        nginx_cpu_us_per_req => median(map {
            $_->{cpu}{nginx_pct} / 100 * $nproc * 1e6
                / ($_->{wrk}{requests} / ($_->{wrk}{duration_us} / 1e6)) } @r),
    };
}

sub tput_row {
    my ($label, $tag, $ceil, $target, $min) = @_;
    my $f = $F->{$tag};
    my $c = $F->{$ceil}{rps_median};
    return unless $f && defined $f->{rps_median} && $c;
    my $ratio = $f->{rps_median} / $c;
    $f->{ceiling} = $ceil;
    $f->{ratio_to_ceiling} = sprintf('%.3f', $ratio) + 0;
    my $verdict = 'reported';
    if (defined $min) {
        $f->{target_ratio} = $min;
        $f->{met} = bool($ratio >= $min && !$f->{errors});
        $verdict = $f->{met} ? 'met' : 'missed';
    }
    my $err = $f->{errors} ? sprintf(' (%d errors or non-2xx!)', $f->{errors}) : '';
    push @rows, [$label,
        sprintf('%s req/s = %.1f %% of the %s ceiling (reps: %s); nginx CPU %.1f µs/req (ceiling %.1f)%s',
                commas($f->{rps_median}), 100 * $ratio,
                $ceil eq 'ceiling_get' ? 'GET'
                : $ceil eq 'ceiling_get_big' ? 'same-size GET'
                : $ceil eq 'post_runs' ? 'no-journal POST /runs' : 'POST',
                join(', ', map { commas($_) } @{ $f->{rps_reps} }),
                $f->{nginx_cpu_us_per_req}, $F->{$ceil}{nginx_cpu_us_per_req}, $err),
        $target, $verdict];
}

my $big = $one{big_body} ? $one{big_body}{bytes} : 0;

for my $c (qw(ceiling_get ceiling_post ceiling_get_big)) {
    my $f = $F->{$c};
    next unless $f && defined $f->{rps_median};
    push @rows, [$c eq 'ceiling_get' ? 'ceiling: `return 200` for GET'
                 : $c eq 'ceiling_get_big'
                 ? sprintf('ceiling: `return 200` for GET with a %s-byte answer (as long as a finished run\'s below)', commas($big))
                 : 'ceiling: `return 200` for POST (same body)',
        sprintf('%s req/s (reps: %s); nginx CPU %.1f µs/req%s', commas($f->{rps_median}),
                join(', ', map { commas($_) } @{ $f->{rps_reps} }), $f->{nginx_cpu_us_per_req},
                $f->{errors} ? " ($f->{errors} errors!)" : ''),
        '—', 'reference'];
}

tput_row('`POST /runs` throughput (100-byte prompt)', 'post_runs', 'ceiling_post', '≥ 50 % of POST ceiling', 0.50);
if ($F->{post_runs} && $F->{post_runs}{rps_median}) {
    # every POST /runs stores a run; each repetition starts from an empty
    # zone after its own warm-up
    my @w = @{ $reps{warmup_post_runs} || [] };
    my @r = @{ $reps{post_runs} };
    my @from = map { $_->{wrk}{requests} } @w;
    my @to = map { ($from[$_] // 0) + $r[$_]{wrk}{requests} } 0 .. $#r;
    $F->{post_runs}{store_runs_at_rep_start} = \@from;
    $F->{post_runs}{store_runs_at_rep_end} = \@to;
    $rows[-1][1] .= sprintf('; each repetition on a fresh zone, which grew from ~%s to ~%s runs during it',
                            commas(median(@from) // 0), commas(median(@to)));
}
tput_row('`GET /runs/{id}` throughput (10k stored)', 'get_run', 'ceiling_get', '≥ 70 % of GET ceiling', 0.70);
tput_row('`GET /runs?limit=100` throughput (10k stored)', 'list_runs', 'ceiling_get', 'report it', undef);

# runs with results and logs: 10k finished runs, each with a 4 KB result
# and a 16 KB log
my $done_what = sub {
    my $d = $one{done_10k} or return '';
    return sprintf(' (%s runs made at %s runs/s, each claimed, started, with a %d-byte log, completed with a %d-byte result)',
                   commas($d->{completed}), commas($d->{per_s}), $d->{log_bytes}, $d->{result_bytes});
};
tput_row('`GET /runs/{id}` throughput (10k finished runs, 4 KB result, 16 KB log)', 'get_run_done', 'ceiling_get_big',
         '≥ 70 % of the GET ceiling answering as many bytes', 0.70);
if ($F->{get_run_done} && $F->{get_run_done}{ceiling} && $F->{ceiling_get}{rps_median}) {
    $F->{get_run_done}{ratio_to_plain_get_ceiling} =
        sprintf('%.3f', $F->{get_run_done}{rps_median} / $F->{ceiling_get}{rps_median}) + 0;
    $rows[-1][1] .= sprintf('; %.1f %% of the plain GET ceiling (`{"ok":true}`)',
                            100 * $F->{get_run_done}{ratio_to_plain_get_ceiling});
}
$rows[-1][1] .= $done_what->() if $F->{get_run_done} && $F->{get_run_done}{ceiling};
tput_row('`POST /runs` with `runs_name_pattern` (PCRE2, every session name matched)', 'post_runs_pattern', 'post_runs',
         '≥ 90 % of POST /runs without it', 0.90);
tput_row('`POST /runs` into a zone holding 10k finished runs (4 KB result, 16 KB log)', 'post_runs_done', 'ceiling_post',
         '≥ 50 % of POST ceiling', 0.50);
if ($F->{post_runs_done} && $F->{post_runs_done}{ceiling}) {
    my @w = @{ $reps{warmup_post_runs_done} || [] };
    my @r = @{ $reps{post_runs_done} };
    my @from = map { 10000 + $_->{wrk}{requests} } @w;
    my @to = map { ($from[$_] // 10000) + $r[$_]{wrk}{requests} } 0 .. $#r;
    $F->{post_runs_done}{store_runs_at_rep_start} = \@from;
    $F->{post_runs_done}{store_runs_at_rep_end} = \@to;
    $rows[-1][1] .= sprintf('; each repetition on a fresh zone filled with 10k finished runs first, which grew from ~%s to ~%s runs during it',
                            commas(median(@from) // 0), commas(median(@to)));
}
tput_row('`POST /runs` with `runs_journal` strict (each answer after its group\'s fdatasync)', 'post_runs_strict', 'ceiling_post',
         '≥ 50 % of POST ceiling', 0.50);
tput_row('`POST /runs` with `runs_journal` relaxed', 'post_runs_relaxed', 'post_runs',
         '≥ 90 % of POST /runs without a journal', 0.90);
if (my $f = $F->{post_runs_strict}) {
    push @rows, ['`POST /runs` latency, `runs_journal` strict',
        sprintf('p50 %s, p99 %s (without a journal: p50 %s, p99 %s)',
                ms($f->{latency_p50_us_median}), ms($f->{latency_p99_us_median}),
                ms($F->{post_runs}{latency_p50_us_median}),
                ms($F->{post_runs}{latency_p99_us_median})),
        '—', 'reported'];
}
for my $tag (qw(replay_100k replay_1m)) {
    my $r = $one{$tag} or next;
    $F->{$tag} = $r;
    push @rows, [sprintf('journal replay at start, %s runs', commas($r->{runs})),
        sprintf('answering %.2f s after start (`nginx -t` before it: %s); '
                . 'journal %s bytes (%.0f per run)',
                $r->{start_ms} / 1000,
                defined $r->{check_ms} ? sprintf('%.2f s', $r->{check_ms} / 1000) : 'not timed',
                commas($r->{journal_bytes}), $r->{journal_bytes} / $r->{runs}),
        $tag eq 'replay_1m' ? '< 3 s' : '—',
        $tag eq 'replay_1m' ? ($r->{start_ms} < 3000 ? 'met' : 'missed') : 'reported'];
}

# ------------------------------------------------- the journal's designs
# journal-designs: each design's commit protocol alone, same load
for my $name (qw(shared shared-nosync per-writer writer-process sqlite lmdb)) {
    my $d = $one{"journal_design_$name"} or next;
    $F->{journal_designs}{$name} = $d;
    push @rows, [sprintf('journal design %s: commit protocol alone, %d writer processes × %d requests in flight, %d-byte records',
                         $d->{label}, $d->{writers}, $d->{conns}, $d->{record_bytes}),
        sprintf('%s records/s acknowledged %s; ack p50 %s, p99 %s; %s syncs/s (%s records each); %.0f bytes per record on disk, %s written; %.1f µs CPU per record (median of %d rounds of %g s; records/s in each: %s; other load %.0f %%)',
                commas($d->{acked_per_s}),
                $name eq 'shared-nosync' ? 'after write(), no sync' : 'durable',
                ms($d->{latency}{p50_us}), ms($d->{latency}{p99_us}),
                commas($d->{syncs_per_s}),
                $d->{syncs} ? sprintf('%.1f', $d->{records_per_sync}) : '—',
                $d->{disk_bytes_per_record},
                defined $d->{written_bytes_per_record}
                    ? commas($d->{written_bytes_per_record}) : 'n/a',
                $d->{cpu_us_per_record}, $d->{rounds} // 1, $d->{seconds},
                join(', ', map { commas($_) } @{ $d->{acked_per_s_rounds} || [] }),
                $d->{other_cpu_pct}),
        'report it', 'reported'];
}

# claims with routing: 99 % of the waiting runs for other runners
if ((my $a = $one{route_10000}) && (my $b = $one{route_100000})) {
    $F->{route_10000} = $a;
    $F->{route_100000} = $b;
    my ($pa, $pb) = ($a->{create_claim}{p50_us}, $b->{create_claim}{p50_us});
    my $ratio = $pa ? $pb / $pa : 0;
    push @rows, ['claim cost with routing (a runner of agent x, tag linux, host bench; 10k / 100k waiting runs, 1 in 100 for x, the rest demanding other agents, tag gpu, another host or executor_type cuda)',
        sprintf('create→claim p50 %.0f / %.0f µs (×%.2f), p99 %.0f / %.0f µs; one request at a time',
                $pa, $pb, $ratio, $a->{create_claim}{p99_us}, $b->{create_claim}{p99_us}),
        'flat (no scan of the runs it cannot take)',
        ($ratio && $ratio < 2) ? 'met' : 'missed'];
}

for my $tag (qw(replay_100k_compaction replay_1m_compaction)) {
    for my $d (@{ $all{$tag} || [] }) {
        $F->{$tag} = $all{$tag};
        push @rows, [sprintf('journal rewritten from the live state while %s runs are created',
                             $tag =~ /1m/ ? '1,000,000' : '100,000'),
            sprintf('%s bytes to %s bytes in %.2f s', commas($d->{from_bytes}),
                    commas($d->{to_bytes}), $d->{ms} / 1000),
            '—', 'reported'];
    }
}

# ------------------------------------------------------------ wake-ups
for my $m (qw(create stop)) {
    my $d = $one{"latency_$m"} or next;
    my $w = $d->{poll_wake};
    my $met = $w->{n} > 0 && $w->{p50_us} <= 1000 && $w->{p99_us} <= 5000;
    $F->{"latency_$m"} = { %$d, target => 'p50 <= 1 ms, p99 <= 5 ms', met => bool($met) };
    push @rows, [$m eq 'create' ? 'create → held poll receives the run, poll in the other worker'
                                : 'stop → held poll receives `stop_runs`, poll in the other worker',
        sprintf('p50 %s, p99 %s, max %s (n = %d; the trigger\'s own response p50 %s)',
                ms($w->{p50_us}), ms($w->{p99_us}), ms($w->{max_us}), $w->{n},
                ms($d->{trigger_response}{p50_us})),
        'p50 ≤ 1 ms, p99 ≤ 5 ms', $met ? 'met' : 'missed'];
}

# ------------------------------------------------------------ run logs
if (my $d = $one{log_latency}) {
    my $w = $d->{log_wake};
    my $met = $w->{n} > 0 && $w->{p50_us} <= 1000 && $w->{p99_us} <= 5000 && !$d->{same_worker};
    $F->{log_latency} = { %$d, target => 'p50 <= 1 ms, p99 <= 5 ms', met => bool($met) };
    push @rows, ['log piece posted → follower (`?follow=1`) receives it, follower in the other worker',
        sprintf('p50 %s, p99 %s, max %s (n = %d, %d-byte pieces, both directions alternated; the post\'s own response p50 %s)',
                ms($w->{p50_us}), ms($w->{p99_us}), ms($w->{max_us}), $w->{n}, $d->{piece_bytes},
                ms($d->{post_response}{p50_us})),
        'p50 ≤ 1 ms, p99 ≤ 5 ms', $met ? 'met' : 'missed'];
}

for my $n (1, 100) {
    my $p = $one{"log_tput_$n"} or next;
    my $c = $one{"log_ceiling_$n"};
    my %f = (%$p);
    my $ratio;
    if ($c && $c->{posted_mb_s}) {
        $ratio = $p->{posted_mb_s} / $c->{posted_mb_s};
        $f{ceiling} = $c;
        $f{ratio_to_ceiling} = sprintf('%.3f', $ratio) + 0;
    }
    $F->{"log_throughput_$n"} = \%f;
    my $kb = $p->{piece_bytes} / 1024;
    push @rows, [$n == 1
        ? sprintf('log throughput, one run: one connection posting %g KB pieces back to back, one follower', $kb)
        : sprintf('log throughput, %d runs at once: %d posting connections, %d followers', $n, $n, $n),
        sprintf('posted %.1f MB/s%s; delivered to the follower%s %.1f MB/s (%s); nginx CPU %.1f ms per MB posted%s; each post answered in p50 %s (MB = 10⁶ bytes, %.0f s)',
                $p->{posted_mb_s},
                defined $ratio ? sprintf(' = %.1f %% of the ceiling\'s %.1f MB/s (the same posts against `return 200`)',
                                         100 * $ratio, $c->{posted_mb_s}) : '',
                $n == 1 ? '' : 's', $p->{delivered_mb_s},
                $p->{follow_requests} > $p->{cross_worker_followers}
                    ? sprintf('overtaken by the ring %d time%s and asked again: %s bytes skipped',
                              $p->{follow_requests} - $p->{cross_worker_followers},
                              $p->{follow_requests} - $p->{cross_worker_followers} == 1 ? '' : 's',
                              commas($p->{skipped_bytes}))
                    : 'never overtaken by the ring, no byte skipped',
                $p->{nginx_cpu_ms_per_mb},
                $c ? sprintf(' (ceiling %.1f)', $c->{nginx_cpu_ms_per_mb}) : '',
                ms($p->{post_response}{p50_us}), $p->{seconds}),
        'report it', 'reported'];
}

# ---------------------------------------------------------- claim cost
my @sizes = sort { $a <=> $b } map { /^claim_(\d+)$/ ? $1 : () } keys %one;
if (@sizes) {
    my %c = map { $_ => $one{"claim_$_"} } @sizes;
    my ($lo, $hi) = ($sizes[0], $sizes[-1]);
    my $g = $c{$hi}{get_run}{p50_us} / $c{$lo}{get_run}{p50_us};
    my $k = $c{$hi}{create_claim}{p50_us} / $c{$lo}{create_claim}{p50_us};
    my $flat = $g <= 2 && $k <= 2;
    $F->{claim_cost} = {
        sizes => \@sizes, by_size => \%c,
        get_p50_growth => sprintf('%.2f', $g) + 0,
        create_claim_p50_growth => sprintf('%.2f', $k) + 0,
        fill_per_s => { map { $_ => $one{"store_fill_$_"}{per_s} } grep { $one{"store_fill_$_"} } @sizes },
        target => 'flat: p50 at the largest store <= 2x p50 at 1k',
        met => bool($flat),
    };
    my $lbl = sub { my $n = shift; $n >= 1e6 ? ($n / 1e6) . 'M' : $n >= 1e3 ? ($n / 1e3) . 'k' : $n };
    push @rows, ['claim cost as the store grows (' . join(' / ', map { $lbl->($_) } @sizes) . ' stored runs)',
        sprintf('`GET /runs/{id}` p50 %s µs (×%.2f); create→claim p50 %s µs (×%.2f); one request at a time',
                join(' / ', map { sprintf '%.0f', $c{$_}{get_run}{p50_us} } @sizes), $g,
                join(' / ', map { sprintf '%.0f', $c{$_}{create_claim}{p50_us} } @sizes), $k),
        'flat (no scan of all runs)', $flat ? 'met' : 'missed'];
}

# ------------------------------------------------------- zone per run
if (my $z = $one{zone_64m}) {
    my $zone = 64 * 1024 * 1024;
    my $n = $z->{created};
    my $names = 0;
    $names += length("z$_") for 0 .. $n - 1;
    my $strings = $z->{prompt_bytes} + $names / $n;
    my $per = $zone / $n;
    my $over = $per - $strings;
    my $met = $over <= 512;
    $F->{zone_bytes_per_run} = {
        zone_bytes => $zone, runs_held => $n, bytes_per_run => sprintf('%.1f', $per) + 0,
        string_bytes_per_run => sprintf('%.1f', $strings) + 0,
        beyond_strings => sprintf('%.1f', $over) + 0,
        target => 'beyond strings <= 512 bytes',
        met => bool($met),
    };
    my $also = '';
    if (my $o = $one{zone_64m_one_session}) {
        # every run but the first is a resume: the session is stored once
        my $m = $o->{created};
        my $s1 = $o->{prompt_bytes} + length('zone-session') / $m;
        $F->{zone_bytes_per_run}{one_session} = {
            runs_held => $m, bytes_per_run => sprintf('%.1f', $zone / $m) + 0,
            beyond_strings => sprintf('%.1f', $zone / $m - $s1) + 0,
        };
        $also = sprintf('. Runs of one session (resumes): %.0f bytes per run, %.0f beyond the strings, %s runs per 64 MB',
                        $zone / $m, $zone / $m - $s1, commas($m));
    }
    push @rows, ['zone bytes per stored run (100-byte prompt)',
        sprintf('one session per run (the worst case, judged): %.0f bytes per run, %.0f beyond its %.0f bytes of strings; a 64 MB zone holds %s runs%s',
                $per, $over, $strings, commas($n), $also),
        '≤ 512 bytes beyond the strings', $met ? 'met' : 'missed'];
}

# ------------------------------------------- a listing and the other worker
if ((my $a = $one{stall_alone}) && (my $l = $one{stall_sessions})) {
    my $z = $one{zone_64m};
    my $ratio = $a->{get}{p99_us} ? $l->{get}{p99_us} / $a->{get}{p99_us} : 0;
    # a GET that comes during a slice waits for its end (a slice: 1,024
    # sessions read); one lock for the whole listing was ×166 (p99 14.5 ms
    # against 87 µs alone, 127,216 sessions)
    my $met = $ratio > 0 && $ratio <= 5;
    $F->{listing_stall} = { alone => $a, with_listings => $l,
                            p99_ratio => sprintf('%.2f', $ratio) + 0,
                            target => 'p99 <= 5 x alone', met => bool($met) };
    push @rows, [sprintf('`GET /runs/{id}` in one worker while `GET /sessions` lists %s sessions (matching none) without pause in the other',
                         $z ? commas($z->{created}) : 'a full zone of'),
        sprintf('p50 %s, p99 %s, max %s (n = %d, %d listings meanwhile); alone: p50 %s, p99 %s (n = %d); p99 ×%.2f',
                ms($l->{get}{p50_us}), ms($l->{get}{p99_us}), ms($l->{get}{max_us}), $l->{get}{n},
                $l->{load_answers}, ms($a->{get}{p50_us}), ms($a->{get}{p99_us}), $a->{get}{n}, $ratio),
        'p99 ≤ 5 × alone', $met ? 'met' : 'missed'];
}

if (my $z = $one{zone_64m_done}) {
    my $zone = 64 * 1024 * 1024;
    my $n = $z->{completed};
    if ($n) {
        my $bytes = $z->{prompt_bytes} + $z->{name_bytes_mean} + $z->{result_bytes} + $z->{log_bytes};
        my $per = $zone / $n;
        $F->{zone_bytes_per_finished_run} = {
            zone_bytes => $zone, runs_held => $n, stopped_by => $z->{stopped_by},
            bytes_per_run => sprintf('%.1f', $per) + 0,
            content_bytes_per_run => sprintf('%.1f', $bytes) + 0,
            beyond_content => sprintf('%.1f', $per - $bytes) + 0,
            result_bytes => $z->{result_bytes}, log_bytes => $z->{log_bytes},
        };
        push @rows, [sprintf('zone bytes per finished run (100-byte prompt, %g KB result, %g KB log)',
                             $z->{result_bytes} / 1024, $z->{log_bytes} / 1024),
            sprintf('%s bytes per run, %s beyond its %s bytes of strings, result and log; a 64 MB zone holds %s such runs before it gives up the first one\'s log (%s)',
                    commas($per), commas($per - $bytes), commas($bytes), commas($n), $z->{stopped_by}),
            'report it', 'reported'];
    }
}

# ------------------------------------------------------ event streams
if (my $e = $one{events}) {
    my $s = $e->{each_stream};
    my $a = $e->{all_streams};
    my $met = $a->{n} > 0 && $a->{p99_us} <= 50000 && $e->{idle_cpu_percent} < 1;
    $F->{events} = { %$e, target => 'p99 ≤ 50 ms to all, idle CPU < 1 %', met => bool($met) };
    push @rows, [sprintf('a change → %s event streams (`GET /events`, both workers)', commas($e->{streams})),
        sprintf('to each stream p50 %s, p99 %s; to the last of them p50 %s, p99 %s (%d changes); %.0f s idle: nginx CPU %.2f %%',
                ms($s->{p50_us}), ms($s->{p99_us}), ms($a->{p50_us}), ms($a->{p99_us}),
                $a->{n}, $e->{idle_seconds}, $e->{idle_cpu_percent}),
        'p99 ≤ 50 ms to all, idle ≈ 0 (< 1 %)', $met ? 'met' : 'missed'];
}

# ---------------------------------------------------------------- MCP
if (my $m = $one{mcp_rtt}) {
    my ($s, $w) = ($m->{mcp_sync}, $m->{post_wait});
    $F->{mcp_rtt} = { %$m, target => 'reported beside POST + ?wait=', met => bool(1) };
    push @rows, ['a sync `start_agent_session` over MCP, echo executor (create → claim → run → result → answer)',
        sprintf('p50 %s, p99 %s (n = %d); the same run as `runsctl start --wait` makes it (POST /runs, GET ?wait=): p50 %s, p99 %s',
                ms($s->{p50_us}), ms($s->{p99_us}), $s->{n}, ms($w->{p50_us}), ms($w->{p99_us})),
        'report it', 'reported'];
}
if (my $i = $one{mcp_idle}) {
    my $ok = $i->{answered_during} == 0 && $i->{answered_before} == 0;
    my $met = $ok && $i->{cpu_percent} < 1;
    $F->{mcp_idle} = { %$i, target => 'nginx CPU < 1 %', met => bool($met) };
    push @rows, [sprintf('%s held sync MCP calls, %.0f s idle', commas($i->{held}), $i->{seconds}),
        sprintf('nginx CPU %.2f %% (%d ticks)%s', $i->{cpu_percent}, $i->{cpu_ticks},
                $ok ? '' : ' — some calls were answered early!'),
        'nginx CPU < 1 %', $met ? 'met' : 'missed'];
}

# -------------------------------------------------------------- idle
if (my $i = $one{idle_cpu}) {
    my $ok = $i->{answered_during} == 0 && $i->{answered_before} == 0;
    my $met = $ok && $i->{cpu_percent} < 1;
    $F->{idle_cpu} = { %$i, target => 'nginx CPU < 1 %', met => bool($met) };
    push @rows, [sprintf('%s held long-polls, %.0f s idle', commas($i->{polls}), $i->{seconds}),
        sprintf('nginx CPU %.2f %% (%d ticks of 1/%d s over master + workers)%s',
                $i->{cpu_percent}, $i->{cpu_ticks}, $i->{hz},
                $ok ? '' : ' — some polls were answered early!'),
        'nginx CPU < 1 %', $met ? 'met' : 'missed'];
}

# ------------------------------------------------------- end to end
if (my $e = $one{e2e}) {
    $F->{end_to_end} = $e;
    if ($e->{skipped}) {
        push @rows, ['end to end through one agent-runner, echo executor',
                     "skipped: $e->{skipped}", 'report it', 'skipped'];
    } else {
        my ($b, $s) = ($e->{burst}, $e->{sequential});
        push @rows, ['end to end through one agent-runner (`--max-concurrent 8`), echo executor',
            sprintf('%.0f runs/s (%d runs created at once, %d completed, %.2f s); CPU per run: nginx %.2f ms, runner %.2f ms, executor %.2f ms. One run alone: create→completed p50 %s (claim %s, start %s, execute %s; ms timestamps)',
                    $b->{runs_per_s}, $b->{runs}, $b->{completed}, $b->{seconds},
                    1000 * $b->{cpu_s}{nginx} / $b->{runs}, 1000 * $b->{cpu_s}{runner} / $b->{runs},
                    1000 * $b->{cpu_s}{executors} / $b->{runs},
                    ms($s->{client_create_to_completed}{p50_us}),
                    ms($s->{created_to_claimed}{p50_us}), ms($s->{claimed_to_started}{p50_us}),
                    ms($s->{started_to_completed}{p50_us})),
            'report it', 'reported'];
    }
}

$res{total_seconds} = $one{total}{seconds};

# -------------------------------------------------------------- write
my $m = $one{machine};
my $md = sprintf("Machine: %d cores (%s), %s, Linux %s, %s MB RAM; wrk %s. %s, commit %s.\n"
               . "Settings: %d nginx workers; wrk %d threads, %d connections, %d s per figure after a %d s warm-up, %d repetitions, median quoted. Whole bench: %s s.\n\n",
    $m->{nproc}, $m->{cpu_model}, $m->{nginx}, $m->{kernel}, $m->{mem_mb}, $m->{wrk}, $m->{date},
    $m->{commit} // '?',
    @{ $m->{settings} }{qw(workers wrk_threads wrk_conns seconds warmup_s reps)},
    $one{total}{seconds} // '?');

my @other = map { @{ $F->{$_}{other_pct_reps} || [] } }
            grep { $F->{$_} } qw(ceiling_get ceiling_post get_run list_runs post_runs get_run_done post_runs_done);
if (@other) {
    my ($max) = sort { $b <=> $a } @other;
    $res{other_load_pct_max} = $max;
    $md .= sprintf("Other processes on the machine used %.1f %% of its CPU (median over the throughput runs; at most %.1f %%): %s\n\n",
                   median(@other), $max,
                   $max > 10 ? 'the machine was not quiet, the figures are noisier than usual' : 'the machine was quiet');
}
$md .= "| figure | result | target | verdict |\n|---|---|---|---|\n";
$md .= join('', map { '| ' . join(' | ', @$_) . " |\n" } @rows);

open my $mo, '>', "$out/results.md" or die "$out/results.md: $!\n";
binmode $mo, ':utf8';
print $mo $md;
close $mo;

open my $jo, '>', "$out/results.json" or die "$out/results.json: $!\n";
binmode $jo, ':utf8';
print $jo $json->encode(\%res);
close $jo;

if ($doc) {
    open my $di, '<:utf8', $doc or die "$doc: $!\n";
    local $/;
    my $text = <$di>;
    close $di;
    $text =~ s/(<!-- bench:results:begin -->\n).*?(<!-- bench:results:end -->)/$1$md$2/s
        or die "$doc: no <!-- bench:results:begin/end --> markers\n";
    open my $do, '>:utf8', "$doc.new" or die "$doc.new: $!\n";
    print $do $text;
    close $do or die "$doc.new: $!\n";
    rename "$doc.new", $doc or die "$doc: $!\n";
    print STDERR "==> results written into $doc\n";
}

binmode STDOUT, ':utf8';
print $md;
