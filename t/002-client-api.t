# Client API (runs_api): POST /runs, GET /runs, GET /runs/{id}; every
# success and error of SPEC section 3 / docs/API.md.

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local ();
use Encode ();
use JSON::PP ();

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

our @FIELDS = qw(run_id type session_name agent_name prompt project_dir
                 parent_session_name status launcher_id error created_at
                 claimed_at started_at completed_at);

# well-formed JSON that breaks a rule: 422
our @BAD_422 = (
    '[]',
    '"a string"',
    '42',
    'null',
    'true',
    '{}',
    '{"session_name":"s1","prompt":"p"}',
    '{"type":"start_session","prompt":"p"}',
    '{"type":"start_session","session_name":"s1"}',
    '{"type":1,"session_name":"s1","prompt":"p"}',
    '{"type":null,"session_name":"s1","prompt":"p"}',
    '{"type":"start_session","session_name":7,"prompt":"p"}',
    '{"type":"start_session","session_name":true,"prompt":"p"}',
    '{"type":"start_session","session_name":null,"prompt":"p"}',
    '{"type":"start_session","session_name":"s1","prompt":{}}',
    '{"type":"start_session","session_name":"s1","prompt":["p"]}',
    '{"type":"start_session","session_name":"s1","prompt":null}',
    '{"type":"start_session","session_name":"s1","prompt":""}',
    '{"type":"start","session_name":"s1","prompt":"p"}',
    '{"type":"start_job","session_name":"s1","prompt":"p"}',
    '{"type":"START_SESSION","session_name":"s1","prompt":"p"}',
    '{"type":"","session_name":"s1","prompt":"p"}',
    '{"type":"start_session","session_name":"","prompt":"p"}',
    '{"type":"start_session","session_name":"-lead","prompt":"p"}',
    '{"type":"start_session","session_name":".dot","prompt":"p"}',
    '{"type":"start_session","session_name":"_under","prompt":"p"}',
    '{"type":"start_session","session_name":"has space","prompt":"p"}',
    '{"type":"start_session","session_name":"slash/name","prompt":"p"}',
    '{"type":"start_session","session_name":"caf\u00e9","prompt":"p"}',
    '{"type":"start_session","session_name":"nul\u0000x","prompt":"p"}',
    '{"type":"start_session","session_name":"' . ('a' x 61) . '","prompt":"p"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","agent_name":"bad name"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","agent_name":5}',
    '{"type":"start_session","session_name":"s1","prompt":"p","agent_name":"' . ('b' x 61) . '"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","parent_session_name":"-x"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","parent_session_name":[]}',
    '{"type":"start_session","session_name":"s1","prompt":"p","project_dir":"srv/app"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","project_dir":"./app"}',
    '{"type":"start_session","session_name":"s1","prompt":"p","project_dir":""}',
    '{"type":"start_session","session_name":"s1","prompt":"p","project_dir":1}',
    '{"type":"resume_session","session_name":"bad name","prompt":"p"}',
);

our @BAD_FILTERS = (
    'status=bogus',
    'status=PENDING',
    'status=running,pending',
    'limit=0',
    'limit=10001',
    'limit=-1',
    'limit=abc',
    'limit=1.5',
    'session_name=bad%20name',
    'session_name=-x',
    'session_name=' . ('c' x 61),
);

sub run_url_ok {
    my ($res, $id) = @_;
    return ($res->{headers}{location} // '') eq "/runs/$id";
}

flow 'a created run reads back with every documented field', 18, sub {
    my $t0 = time;
    my ($id, $res) = create_run(type => 'start_session',
                                session_name => 'fields',
                                prompt => 'Fix the login bug');
    is $res->{status}, 201, 'POST /runs answers 201';
    like $id // '', qr/^run_[0-9a-f]{12}$/, 'run_id is run_ + 12 hex';
    is $res->{headers}{location}, "/runs/" . ($id // ''), 'Location: /runs/{id}';
    is_deeply $res->{json}, { run_id => $id, status => 'pending' },
        'body is {run_id, status: pending}';
    like $res->{headers}{'content-type'} // '', qr{^application/json\b},
        'Content-Type: application/json';

    my ($run, $r) = get_run($id);
    is $r->{status}, 200, 'GET /runs/{id} answers 200';
    like $r->{headers}{'content-type'} // '', qr{^application/json\b},
        'GET answers application/json';
    is ref $run, 'HASH', 'the run is an object';
    $run = {} if ref $run ne 'HASH';
    is_deeply [grep { !exists $run->{$_} } @main::FIELDS], [],
        'every documented field is present (null when unset)';
    is $run->{run_id}, $id, 'run_id';
    is $run->{type}, 'start_session', 'type';
    is $run->{session_name}, 'fields', 'session_name';
    is $run->{prompt}, 'Fix the login bug', 'prompt';
    is $run->{status}, 'pending', 'status';
    is_deeply [map { $run->{$_} } qw(agent_name project_dir
                     parent_session_name launcher_id error claimed_at
                     started_at completed_at)],
              [(undef) x 8], 'unset optional fields are null';
    like $run->{created_at} // '',
        qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
        'created_at is RFC 3339 UTC with milliseconds';
    my $ts;
    if (($run->{created_at} // '') =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z$/)
    {
        $ts = Time::Local::timegm($6, $5, $4, $3, $2 - 1, $1) + $7 / 1000;
    }
    ok defined $ts && abs($ts - $t0) < 5, 'created_at is now (UTC)'
        or diag "created_at $run->{created_at}, now $t0";

    my ($list) = list_runs('session_name=fields');
    is_deeply $list, [$run], 'GET /runs lists the same object';
};

flow 'optional fields are stored and returned', 6, sub {
    my ($id, $res) = create_run(type => 'start_session',
                                session_name => 'opt.fields_1',
                                agent_name => 'coder-2.b',
                                project_dir => '/srv/app',
                                parent_session_name => 'Parent_1',
                                prompt => 'p',
                                unknown_field => { ignored => [1, 2] });
    is $res->{status}, 201, 'created, unknown field ignored';
    my $run = get_run($id) || {};
    is $run->{agent_name}, 'coder-2.b', 'agent_name';
    is $run->{project_dir}, '/srv/app', 'project_dir';
    is $run->{parent_session_name}, 'Parent_1', 'parent_session_name';
    ok !exists $run->{unknown_field}, 'unknown field not stored';

    my ($id2, $res2) = create_run(type => 'start_session',
                                  session_name => 'opt-nulls',
                                  agent_name => undef, project_dir => undef,
                                  parent_session_name => undef, prompt => 'q');
    is $res2->{status}, 201, 'optional fields may be null';
};

flow 'names of 1 and 60 characters are valid', 3, sub {
    my (undef, $r1) = create_run(session_name => 'x');
    is $r1->{status}, 201, '1 character';
    my (undef, $r2) = create_run(session_name => 'Z' . ('9' x 59));
    is $r2->{status}, 201, '60 characters';
    my (undef, $r3) = create_run(session_name => 'a1._-B');
    is $r3->{status}, 201, 'every allowed character class';
};

my $nasty = "h\x{e9}llo \x{4e16}\x{754c} \x{1F600} \"quoted\" 'single' "
          . "back\\slash \\\\ \\u0041 /slash tab\there new\nline cr\rret "
          . "ctl\x01\x02\x1b\x1f del\x7f nul\x00mid \x{2028}\x{2029} "
          . "\x{FEFF}bom \x{10FFFF} end\x00";

flow 'unicode, quotes, backslashes, control characters and NUL round-trip', 9, sub {
    # raw UTF-8 in the request body
    my ($id, $res) = create_run(session_name => 'uni-raw',
                                prompt => $nasty,
                                project_dir => "/srv/\x{e9}t\x{e9}/\"q\"\\ \x{1F600}");
    is $res->{status}, 201, 'created from raw UTF-8';
    my $run = get_run($id) || {};
    ok defined $run->{prompt} && $run->{prompt} eq $nasty,
        'prompt comes back character for character'
        or diag explain [$run->{prompt}];
    is $run->{project_dir}, "/srv/\x{e9}t\x{e9}/\"q\"\\ \x{1F600}",
        'project_dir comes back';
    my $bytes = Encode::encode('UTF-8', $nasty);
    my $got = Encode::encode('UTF-8', $run->{prompt} // '');
    is length($got), length($bytes), 'same number of bytes';

    # everything escaped: \uXXXX, surrogate pairs, \u0000
    my $ascii = JSON::PP->new->ascii->canonical;
    my $body = $ascii->encode({ type => 'start_session',
                                session_name => 'uni-esc',
                                prompt => $nasty });
    like $body, qr/\\u0000/, 'request really carries \u0000';
    my $r2 = Runs::req('POST', '/runs', $body);
    is $r2->{status}, 201, 'created from \u escapes';
    my $run2 = get_run($r2->{json} ? $r2->{json}{run_id} : 'none') || {};
    ok defined $run2->{prompt} && $run2->{prompt} eq $nasty,
        'escaped prompt decodes to the same characters';

    my ($list) = list_runs('session_name=uni-raw');
    ok @$list == 1 && defined $list->[0]{prompt}
       && $list->[0]{prompt} eq $nasty, 'GET /runs lists it intact';

    # the raw response is valid JSON from the first byte to the last
    my $raw = Runs::req('GET', "/runs/$id");
    ok defined Runs::jdec($raw->{body}), 'response is strict JSON';
};

flow 'a large prompt round-trips', 3, sub {
    my $big = join '', map { chr(0x20 + ($_ * 7919) % 95) } 1 .. 600_000;
    $big .= "\x{1F600}" x 1000;
    my ($id, $res) = create_run(session_name => 'big', prompt => $big);
    is $res->{status}, 201, 'created with a ~600 kB prompt';
    my $run = get_run($id) || {};
    is length($run->{prompt} // ''), length($big), 'same length';
    ok(($run->{prompt} // '') eq $big, 'same content');
};

flow 'a refused creation changes nothing', 4, sub {
    my $r = Runs::req('POST', '/runs',
                      '{"type":"start_session","session_name":"half","prompt":""}');
    is $r->{status}, 422, 'empty prompt: 422';
    my ($list) = list_runs('session_name=half');
    is scalar(@$list), 0, 'no run stored';
    my (undef, $r2) = create_run(type => 'resume_session',
                                 session_name => 'half', prompt => 'p');
    is $r2->{status}, 404, 'session not created either: resume is 404';
    my (undef, $r3) = create_run(type => 'start_session',
                                 session_name => 'half', prompt => 'p');
    is $r3->{status}, 201, 'start still possible';
};

flow 'error answers are JSON objects with a detail', 12, sub {
    my @cases = (
        [400, 'POST', '/runs', '{"type":'],
        [404, 'GET', '/runs/run_000000000000', undef],
        [405, 'DELETE', '/runs', undef],
        [409, 'POST', '/runs', { type => 'start_session', session_name => 'first', prompt => 'x' }],
        [422, 'POST', '/runs', '[]'],
        [404, 'GET', '/runs/run_000000000000/nothing', undef],
    );
    for my $c (@cases) {
        my ($want, @req) = @$c;
        my $r = Runs::req(@req);
        is $r->{status}, $want, "$req[0] $req[1]: $want";
        ok(($r->{headers}{'content-type'} // '') =~ m{^application/json\b}
           && ref $r->{json} eq 'HASH' && defined $r->{json}{detail}
           && !ref $r->{json}{detail} && length $r->{json}{detail},
           "$req[0] $req[1]: application/json {\"detail\": \"...\"}");
    }
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: POST /runs: 201, Location, JSON body
--- request
POST /runs
{"type":"start_session","session_name":"first","prompt":"Fix the login bug"}
--- error_code: 201
--- response_headers_like
Location: /runs/run_[0-9a-f]{12}
Content-Type: application/json.*
--- response_body_like: ^\{\s*"run_id"\s*:\s*"run_[0-9a-f]{12}"\s*,\s*"status"\s*:\s*"pending"\s*\}\s*$|^\{\s*"status"\s*:\s*"pending"\s*,\s*"run_id"\s*:\s*"run_[0-9a-f]{12}"\s*\}\s*$



=== TEST 2: a created run reads back with every documented field



=== TEST 3: optional fields are stored and returned



=== TEST 4: names of 1 and 60 characters are valid



=== TEST 5: malformed JSON answers 400
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"x","prompt":',
"POST /runs\n" . '{type: start_session}',
"POST /runs\n" . 'not json at all',
"POST /runs\n" . '{"type":"start_session","session_name":"x","prompt":"p"} trailing',
"POST /runs\n" . "{\"type\":\"start_session\",\"session_name\":\"x\",\"prompt\":\"\xff\xfe bad utf8\"}",
"GET /runs?session_name=x",
]
--- error_code eval
[400, 400, 400, 400, 400, 200]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Malformed JSON: .+"\s*\}\s*$/,
qr/"detail"\s*:\s*"Malformed JSON/,
qr/"detail"\s*:\s*"Malformed JSON/,
qr/"detail"\s*:\s*"Malformed JSON/,
qr/"detail"\s*:\s*"Malformed JSON/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
]



=== TEST 6: an empty body answers 400
--- request
POST /runs
--- more_headers
Content-Length: 0
--- error_code: 400
--- response_body_like: ^\{\s*"detail"\s*:\s*"Request body is required\b[^"]*"\s*\}\s*$



=== TEST 7: a POST without any body answers 400
--- request
POST /runs
--- error_code: 400
--- response_body_like: ^\{\s*"detail"\s*:\s*"Request body is required\b[^"]*"\s*\}\s*$



=== TEST 8: resume of an unknown session answers 404
--- request eval
[
"POST /runs\n" . '{"type":"resume_session","session_name":"nobody","prompt":"again"}',
"GET /runs?session_name=nobody",
]
--- error_code eval
[404, 200]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
]



=== TEST 9: start of an existing session answers 409
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"dup","prompt":"one"}',
"POST /runs\n" . '{"type":"start_session","session_name":"dup","prompt":"two"}',
"GET /runs?session_name=dup",
]
--- error_code eval
[201, 409, 200]
--- response_body_like eval
[
qr/"status"\s*:\s*"pending"/,
qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/,
qr/^(?!.*"two").*"prompt"\s*:\s*"one"/s,
]



=== TEST 10: body over client_max_body_size answers 413
--- config
    location /runs { runs_api runs; client_max_body_size 1k; }
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"big","prompt":"' . ('x' x 2000) . '"}',
"GET /runs?session_name=big",
]
--- error_code eval
[413, 200]
--- response_body_like eval
[
qr/.*/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 11: a body just under client_max_body_size is accepted
--- config
    location /runs { runs_api runs; client_max_body_size 1k; }
--- request eval
"POST /runs\n" . '{"type":"start_session","session_name":"fits","prompt":"' . ('x' x 900) . '"}'
--- error_code: 201
--- response_body_like: "pending"



=== TEST 12: well-formed JSON breaking a rule answers 422
--- request eval
[ (map { "POST /runs\n$_" } @main::BAD_422), "GET /runs" ]
--- error_code eval
[ (422) x @main::BAD_422, 200 ]
--- response_body_like eval
[ (qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/) x @main::BAD_422,
  qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/ ]



=== TEST 13: a refused creation changes nothing



=== TEST 14: GET /runs: oldest first, filters, newest "limit"
--- request eval
[
"POST /runs\n" . '{"type":"start_session","session_name":"la","prompt":"p1"}',
"POST /runs\n" . '{"type":"start_session","session_name":"lb","prompt":"p2"}',
"POST /runs\n" . '{"type":"resume_session","session_name":"la","prompt":"p3"}',
"POST /runs\n" . '{"type":"start_session","session_name":"lc","prompt":"p4"}',
"GET /runs",
"GET /runs?limit=2",
"GET /runs?limit=1",
"GET /runs?limit=10000",
"GET /runs?session_name=la",
"GET /runs?status=pending",
"GET /runs?status=pending&session_name=lb",
"GET /runs?status=completed",
"GET /runs?status=stopped&session_name=la",
"GET /runs?session_name=zz",
"GET /runs?session_name=la&limit=1",
"GET /runs?limit=3&status=pending&session_name=la",
]
--- error_code eval
[201, 201, 201, 201, (200) x 12]
--- response_body_like eval
[
qr/pending/, qr/pending/, qr/pending/, qr/pending/,
qr/^(?=(?:.*?"run_id"){4})(?!(?:.*?"run_id"){5}).*"p1".*"p2".*"p3".*"p4"/s,
qr/^(?!.*"p1")(?!.*"p2")(?=(?:.*?"run_id"){2}).*"p3".*"p4"/s,
qr/^(?!.*"p[123]").*"p4"/s,
qr/^(?=(?:.*?"run_id"){4}).*"p1".*"p2".*"p3".*"p4"/s,
qr/^(?!.*"p2")(?!.*"p4").*"p1".*"p3"/s,
qr/^(?=(?:.*?"run_id"){4})(?!(?:.*?"run_id"){5})/s,
qr/^(?=(?:.*?"run_id"){1})(?!(?:.*?"run_id"){2}).*"p2"/s,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/,
qr/^(?!.*"p1").*"p3"/s,
qr/^(?=(?:.*?"run_id"){2})(?!(?:.*?"run_id"){3}).*"p1".*"p3"/s,
]



=== TEST 15: bad filters answer 422
--- request eval
[ map { "GET /runs?$_" } @main::BAD_FILTERS ]
--- error_code eval
[ (422) x @main::BAD_FILTERS ]
--- response_body_like eval
[ (qr/^\{\s*"detail"\s*:\s*".+"\s*\}\s*$/) x @main::BAD_FILTERS ]



=== TEST 16: GET /runs/{id} of an unknown run answers 404 Run not found
--- request eval
[
"GET /runs/run_000000000000",
"GET /runs/run_ffffffffffff",
"GET /runs/run_0123456789ab?wait=1",
"POST /runs/run_000000000000/stop",
]
--- error_code eval
[404, 404, 404, 404]
--- response_body_like eval
[
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
qr/^\{\s*"detail"\s*:\s*"Run not found"\s*\}\s*$/,
]



=== TEST 17: malformed run ids answer 404
--- request eval
[
"GET /runs/foo",
"GET /runs/run_",
"GET /runs/run_XYZ012345678",
"GET /runs/run_0000000000001",
"GET /runs/job_000000000000",
]
--- error_code eval
[404, 404, 404, 404, 404]
--- response_body_like eval
[ (qr/^\{\s*"detail"\s*:\s*"(?:Run not found|Not found)"\s*\}\s*$/) x 5 ]



=== TEST 18: wrong method on a known path answers 405 with Allow
--- request eval
[
"PUT /runs\n{}",
"DELETE /runs",
"PATCH /runs/run_000000000000\n{}",
"DELETE /runs/run_000000000000",
"GET /runs/run_000000000000/stop",
"PUT /runs/run_000000000000/stop\n{}",
]
--- error_code eval
[405, 405, 405, 405, 405, 405]
--- response_headers_like eval
[
"Allow: (?=.*\\bGET\\b)(?=.*\\bPOST\\b)(?!.*\\bPUT\\b)(?!.*\\bDELETE\\b).*",
"Allow: (?=.*\\bGET\\b)(?=.*\\bPOST\\b)(?!.*\\bPUT\\b)(?!.*\\bDELETE\\b).*",
"Allow: (?=.*\\bGET\\b)(?!.*\\bPOST\\b)(?!.*\\bPATCH\\b).*",
"Allow: (?=.*\\bGET\\b)(?!.*\\bPOST\\b)(?!.*\\bDELETE\\b).*",
"Allow: (?=.*\\bPOST\\b)(?!.*\\bGET\\b).*",
"Allow: (?=.*\\bPOST\\b)(?!.*\\bGET\\b)(?!.*\\bPUT\\b).*",
]
--- response_body_like eval
[ (qr/^\{\s*"detail"\s*:\s*"Method not allowed"\s*\}\s*$/) x 6 ]



=== TEST 19: unknown paths under the prefix answer 404 Not found
--- request eval
[
"GET /runs/run_000000000000/bogus",
"POST /runs/run_000000000000/start\n{}",
"GET /runs/a/b/c",
"GET /runsx",
"POST /runs/run_000000000000/stop/again",
]
--- error_code eval
[404, 404, 404, 404, 404]
--- response_body_like eval
[ (qr/^\{\s*"detail"\s*:\s*"Not found"\s*\}\s*$/) x 5 ]



=== TEST 20: /jobs is not served
--- request eval
[
"GET /jobs",
"POST /jobs\n" . '{"type":"start_session","session_name":"j","prompt":"p"}',
"GET /jobs/job_000000000000",
"GET /runs?session_name=j",
]
--- error_code eval
[404, 404, 404, 200]
--- response_body_like eval
[ qr/.*/, qr/.*/, qr/.*/, qr/^\{\s*"runs"\s*:\s*\[\s*\]\s*\}\s*$/ ]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 21: unicode, quotes, backslashes, control characters and NUL round-trip



=== TEST 22: a large prompt round-trips



=== TEST 23: error answers are JSON objects with a detail
--- request
POST /runs
{"type":"start_session","session_name":"first","prompt":"p"}
--- error_code: 201
--- response_body_like: "pending"
