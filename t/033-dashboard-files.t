# runs_dashboard serves the dashboard's files from the module itself:
# each file of src/dashboard/ with its type, a redirect to the location's
# slash, config.json from the directive's parameters, ETags and 304s, the
# headers that keep the page to its own files, errors as JSON; and no
# file refers to anything outside the coordinator (it works offline).

use FindBin;
use lib "$FindBin::Bin/inc";

use Test::Nginx::Socket;
use Runs;
use Test::More;

repeat_each(1);
no_long_string();
no_shuffle();

add_block_preprocessor(sub { Runs::preprocess(shift) });
add_response_body_check(Runs::flow_hook());

my $DIR = "$FindBin::Bin/../src/dashboard";
opendir(my $dh, $DIR) or die "$DIR: $!";
my @FILES = sort grep { -f "$DIR/$_" && /^[a-z0-9._-]+$/ } readdir $dh;
closedir $dh;

sub slurp { open(my $f, '<:raw', $_[0]) or die "$_[0]: $!"; local $/; <$f> }

my %TYPE = (html => 'text/html; charset=utf-8',
            js => 'text/javascript; charset=utf-8',
            css => 'text/css; charset=utf-8', svg => 'image/svg+xml',
            png => 'image/png', json => 'application/json');

flow 'each file as it is in src/dashboard, with its type', 5, sub {
    ok scalar(grep { $_ eq 'index.html' } @FILES), 'src/dashboard has an index.html';
    my (@bad, @typed, @external);
    for my $f (@FILES) {
        my $r = req('GET', "/dashboard/$f");
        my ($ext) = $f =~ /\.([a-z]+)$/;
        push @bad, $f if $r->{status} != 200 || $r->{body} ne slurp("$DIR/$f");
        push @typed, $f if ($r->{headers}{'content-type'} // '')
                           ne ($TYPE{$ext // ''} // 'application/octet-stream');
        push @external, $f if $r->{body} =~ m{(?:https?:)?//(?!www\.w3\.org/)[a-z0-9-]+\.[a-z]}i
                              && $f !~ /\.(?:png)$/;
    }
    is_deeply \@bad, [], scalar(@FILES) . ' files served byte for byte';
    is_deeply \@typed, [], 'each with the type of its extension';
    is_deeply \@external, [], 'none refers to another host (the page works offline)';
    my $r = req('GET', '/dashboard/');
    is $r->{body}, slurp("$DIR/index.html"), 'the location itself: index.html';
};

flow 'headers, ETags, redirects, errors', 12, sub {
    my $r = req('GET', '/dashboard/index.html');
    my $h = $r->{headers};
    like $h->{'content-security-policy'}, qr/default-src 'none'; script-src 'self'/,
         'a policy that runs the page\'s own scripts only';
    like $h->{'content-security-policy'}, qr/connect-src 'self'/, 'and talks to this origin only';
    is $h->{'x-content-type-options'}, 'nosniff', 'types are not guessed';
    is $h->{'cache-control'}, 'no-cache', 'asked again each time';
    like $h->{etag}, qr/^"[0-9a-f]+-[0-9a-f]+"$/, 'with an ETag';
    my $again = req('GET', '/dashboard/index.html', undef, { 'If-None-Match' => $h->{etag} });
    is_deeply [ $again->{status}, $again->{body} ], [304, ''], 'the same ETag: 304';

    $r = req('GET', '/dashboard?x=1');
    is_deeply [ $r->{status}, $r->{headers}{location} =~ m{/dashboard/\?x=1$} ? 1 : 0 ],
              [301, 1], 'the location without its slash: sent to it';
    $r = req('GET', '/dashboard/config.json');
    is_deeply $r->{json}, { runs => '/runs', sessions => '/sessions',
                            launchers => '/launchers', events => '/events',
                            agents => '/agents' },
              'config.json: the API groups at their default paths';
    $r = req('GET', '/ops/dash/config.json');
    is_deeply $r->{json}, { runs => '/api/runs', sessions => '/sessions',
                            launchers => '/api/launchers', events => '/api/events',
                            agents => '/agents' },
              'or where the directive says';
    $r = req('GET', '/dashboard/nope.js');
    is_deeply [ $r->{status}, $r->{json}{detail} ], [404, 'Not found'], 'an unknown file: 404 as JSON';
    $r = req('POST', '/dashboard/', {});
    is_deeply [ $r->{status}, $r->{headers}{allow} ], [405, 'GET, HEAD'], 'POST: 405';
    my $c = Runs::Conn->new;
    $r = $c->request('HEAD', '/dashboard/');
    is_deeply [ $r->{status}, $r->{body}, $r->{headers}{'content-length'} ],
              [200, '', -s "$DIR/index.html"], 'HEAD: the headers only';
};

flow 'gzip takes the files by their types; a path that only starts like the location', 4, sub {
    my %gz = ('Accept-Encoding' => 'gzip');
    my $r = req('GET', '/dashboard/', undef, \%gz);
    is_deeply [ $r->{status}, $r->{headers}{'content-encoding'} ], [200, 'gzip'],
              'gzip on: the page (text/html) compressed';
    $r = req('GET', '/dashboard/app.js', undef, \%gz);
    is $r->{headers}{'content-encoding'}, 'gzip', 'a script, by gzip_types text/javascript';
    $r = req('GET', '/dashboard/style.css', undef, \%gz);
    is $r->{headers}{'content-encoding'}, 'gzip', 'the styles, by gzip_types text/css';
    $r = req('GET', '/dashXindex.html');
    is $r->{status}, 404, '"location /dash": /dashXindex.html is not /dash/index.html';
};

plan tests => Runs::plan_count(blocks());

run_tests();

__DATA__

=== TEST 1: each file as it is in src/dashboard, with its type
--- config
    location /runs { runs_api runs; }
    location /dashboard/ { runs_dashboard; }



=== TEST 2: headers, ETags, redirects, errors
--- config
    location /runs { runs_api runs; }
    location /dashboard/ { runs_dashboard; }
    location /ops/dash/ { runs_dashboard runs=/api/runs launchers=/api/launchers events=/api/events; }



=== TEST 3: gzip takes the files by their types; a path that only starts like the location
--- config
    location /runs { runs_api runs; }
    location /dashboard/ { runs_dashboard; gzip on; gzip_types text/javascript text/css; gzip_min_length 1; }
    location /dash { runs_dashboard; }
