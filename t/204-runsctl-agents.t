# runsctl agents: the coordinator's blueprint registry (runs_agents_api)
# from the command line.  Every subcommand's output (table, key: value,
# "NAME created" lines, --json) and exit status; usage errors (exit 2,
# nothing sent); the server's refusals (404, 409, 422 for a run of an
# inactive blueprint: exit 1); an unreachable server (exit 3); where the
# agents API is (--agents-url, RUNS_AGENTS_URL, the coordinator's URL and
# /agents).  import reads the folders of t/blueprints/ as they are: the
# reference's format (agent.json with name, description, tags, skills;
# agent.system-prompt.md; agent.mcp.json with http and stdio servers and
# placeholders; .disabled) and this product's (system-prompt.md, mcp.json,
# agent.json with settings); each blueprint in the registry is the
# folder, byte for byte; a folder with an unknown key is refused naming
# the file and the key; --replace makes an existing one the folder again
# (members the folder lacks cleared, status as .disabled says).  The
# registry survives a reload (HUP) and restarts with runs_journal (-s
# quit, SIGKILL of every nginx process).
#
# The binary is $TEST_RUNS_BIN/runsctl (build.sh: build/asan); every flow
# fails if runsctl printed a sanitizer report.

use FindBin;
use lib "$FindBin::Bin/inc";

BEGIN {
    require Runs;
    Runs::route_startup_log();
}

use Test::Nginx::Socket;
use Runs qw(:DEFAULT runsctl runsctl_url no_sanitizer_reports);
use RunsJournal;
use Test::More;
use Time::HiRes qw(sleep time);
use File::Temp ();
use IO::Socket::INET ();

repeat_each(1);
no_long_string();
no_shuffle();
master_on();
workers(2);

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $BP = "$FindBin::Bin/blueprints";

# a port nothing listens on
sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "listen: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub read_bytes {
    my ($path) = @_;
    open my $f, '<:raw', $path or return undef;
    local $/;
    my $t = <$f>;
    close $f;
    return $t;
}

sub write_bytes {
    my ($path, $text) = @_;
    open my $f, '>:raw', $path or die "$path: $!\n";
    print {$f} $text;
    close $f;
}

# the blueprint the registry should hold for folder $name of t/blueprints,
# read here from its files: the registry's shape without status and times
sub folder_bp {
    my ($name) = @_;
    my $dir = "$BP/$name";
    my $j = Runs::jdec(read_bytes("$dir/agent.json") // '{}') || {};
    my %bp = (name => $name);
    for my $k (qw(description skills model permission_mode allowed_tools
                  disallowed_tools max_turns)) {
        $bp{$k} = $j->{$k} if defined $j->{$k};
    }
    $bp{tags} = [ sort @{ $j->{tags} } ] if $j->{tags} && @{ $j->{tags} };
    for my $f ('agent.system-prompt.md', 'system-prompt.md') {
        my $t = read_bytes("$dir/$f");
        if (defined $t && length $t) {
            utf8::decode($t);
            $bp{system_prompt} = $t;
        }
    }
    for my $f ('agent.mcp.json', 'mcp.json') {
        my $m = Runs::jdec(read_bytes("$dir/$f") // '');
        $bp{mcp_servers} = $m->{mcpServers} if $m && %{ $m->{mcpServers} || {} };
    }
    return \%bp;
}

# the registry's blueprint, without status and times (undef: none)
sub registry_bp {
    my ($name) = @_;
    my $r = Runs::req('GET', "/agents/$name");
    return undef if $r->{status} != 200 || !$r->{json};
    my %bp = %{ $r->{json} };
    delete @bp{qw(status created_at modified_at)};
    return \%bp;
}

sub status_of_bp {
    my ($name) = @_;
    my $r = Runs::req('GET', "/agents/$name");
    return $r->{status} == 200 ? ($r->{json} || {})->{status} // '' : "HTTP $r->{status}";
}

sub names_listed {
    my $r = Runs::req('GET', '/agents');
    return join ',', map { $_->{name} } @{ $r->{json} || [] };
}

# the columns of a table line split on runs of 2+ spaces
sub cols { [ split /\s{2,}/, $_[0] ] }

flow 'help and usage errors: exit 2, nothing sent', 15, sub {
    my $dir = File::Temp->newdir('bp-files-XXXXXX', TMPDIR => 1);
    write_bytes("$dir/extra.json", '{"mcpServers": {}, "other": 1}');

    my $r = runsctl(['help', 'agents']);
    my $subs = join ' ', grep { $r->{out} !~ /runsctl agents \Q$_\E\b/ }
                          qw(list show create edit delete enable disable import);
    ok $r->{rc} == 0 && $subs eq '' && $r->{out} =~ /--agents-url URL/,
        'help agents: every subcommand and --agents-url' or diag "missing: $subs\n$r->{out}";
    $r = runsctl(['help']);
    like $r->{out}, qr/^  agents list\|show\|create\|edit\|delete\|enable\|disable\|import /m,
        'help lists the agents group';

    my @usage = (
        [['agents'], qr/missing arguments/, 'agents alone'],
        [['agents', 'bogus'], qr/no subcommand 'bogus'/, 'an unknown subcommand'],
        [['agents', 'list', '--description', 'x'], qr/agents list takes no option --description/,
         'an option of another subcommand'],
        [['agents', 'create', 'x'], qr/needs --description/, 'create without --description'],
        [['agents', 'edit', 'x'], qr/nothing to change/, 'edit without a change'],
        [['agents', 'show', 'bad name'], qr/'bad name' is not a blueprint name/, 'a bad name'],
        [['agents', 'show', 'a', 'b'], qr/unexpected argument 'b'/, 'one name too many'],
        [['agents', 'create', 'x', '--description', 'd', '--tag', 'no good'],
         qr/--tag 'no good' is not a name/, 'a tag that is not a name'],
        [['agents', 'create', 'x', '--description', 'd', '--mcp-file', "$dir/none.json"],
         qr/\Q$dir\E\/none\.json: /, 'an --mcp-file that is not there'],
        [['agents', 'create', 'x', '--description', 'd', '--mcp-file', "$dir/extra.json"],
         qr/\Q$dir\E\/extra\.json: unknown key "other"/, 'an --mcp-file with another key'],
        [['agents', 'import'], qr/agents import: missing arguments/, 'import without a folder'],
    );
    for my $u (@usage) {
        my ($args, $re, $what) = @$u;
        my $x = runsctl($args);
        ok $x->{rc} == 2 && $x->{err} =~ $re && $x->{out} eq '', "$what: exit 2"
            or diag explain $x;
    }
    is names_listed(), '', 'nothing reached the registry';
    no_sanitizer_reports();
};

flow 'create, show, list, edit, enable, disable, delete: output, --json and the server\'s errors', 33, sub {
    my $dir = File::Temp->newdir('bp-files-XXXXXX', TMPDIR => 1);
    write_bytes("$dir/prompt.md", "You write code.\nSmall changes.\n");
    write_bytes("$dir/mcp.json", '{"mcpServers": {"files": {"command": "files-mcp", "args": ["-r"]}, '
          . '"docs": {"type": "http", "url": "http://docs.invalid/mcp", '
          . '"headers": {"X-S": "${AGENT_SESSION_NAME}"}}}}');
    write_bytes("$dir/none.json", '{"mcpServers": {}}');
    write_bytes("$dir/empty.md", '');

    my $r = runsctl(['agents', 'create', 'coder', '--description', 'Writes code',
                     '--system-prompt-file', "$dir/prompt.md", '--mcp-file', "$dir/mcp.json",
                     '--tag', 'b,a', '--tag', 'c', '--skill', 'tests', '--skill', 'docs']);
    ok $r->{rc} == 0 && $r->{out} eq "coder created\n" && $r->{err} eq '',
        'create: "coder created", exit 0' or diag explain $r;
    is_deeply registry_bp('coder'), {
        name => 'coder', description => 'Writes code',
        system_prompt => "You write code.\nSmall changes.\n",
        mcp_servers => { files => { command => 'files-mcp', args => ['-r'] },
                         docs => { type => 'http', url => 'http://docs.invalid/mcp',
                                   headers => { 'X-S' => '${AGENT_SESSION_NAME}' } } },
        tags => ['a', 'b', 'c'], skills => ['tests', 'docs'] },
        'the registry has it: the files whole, tags sorted, skills in order';
    is status_of_bp('coder'), 'active', 'active';

    $r = runsctl(['agents', 'create', 'coder', '--description', 'again']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Agent already exists: coder (HTTP 409)\n"
       && $r->{out} eq '', 'create again: the server\'s 409, exit 1' or diag explain $r;

    $r = runsctl(['agents', 'create', 'reviewer', '--description', 'Reviews diffs',
                  '--tag', 'b', '--json']);
    my $srv = Runs::req('GET', '/agents/reviewer');
    ok $r->{rc} == 0 && $r->{json} && $srv->{json}, 'create --json: exit 0';
    is_deeply $r->{json}, $srv->{json}, 'create --json: the server\'s answer, the blueprint';

    # list
    $r = runsctl(['agents', 'list']);
    my @l = split /\n/, $r->{out};
    ok $r->{rc} == 0 && @l == 3, 'list: a header and two rows' or diag $r->{out};
    is_deeply cols($l[0]), ['NAME', 'STATUS', 'TAGS', 'SKILLS', 'MCP SERVERS', 'MODEL', 'DESCRIPTION'],
        'list: its columns';
    is_deeply [ cols($l[1]), cols($l[2]) ],
        [ ['coder', 'active', 'a,b,c', 'tests,docs', 'files,docs', '-', 'Writes code'],
          ['reviewer', 'active', 'b', '-', '-', '-', 'Reviews diffs'] ],
        'list: by name, lists joined with commas, - for none' or diag $r->{out};
    $r = runsctl(['agents', 'list', '--tags', 'a']);
    ok $r->{rc} == 0 && $r->{out} =~ /^coder /m && $r->{out} !~ /^reviewer/m,
        'list --tags a: coder alone' or diag $r->{out};
    $r = runsctl(['agents', 'list', '--tags', 'b', '--json']);
    is_deeply [ map { $_->{name} } @{ $r->{json} || [] } ], ['coder', 'reviewer'],
        'list --tags b --json: the server\'s array, both';
    is $r->{out} =~ s/\n\z//r, Runs::req('GET', '/agents?tags=b')->{body} =~ s/\n\z//r,
        'list --json: byte for byte';

    # show
    $r = runsctl(['agents', 'show', 'coder']);
    ok $r->{rc} == 0 && $r->{out} =~ /\Aname:\s+coder\ndescription:\s+Writes code\nstatus:\s+active\ntags:\s+\["a","b","c"\]\n/
       && $r->{out} =~ /^system_prompt:\s+You write code\.\n\s+Small changes\.\n\z/m,
       'show: key: value lines, name first, the system prompt last' or diag $r->{out};
    $r = runsctl(['agents', 'show', 'coder', '--json']);
    is_deeply $r->{json}, Runs::req('GET', '/agents/coder')->{json}, 'show --json: the server\'s';
    $r = runsctl(['agents', 'show', 'nobody']);
    ok $r->{rc} == 1 && $r->{err} eq "runsctl: Agent not found: nobody (HTTP 404)\n",
        'show of no blueprint: the server\'s 404, exit 1' or diag explain $r;

    # edit: what is given changes, the rest stays
    $r = runsctl(['agents', 'edit', 'coder', '--description', 'Writes and tests code']);
    my $bp = registry_bp('coder') || {};
    ok $r->{rc} == 0 && $r->{out} eq "coder updated\n"
       && $bp->{description} eq 'Writes and tests code'
       && "@{ $bp->{tags} || [] }" eq 'a b c' && $bp->{system_prompt},
       'edit --description: "coder updated", the rest kept' or diag explain $r, $bp;
    $r = runsctl(['agents', 'edit', 'coder', '--tag', 'x', '--skill', '']);
    $bp = registry_bp('coder') || {};
    ok $r->{rc} == 0 && "@{ $bp->{tags} || [] }" eq 'x' && !exists $bp->{skills},
        'edit --tag x --skill \'\': the tags replaced, the skills cleared' or diag explain $bp;
    $r = runsctl(['agents', 'edit', 'coder', '--system-prompt-file', "$dir/empty.md",
                  '--mcp-file', "$dir/none.json"]);
    $bp = registry_bp('coder') || {};
    ok $r->{rc} == 0 && !exists $bp->{system_prompt} && !exists $bp->{mcp_servers},
        'edit with an empty prompt file and no servers: both cleared' or diag explain $bp;
    $r = runsctl(['agents', 'edit', 'coder', '--tag', '', '--json']);
    ok $r->{rc} == 0 && $r->{json} && !exists $r->{json}{tags}
       && $r->{json}{description} eq 'Writes and tests code',
       'edit --tag \'\' --json: the tags cleared, the server\'s blueprint printed'
       or diag explain $r;
    $r = runsctl(['agents', 'edit', 'nobody', '--description', 'x']);
    ok $r->{rc} == 1 && $r->{err} =~ /Agent not found: nobody \(HTTP 404\)/,
        'edit of no blueprint: 404, exit 1';

    # disable: a run of it is refused; enable: taken again
    $r = runsctl(['agents', 'disable', 'coder']);
    ok $r->{rc} == 0 && $r->{out} eq "coder inactive\n" && status_of_bp('coder') eq 'inactive',
        'disable: "coder inactive"' or diag explain $r;
    my $run = Runs::req('POST', '/runs', { type => 'start_session', session_name => 'bp-1',
                                           prompt => 'hi', agent_name => 'coder' });
    ok $run->{status} == 422 && ($run->{json} || {})->{detail} =~ /'coder' is inactive/,
        'a run of an inactive blueprint: 422' or diag explain $run;
    $r = runsctl(['start', 'bp-1', 'hi', '--agent', 'coder']);
    ok $r->{rc} == 1 && $r->{err} =~ /^runsctl: Agent blueprint 'coder' is inactive: .* \(HTTP 422\)$/,
        'runsctl start with it: the 422, exit 1' or diag explain $r;
    $r = runsctl(['agents', 'enable', 'coder', '--json']);
    ok $r->{rc} == 0 && ($r->{json} || {})->{status} eq 'active', 'enable --json: active';
    $r = runsctl(['start', 'bp-1', 'hi', '--agent', 'coder']);
    ok $r->{rc} == 0 && $r->{out} =~ /^run_[0-9a-f]{12} pending$/, 'and its run is taken'
        or diag explain $r;

    # delete
    $r = runsctl(['agents', 'delete', 'reviewer']);
    ok $r->{rc} == 0 && $r->{out} eq "reviewer deleted\n" && status_of_bp('reviewer') eq 'HTTP 404',
        'delete: "reviewer deleted", gone' or diag explain $r;
    $r = runsctl(['agents', 'delete', 'reviewer']);
    ok $r->{rc} == 1 && $r->{err} =~ /Agent not found: reviewer \(HTTP 404\)/,
        'delete again: 404, exit 1';

    # where the agents API is
    my $closed = 'http://127.0.0.1:' . closed_port();
    $r = runsctl(['agents', 'list'], url => $closed);
    ok $r->{rc} == 3 && $r->{err} =~ /\Q$closed\E/, 'default <url>/agents unreachable: exit 3'
        or diag explain $r;
    $r = runsctl(['agents', 'list', '--agents-url', runsctl_url() . '/agents'], url => $closed);
    ok $r->{rc} == 0 && $r->{out} =~ /^coder /m, '--agents-url wins over --url';
    $r = runsctl(['agents', 'show', 'coder'], url => $closed,
                 env => { RUNS_AGENTS_URL => runsctl_url() . '/agents/' });
    ok $r->{rc} == 0 && $r->{out} =~ /^name:\s+coder$/m, 'so does RUNS_AGENTS_URL';
    $r = runsctl(['agents', 'list', '--agents-url', runsctl_url() . '/runs']);
    ok $r->{rc} == 3, 'an agents URL that is not the agents API: exit 3' or diag explain $r;
    $r = runsctl(['agents', 'list', '--agents-url', 'ftp://x']);
    ok $r->{rc} == 2 && $r->{err} =~ /must start with http/, 'a bad --agents-url: exit 2';
    no_sanitizer_reports();
};

flow 'import: the reference\'s folders and the product\'s, unchanged; errors; --replace; --json', 20, sub {
    my @ok = qw(orchestrator researcher retired coder-own plain);
    my $r = runsctl(['agents', 'import', map { "$BP/$_" } @ok]);
    ok $r->{rc} == 0 && $r->{err} eq '', 'import of five folders: exit 0' or diag explain $r;
    is $r->{out}, "orchestrator created\nresearcher created\nretired created (inactive: .disabled)\n"
                  . "coder-own created\nplain created\n", 'a line per folder';
    for my $n (@ok) {
        is_deeply registry_bp($n), folder_bp($n),
            "$n: the registry's blueprint is the folder's files" or diag explain registry_bp($n);
    }
    is join(' ', map { status_of_bp($_) } @ok), 'active active inactive active active',
        '.disabled: inactive, the others active';

    $r = runsctl(['agents', 'import', "$BP/typo"]);
    ok $r->{rc} == 2 && $r->{err} =~ m{^runsctl: \Q$BP\E/typo/agent\.json: unknown key "modle" \(known: name, description, }m
       && status_of_bp('typo') eq 'HTTP 404',
       'an unknown key: exit 2 naming the file and the key, nothing sent' or diag explain $r;
    $r = runsctl(['agents', 'import', "$BP/plain"]);
    ok $r->{rc} == 1 && $r->{err} =~ /Agent already exists: plain \(HTTP 409\)/,
        'import of one that exists: 409, exit 1';

    # --replace: the registry's blueprint is the folder again
    my $p = Runs::req('PATCH', '/agents/orchestrator', { description => 'changed',
                       model => 'opus', skills => ['x'], system_prompt => 'other' });
    Runs::req('PATCH', '/agents/retired/status', { status => 'active' });
    ok $p->{status} == 200 && registry_bp('orchestrator')->{model}, 'changed by the API';
    $r = runsctl(['agents', 'import', '--replace', "$BP/orchestrator", "$BP/retired"]);
    ok $r->{rc} == 0 && $r->{out} eq "orchestrator replaced\nretired replaced (inactive: .disabled)\n",
        'import --replace: "replaced"' or diag explain $r;
    is_deeply registry_bp('orchestrator'), folder_bp('orchestrator'),
        'the folder again: what it lacks cleared (model, skills)';
    is status_of_bp('retired'), 'inactive', 'retired inactive again';

    # a folder of folders
    $r = runsctl(['agents', 'import', '--replace', $BP]);
    ok $r->{rc} == 2 && $r->{out} eq "coder-own replaced\norchestrator replaced\nplain replaced\n"
       . "researcher replaced\nretired replaced (inactive: .disabled)\n"
       && $r->{err} =~ /typo\/agent\.json: unknown key "modle"/,
       'the folder t/blueprints: each in it, typo refused, exit 2' or diag explain $r;

    # --json, description missing, not there
    Runs::req('DELETE', '/agents/plain');
    $r = runsctl(['agents', 'import', "$BP/plain/", '--json']);
    ok $r->{rc} == 0 && ref $r->{json} eq 'ARRAY' && @{ $r->{json} } == 1
       && $r->{json}[0]{name} eq 'plain' && $r->{json}[0]{status} eq 'active',
       'import --json: an array of the blueprints imported' or diag explain $r;
    my $own = File::Temp->newdir('bp-own-XXXXXX', TMPDIR => 1);
    mkdir "$own/nodesc" or die;
    write_bytes("$own/nodesc/agent.json", '{"model": "sonnet"}');
    write_bytes("$own/nodesc/system-prompt.md", "Hi.\n");
    $r = runsctl(['agents', 'import', "$own/nodesc"]);
    ok $r->{rc} == 2 && $r->{err} =~ /nodesc: no "description" in .*agent\.json/,
        'a folder without a description: exit 2' or diag explain $r;
    $r = runsctl(['agents', 'import', "$own/none"]);
    ok $r->{rc} == 2 && $r->{err} =~ /\Q$own\E\/none: No such file or directory/,
        'a folder that is not there: exit 2' or diag explain $r;
    mkdir "$own/both" or die;
    write_bytes("$own/both/agent.json", '{"description": "d"}');
    write_bytes("$own/both/$_", '{"mcpServers": {}}') for 'mcp.json', 'agent.mcp.json';
    $r = runsctl(['agents', 'import', "$own/both"]);
    ok $r->{rc} == 2 && $r->{err} =~ /holds both agent\.mcp\.json and mcp\.json: keep one/,
        'a folder with both MCP files: exit 2' or diag explain $r;
    no_sanitizer_reports();
};

# ---------------------------------------------------------------------
# a reload and restarts

flow 'the registry across a reload (HUP) and restarts with runs_journal', 10, sub {
    my $r = runsctl(['agents', 'import', map { "$BP/$_" } qw(orchestrator researcher retired coder-own)]);
    is $r->{rc}, 0, 'four blueprints imported' or diag explain $r;
    my $before = Runs::req('GET', '/agents')->{body};
    my $list = runsctl(['agents', 'list'])->{out};

    my $pid = master_pid();
    ok $pid && kill('HUP', $pid), 'reload (SIGHUP to the master)';
    sleep 1;
    is Runs::req('GET', '/agents')->{body}, $before, 'after the reload: the same, times too';
    is runsctl(['agents', 'list'])->{out}, $list, 'runsctl agents list: the same';

    ok nginx_down('quit') && nginx_up(), 'stopped (-s quit) and started again';
    is Runs::req('GET', '/agents')->{body}, $before, 'after the restart: the same, times too';

    runsctl(['agents', 'disable', 'orchestrator']);
    runsctl(['agents', 'delete', 'coder-own']);
    runsctl(['agents', 'edit', 'researcher', '--tag', 'kept']);
    ok nginx_down('kill') && nginx_up(), 'SIGKILL of the master and the workers, started again';
    is names_listed(), 'orchestrator,researcher,retired', 'a deletion kept';
    is status_of_bp('orchestrator') . ' ' . status_of_bp('retired'), 'inactive inactive',
        'the statuses kept';
    is_deeply registry_bp('researcher')->{tags}, ['kept'], 'an edit kept';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: help and usage errors: exit 2, nothing sent
--- config
    location /runs { runs_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /agents { runs_agents_api runs; }



=== TEST 2: create, show, list, edit, enable, disable, delete: output, --json and the server's errors
--- config
    location /runs { runs_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /agents { runs_agents_api runs; }



=== TEST 3: import: the reference's folders and the product's, unchanged; errors; --replace; --json
--- config
    location /runs { runs_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /agents { runs_agents_api runs; }



=== TEST 4: the registry across a reload (HUP) and restarts with runs_journal
--- http_config
    runs_zone runs 4m;
    runs_journal runs $TEST_NGINX_SERVER_ROOT/html/journal/runs.journal;
--- config
    location /runs { runs_api runs; }
    location /launchers { runs_launchers_api runs; }
    location /agents { runs_agents_api runs; }
--- user_files
>>> journal/.keep
