# JSON in and out: the module's own reader (strict RFC 8259, UTF-8 checked,
# escapes decoded) and writer (escapes what JSON needs, nothing else).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Encode ();
use JSON::PP ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

sub body_for {
    my ($prompt_json) = @_;
    my $name = Runs::uniq_name('j');
    return '{"type":"start_session","session_name":"' . $name
           . '","prompt":' . $prompt_json . '}';
}

# the prompt as stored, read back with GET /runs/{id} (bytes, UTF-8)
sub prompt_back {
    my ($prompt_json) = @_;
    my $res = req('POST', '/runs', body_for($prompt_json));
    return (undef, $res) if $res->{status} != 201;
    my $get = req('GET', "/runs/$res->{json}{run_id}");
    my $p = $get->{json} ? $get->{json}{prompt} : undef;
    return (defined $p ? Encode::encode('UTF-8', $p) : undef, $get);
}

flow 'escapes are decoded and written back as the same text', 10, sub {
    my @cases = (
        [ '"quote \" back \\\\ slash \/ solidus"', "quote \" back \\ slash / solidus" ],
        [ '"\b\f\n\r\t"', "\b\f\n\r\t" ],
        [ '"\u0041\u00e9\u20ac"', "A\xc3\xa9\xe2\x82\xac" ],
        [ '"pair \ud83d\ude00 end"', "pair \xf0\x9f\x98\x80 end" ],
        [ '"nul \u0000 inside"', "nul \x00 inside" ],
        [ '"ctl \u0001\u001f"', "ctl \x01\x1f" ],
        [ "\"raw caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
          "raw caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" ],
        [ '"DEL \u007f and \u2028"', "DEL \x7f and \xe2\x80\xa8" ],
        [ '"upper \u00E9 hex"', "upper \xc3\xa9 hex" ],
    );
    for my $c (@cases) {
        my ($got) = prompt_back($c->[0]);
        is $got, $c->[1], "prompt $c->[0]";
    }

    # control characters go out escaped, the body is one line of JSON
    my $res = req('POST', '/runs', body_for('"a\u0001b\nc"'));
    my $raw = req('GET', "/runs/$res->{json}{run_id}")->{body};
    ok $raw =~ /"prompt":"a\\u0001b\\nc"/ && $raw !~ /[\x00-\x09\x0b-\x1f]/
       && $raw =~ /\}\n\z/, 'written escaped: \u0001 and \n';
};

flow 'malformed text answers 400 with where reading stopped', 24, sub {
    my @bad = (
        [ '"lone \ud800 high"', 'lone surrogate' ],
        [ '"lone \udc00 low"', 'lone surrogate' ],
        [ '"high \ud800\u0041 then not low"', 'lone surrogate' ],
        [ '"bad \x escape"', 'invalid escape' ],
        [ '"bad \u12g4 hex"', '\u escape' ],
        [ '"short \u12"', '\u escape' ],
        [ "\"overlong \xc0\x80\"", 'UTF-8' ],
        [ "\"utf8 surrogate \xed\xa0\x80\"", 'UTF-8' ],
        [ "\"above max \xf4\x90\x80\x80\"", 'UTF-8' ],
        [ "\"cut \xe2\x82\"", 'UTF-8' ],
        [ "\"raw tab \t in string\"", 'control character' ],
        [ '"unterminated', 'unterminated' ],
    );
    for my $b (@bad) {
        my $res = req('POST', '/runs', body_for($b->[0]));
        is $res->{status}, 400, "400 for $b->[0]";
        my $d = $res->{json} ? $res->{json}{detail} // '' : '';
        ok $d =~ /^Malformed JSON: .*\(line \d+, column \d+\)$/
           && index($d, $b->[1]) >= 0, "detail names the fault: $d";
    }
};

flow 'numbers, literals and structure follow RFC 8259', 18, sub {
    my @bad = ('01', '1.', '-', '.5', '1e', '+1', 'tru', 'nul', '[1,]',
               '{"a":1,}', '{"a" 1}', '{1:2}');
    for my $v (@bad) {
        my $b = body_for('"p"');
        $b =~ s/\}$/,"extra":$v}/;
        my $res = req('POST', '/runs', $b);
        is $res->{status}, 400, "400 for member value $v";
    }

    my @good = ('0', '-0.5e+10', '1E-2', '[1,[2,{"x":[]}],"s"]',
                '{"k":{"k":null}}', 'false');
    for my $v (@good) {
        my $b = body_for('"p"');
        $b =~ s/\}$/,"extra":$v}/;
        my $res = req('POST', '/runs', $b);
        is $res->{status}, 201, "unknown member $v is skipped";
    }
};

flow 'nesting: 63 levels inside a member are read, 64 are refused', 2, sub {
    my $ok = body_for('"p"');
    $ok =~ s/\}$/,"deep":${\('[' x 63)}${\(']' x 63)}}/;
    is req('POST', '/runs', $ok)->{status}, 201, '63 levels';
    my $bad = body_for('"p"');
    $bad =~ s/\}$/,"deep":${\('[' x 64)}${\(']' x 64)}}/;
    is req('POST', '/runs', $bad)->{status}, 400, '64 levels: 400';
};

flow 'a repeated member: the last one counts', 2, sub {
    my $name = Runs::uniq_name('dup');
    my $res = req('POST', '/runs', '{"type":"start_session","session_name":"'
                  . $name . '","prompt":"first","prompt":"second"}');
    is $res->{status}, 201, 'created';
    is get_run($res->{json}{run_id})->{prompt}, 'second', 'prompt is the last';
};

flow 'whitespace anywhere between tokens, none required', 2, sub {
    my $name = Runs::uniq_name('ws');
    my $res = req('POST', '/runs', " \r\n\t{ \"type\" :\t\"start_session\" ,\n"
                  . "\"session_name\"\r\n:\"$name\",\"prompt\":\"p\"\n}\n\n ");
    is $res->{status}, 201, 'spaced out';
    $name = Runs::uniq_name('ws');
    $res = req('POST', '/runs', '{"type":"start_session","session_name":"'
               . $name . '","prompt":"p"}');
    is $res->{status}, 201, 'packed';
};

flow 'the signal of a stopped report: string, integer or null', 4, sub {
    my $lid = register_launcher();
    my @ids;
    for (1 .. 4) {
        push @ids, create_run(prompt => "sig $_");
    }
    my @claimed;
    for (1 .. 4) {
        my $run = claim($lid);
        push @claimed, $run->{run_id} if $run;
    }
    my @sig = ('"SIGTERM"', '15', 'null', '1.5');
    my @want = (200, 200, 200, 422);
    for my $i (0 .. 3) {
        my $res = req('POST', "/launcher/runs/$claimed[$i]/stopped",
                      '{"launcher_id":"' . $lid . '","signal":' . $sig[$i] . '}');
        is $res->{status}, $want[$i], "signal $sig[$i]: $want[$i]";
    }
};

# Random edits of valid bodies, judged against JSON::PP (strict): what it
# refuses must answer 400, what it reads must not; every answer is JSON.
my $FUZZ_N = $ENV{TEST_NGINX_USE_VALGRIND} ? 300 : 2000;

flow 'randomly edited bodies: 400 exactly when JSON::PP refuses them', 3, sub {
    my $seed = $ENV{TEST_RUNS_FUZZ_SEED} // time;
    srand($seed);
    my $pp = JSON::PP->new->utf8->allow_nonref;
    my @alphabet = (split(//, '{}[]":,\\/ u0123456789abcdefnrtl.-+eE'),
                    "\n", "\t", "\x01");
    my ($wrong, $notjson, $sent) = (0, 0, 0);
    my $c = Runs::conn();
    for my $i (1 .. $FUZZ_N) {
        my $b = body_for('"p ' . $i . '"');
        $b =~ s/\}$/,"x":[1,{"y":null,"z":-2.5e3}],"w":"\\u00e9\\n"}/;
        for (1 .. 1 + int(rand(3))) {
            my $at = int(rand(length($b) + 1));
            my $op = int(rand(4));
            if ($op == 0 && length $b) {
                substr($b, $at, 1, '');
            } elsif ($op == 1) {
                substr($b, $at, 0, $alphabet[rand @alphabet]);
            } elsif ($op == 2) {
                substr($b, $at, 1, $alphabet[rand @alphabet]);
            } else {
                my $len = int(rand(8));
                substr($b, $at, 0, substr($b, int(rand(length $b)), $len));
            }
        }
        my $v = eval { $pp->decode($b) };
        my $refused = $@ ? 1 : 0;
        my $res = eval { $c->request('POST', '/runs', $b) };
        if (!$res || !$res->{status}) {
            $c = Runs::conn();
            $res = Runs::req('POST', '/runs', $b);
        }
        $sent++;
        my $st = $res->{status};
        if (!$res->{json} || ref $res->{json} ne 'HASH') {
            $notjson++;
            diag("not JSON ($st) for body: $b") if $notjson <= 3;
        }
        if (($refused && $st != 400) || (!$refused && ($st == 400 || $st >= 500))) {
            $wrong++;
            diag("seed $seed: " . ($refused ? 'JSON::PP refuses' : 'JSON::PP reads')
                 . ", nginx answered $st: $b") if $wrong <= 5;
        }
    }
    $c->close;
    is $sent, $FUZZ_N, "$FUZZ_N edited bodies sent (seed $seed)";
    is $wrong, 0, 'the status matches JSON::PP\'s verdict for every body';
    is $notjson, 0, 'every answer is a JSON object';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: escapes are decoded and written back as the same text



=== TEST 2: malformed text answers 400 with where reading stopped



=== TEST 3: numbers, literals and structure follow RFC 8259



=== TEST 4: where a malformed body stops is told by line and column
--- request eval
"POST /runs\n{\n  \"type\": \"start_session\",\n  oops\n}"
--- error_code: 400
--- response_body_like: ^\{\s*"detail"\s*:\s*"Malformed JSON: .*\(line 3, column 3\)"\s*\}\s*$



=== TEST 5: nesting: 63 levels inside a member are read, 64 are refused



=== TEST 6: a repeated member: the last one counts



=== TEST 7: whitespace anywhere between tokens, none required



=== TEST 8: the signal of a stopped report: string, integer or null



=== TEST 9: randomly edited bodies: 400 exactly when JSON::PP refuses them
--- no_error_log
[alert]
[emerg]
[crit]
