package GammaBench::Stats;

# Percentiles, medians and number formatting for the report.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(percentile median fmt_ms fmt_mb fmt_int ratio);


# nearest-rank percentile of a list of numbers
sub percentile {
    my ($p, @v) = @_;

    return undef unless @v;

    @v = sort { $a <=> $b } @v;
    my $rank = int($p / 100 * @v + 0.999999);
    $rank = 1 if $rank < 1;

    return $v[$rank - 1];
}


sub median {
    my (@v) = @_;

    return undef unless @v;

    @v = sort { $a <=> $b } @v;

    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}


sub fmt_ms {
    my ($s) = @_;

    return '-' unless defined $s;
    return sprintf '%.2f', $s * 1000 if $s < 0.01;
    return sprintf '%.1f', $s * 1000 if $s < 1;
    return sprintf '%.0f', $s * 1000;
}


sub fmt_mb {
    my ($bytes) = @_;

    return defined $bytes ? sprintf('%.1f', $bytes / 1048576) : '-';
}


# 12345 -> 12,345
sub fmt_int {
    my ($n) = @_;

    return '-' unless defined $n;

    my $s = sprintf '%.0f', $n;
    1 while $s =~ s/^(-?\d+)(\d{3})/$1,$2/;

    return $s;
}


sub ratio {
    my ($a, $b) = @_;

    return defined $a && defined $b && $b ? sprintf('%.3f', $a / $b) : '-';
}


1;
