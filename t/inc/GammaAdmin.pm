package GammaAdmin;

# The admin listener of the shipped configuration (conf/gamma-admin.conf,
# 127.0.0.1:15000) as the observability suites see it:
#
#   $GammaTest::HttpConfig .= $GammaAdmin::Include;   # before run_tests()
#   my $res = GammaAdmin::get('/ready');              # status, headers, body
#   my $m = GammaAdmin::metrics();        # { 'name{labels}' => value }
#   my ($rc, $out) = GammaAdmin::promtool($text);

use strict;
use warnings;

use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use GammaTest ();

our $Addr = '127.0.0.1:15000';
our $Include = "    include \$TEST_NGINX_GAMMA_CONF/gamma-admin.conf;\n";

sub get {
    my ($path, @headers) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => $Addr, Proto => 'tcp',
                                     Timeout => 5)
        or die "cannot connect to the admin listener $Addr: $!";

    my $req = "GET $path HTTP/1.1\r\nHost: $Addr\r\nConnection: close\r\n";
    $req .= "$_\r\n" for @headers;
    print $sock "$req\r\n";

    my $res = GammaTest::read_response($sock, 'GET');
    close $sock;

    return $res;
}

# the exposition as a hash of "name{labels}" (labels as printed) to value
sub parse {
    my ($text) = @_;
    my %m;

    for my $line (split /\n/, $text) {
        next if $line =~ /^#/ || $line eq '';
        my ($series, $value) = $line =~ /^(\S+) (\S+)$/
            or die "not a sample line: $line";
        die "series twice: $series" if exists $m{$series};
        $m{$series} = $value;
    }

    return \%m;
}

sub metrics {
    my $res = get('/metrics');
    die "GET /metrics: $res->{status}" unless $res->{status} == 200;
    return wantarray ? (parse($res->{body}), $res->{body})
                     : parse($res->{body});
}

# promtool's own check of the text format and of the naming conventions
sub promtool {
    my ($text) = @_;

    my $file = "/tmp/gamma-metrics-$$.txt";
    open my $fh, '>', $file or die "cannot write $file: $!";
    print $fh $text;
    close $fh;

    my $out = `promtool check metrics < $file 2>&1`;
    my $rc = $? == -1 ? -1 : $? >> 8;
    unlink $file;

    return ($rc, $out);
}

# calls $cond until it returns true, for at most $timeout seconds
sub wait_until {
    my ($cond, $timeout) = @_;
    my $start = time;

    while (time - $start < ($timeout // 5)) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.05;
    }

    return undef;
}

1;
