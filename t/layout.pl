#!/usr/bin/env perl
# The module's layout rules, checked on its sources (docs/ARCHITECTURE.md):
#   - the zone header is included by the store's files only;
#   - no store file includes the HTTP side's header;
#   - no circle in the import graph: file A imports B when A calls a
#     function defined in B (calls through a table, such as a route's
#     endpoint or a held kind's answer, are not imports);
#   - no module file over 1,500 lines, no function over 120 lines in any
#     C file of src/ (the runner, runsctl, executors, bench, fuzz too).
# Prints the graph with -v.  Exit status 1 when a rule is broken.
use strict;
use warnings;
use File::Basename qw(dirname basename);

my $root = dirname(dirname(__FILE__));
my @files = (glob("$root/src/ngx_http_runs_*.c"), "$root/ngx_http_runs_module.c");
my $verbose = grep { $_ eq '-v' } @ARGV;
my (%defs, %text, @bad);

# function sizes, everywhere in src/: a definition starts at a line
# "name(" under its return type and ends at the first "}" in column 0
for my $f (sort(`find $root/src -name '*.c'`), "$root/ngx_http_runs_module.c") {
    chomp $f;
    open my $fh, '<', $f or die "$f: $!";
    my @l = <$fh>;
    close $fh;
    my ($name, $start);
    for my $i (1 .. $#l) {
        my ($cand) = $l[$i] =~ /^([A-Za-z_]\w*)\(/;
        if (!defined $name && $cand && $l[$i - 1] =~ /^[a-z]/
            && $l[$i - 1] !~ /[;=]/)
        {
            ($name, $start) = ($cand, $i);
        } elsif (defined $name && $l[$i] =~ /^}/) {
            my $len = $i - $start;
            my $rel = substr($f, length($root) + 1);
            push @bad, "$rel: $name is $len lines (over 120)" if $len > 120;
            undef $name;
        }
    }
}

for my $f (@files) {
    my $n = basename($f);
    open my $fh, '<', $f or die "$f: $!";
    my @l = <$fh>;
    close $fh;
    $text{$n} = join '', @l;
    push @bad, "$n: " . scalar(@l) . " lines (over 1,500)" if @l > 1500;
    my ($name, $start);
    for my $i (0 .. $#l) {
        my ($cand) = $l[$i] =~ /^(ngx_http_runs_\w+)\(/;
        if (!defined $name && $cand && $i
            && $l[$i - 1] =~ /^[a-z]/ && $l[$i - 1] !~ /;/)
        {
            ($name, $start) = ($cand, $i);
            $defs{$name} = $n;
        } elsif (defined $name && $l[$i] =~ /^}/) {
            undef $name;
        }
    }
    my $zone = $text{$n} =~ /#include "ngx_http_runs_zone.h"/;
    my $http = $text{$n} =~ /#include "ngx_http_runs.h"/;
    push @bad, "$n includes ngx_http_runs_zone.h" if $zone && $n !~ /^ngx_http_runs_store_/;
    push @bad, "$n (a store file) includes ngx_http_runs.h" if $http && $n =~ /^ngx_http_runs_store_/;
}

my %imports;
for my $n (keys %text) {
    my $t = $text{$n};
    $t =~ s{/\*.*?\*/}{}gs;
    while ($t =~ /\b(ngx_http_runs_\w+)\s*\(/g) {
        my $d = $defs{$1};
        $imports{$n}{$d} = 1 if $d && $d ne $n;
    }
}

if ($verbose) {
    for my $n (sort keys %text) {
        print "$n -> ", join(' ', sort keys %{ $imports{$n} || {} }), "\n";
    }
}

# a circle: depth-first search for a back edge
my (%state, @path);
sub visit {
    my ($n) = @_;
    $state{$n} = 1;
    push @path, $n;
    for my $m (sort keys %{ $imports{$n} || {} }) {
        if (($state{$m} // 0) == 1) {
            my @c = @path;
            shift @c while $c[0] ne $m;
            push @bad, "import circle: " . join(' -> ', @c, $m);
        } elsif (!$state{$m}) {
            visit($m);
        }
    }
    pop @path;
    $state{$n} = 2;
}
visit($_) for sort keys %text;

print "layout: $_\n" for @bad;
print "layout: ", scalar(keys %text), " module files, ", scalar(keys %defs),
      " functions, no import circle\n" if !@bad;
exit(@bad ? 1 : 0);
