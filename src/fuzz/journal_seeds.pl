#!/usr/bin/env perl
# Seeds for src/fuzz/journal_fuzz.c from a journal file: its keys (bytes
# 16 to 63 of its header), then the records as the target's chunks (first
# byte 1: "type, change, body length, body"), all of them in one seed and
# each kind of record alone, and the records' bytes as they are (first
# byte 0).
#   perl src/fuzz/journal_seeds.pl JOURNAL OUTDIR
use strict;
use warnings;

my ($file, $out) = @ARGV;
die "usage: $0 JOURNAL OUTDIR\n" if !defined $out;
open my $in, '<:raw', $file or die "$file: $!\n";
local $/;
my $j = <$in>;
close $in;
die "$file: not a journal\n" if length($j) < 64 || substr($j, 0, 8) ne 'NGXRUNSJ';

my ($off, @chunks, %by_type) = (64);
while ($off + 24 <= length $j) {
    my ($size, $crc, $change, $type) = unpack 'L L Q L', substr($j, $off, 20);
    last if $size < 24 || $off + $size > length $j;
    my $body = substr($j, $off + 24, $size - 24);
    if (length($body) < 65536) {
        my $c = pack('C C v', $type, $change & 0xff, length $body) . $body;
        push @chunks, $c;
        push @{ $by_type{$type} }, $c;
    }
    $off += $size;
}

sub seed {
    my ($name, $bytes) = @_;
    open my $o, '>:raw', "$out/$name" or die "$out/$name: $!\n";
    print $o $bytes;
    close $o;
}

my $keys = substr($j, 16, 48);
seed('all-chunks', "\x01" . $keys . join('', @chunks));
seed("type-$_", "\x01" . $keys . join('', @{ $by_type{$_} })) for sort keys %by_type;
seed('raw', "\x00" . $keys . substr($j, 64, $off - 64));
printf "%d records, %d seeds in %s\n", scalar(@chunks), 2 + keys(%by_type), $out;
