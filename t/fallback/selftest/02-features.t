# vi:ft=perl
use Test::Nginx::Socket 'no_plan';
use POSIX ();

$ENV{TEST_NGINX_NOFILE} = 1234;

master_on();
workers(2);
log_level('info');
no_shuffle();

my @hook_calls;

# runs after every response while nginx is still up; forks load clients
add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return unless defined $block->concurrency;
    my $n = $block->concurrency;
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => server_port(), Timeout => 3);
            my $ok = 0;
            if ($s) {
                print $s "GET /t HTTP/1.0\r\nHost: localhost\r\n\r\n";
                local $/;
                my $r = <$s> // '';
                $ok = $r =~ m{^HTTP/1\.1 200 .*\r\n\r\nok\z}s ? 1 : 0;
            }
            POSIX::_exit($ok ? 0 : 1);    # never run END blocks in children
        }
        push @pids, $pid;
    }
    my $good = 0;
    for my $pid (@pids) {
        waitpid($pid, 0);
        $good++ if $? == 0;
    }
    is($good, $n, $block->name . " - $n concurrent clients got 200 ok");
});

run_tests();

__DATA__

=== TEST 1: main_config env expansion, 2 workers, concurrency hook
--- main_config
worker_rlimit_nofile $TEST_NGINX_NOFILE;
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok
--- concurrency: 8
--- init
open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/conf/nginx.conf" or die $!;
my $conf = do { local $/; <$fh> };
main::like($conf, qr/^worker_rlimit_nofile 1234;$/m, "main_config expanded");
main::like($conf, qr/^master_process on;$/m, "master on");
open my $pf, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/nginx.pid" or die $!;
chomp(my $master = <$pf>);
my $n = () = `ps -o args= --ppid $master` =~ /^nginx: worker process/mg;
main::is($n, 2, "two worker processes");



=== TEST 2: skip_nginx skips N subtests
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
nope
--- skip_nginx
2: >= 1.0.0



=== TEST 3: SKIP block is dropped
--- SKIP
--- config
    location = /t { return 500; }
--- request
GET /t



=== TEST 4: must_die without error_log (exit code check)
--- config
    location = /t { return a b c; }
--- request
GET /t
--- must_die: 1



=== TEST 5: block without config reuses the running server
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok



=== TEST 6: no config section
--- request
GET /t
--- response_body chomp
ok
--- shutdown_error_log
exit
