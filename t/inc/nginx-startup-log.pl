#!/usr/bin/env perl

# Runs the real nginx ($ENV{TEST_NGINX_REAL_BINARY}) with "-e
# <prefix>/logs/error.log" added when it is started with "-p <prefix>", so
# that configuration errors found while nginx reads its configuration land
# in the test's error log.  Used by t/001-directives.t when the nginx binary
# was built with --error-log-path=stderr (Debian's), where those [emerg]
# lines would otherwise go to the terminal and never reach the
# "--- error_log" checks of Test::Nginx::Socket.

use strict;
use warnings;

my $real = $ENV{TEST_NGINX_REAL_BINARY}
    or die "TEST_NGINX_REAL_BINARY is not set\n";

my @args = @ARGV;
for (my $i = 0; $i < @args - 1; $i++) {
    if ($args[$i] eq '-p') {
        (my $prefix = $args[$i + 1]) =~ s{/+$}{};
        unshift @args, '-e', "$prefix/logs/error.log";
        last;
    }
}

exec { $real } $real, @args or die "cannot exec $real: $!\n";
