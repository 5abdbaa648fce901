# README's reference against the code: every directive of the command
# tables (module/ngx/*.c) in README's table of directives with its
# contexts, and a Syntax block with its context and as many arguments as
# its NGX_CONF_NOARGS/FLAG/TAKE*/1MORE take; every variable of
# the variable tables in README's table of variables; every metric the
# exporter writes in README's table of metrics, with its type; every
# shipped conf/*.conf described, and every gamma_* directive in conf/ one
# the module has.  Names in README that the code lacks fail as well.

use strict;
use warnings;
use File::Basename qw(dirname);
use Test::More;

my $root = dirname(dirname(__FILE__));

sub read_file {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return <$fh>;
}

my $readme = read_file("$root/README.md");
my @c_files = glob("$root/module/ngx/*.c");
my $c = join '', map { read_file($_) } @c_files;

# the part of README from a heading to the next one of its level or above
sub section {
    my ($title) = @_;
    my ($hashes) = $readme =~ /^(#+) \Q$title\E$/m
        or return '';
    my $n = length $hashes;
    my ($text) = $readme =~ /^#{$n} \Q$title\E\n(.*?)(?=^#{1,$n} |\z)/ms;
    return $text // '';
}

# --- directives -----------------------------------------------------------

my %ctx_name = (MAIN => 'http', SRV => 'server', LOC => 'location',
                UPS => 'upstream');
my @ctx_order = qw(http server location upstream);

my %code;    # name -> { ctx => "http, server", flags => "NGX_..." }
while ($c =~ /\{\s*ngx_string\("(gamma[a-z_]*)"\),\s*
               ((?:NGX_[A-Z0-9_]+\s*\|?\s*)+),/gx)
{
    my ($name, $flags) = ($1, $2);
    next unless $flags =~ /NGX_HTTP_(?:MAIN|SRV|LOC|UPS)_CONF\b/;
    my %in = map { $ctx_name{$_} => 1 }
             $flags =~ /NGX_HTTP_(MAIN|SRV|LOC|UPS)_CONF\b/g;
    $code{$name} = { ctx => join(', ', grep { $in{$_} } @ctx_order),
                     flags => $flags };
}

ok(keys %code >= 20, 'the command tables list the directives: '
                     . scalar(keys %code));

my $dirs = section('Directives');
my %table = $dirs =~ /^\| `(gamma[a-z_]*)` \| ([a-z, ]+) \|/mg;

is_deeply([sort keys %table], [sort keys %code],
          "README's table of directives has every directive, no other");

for my $name (sort keys %code) {
    my $want = $code{$name}{ctx};
    is($table{$name}, $want, "$name: the table's context is $want");

    # its Syntax block, or one shared with others
    my @blocks = $readme =~ /^(\ {4}Syntax:\ \ .*\n
                               (?:\ {13}\S.*\n|\ {4}Default:\ .*\n
                                  |\ {4}Context:\ .*\n)*)/mgx;
    my ($mine) = grep { /(?:^|\|)\s*(?:Syntax:\s+)?\Q$name\E[\s;]/m }
                 @blocks;

    ok($mine, "$name has a Syntax block") or next;
    my ($ctx) = $mine =~ /^    Context: (.*)$/m;
    is($ctx, $want, "$name: its Syntax block's context is $want");

    # its arguments: "a | b c | d [e] | f ..." as the fewest and the most
    my ($args) = $mine =~ /(?:^|\|)\s*(?:Syntax:\s+)?\Q$name\E([^;]*);/m;
    my ($min, $max) = (1e9, 0);
    my @alts = split /\|/, $args // '';
    ($min, $max) = (0, 0) unless @alts;
    for my $alt (@alts) {
        my $opt = join ' ', $alt =~ /\[([^\]]*)\]/g;
        (my $req = $alt) =~ s/\[[^\]]*\]//g;
        my @req = split ' ', $req;
        my @opt = split ' ', $opt;
        my $n = @req;
        my $m = (grep { $_ eq '...' } @req, @opt) ? 1e9 : @req + @opt;
        $n-- if grep { $_ eq '...' } @req;
        $m-- if $m < 1e9 && grep { $_ eq '...' } @opt;
        $min = $n if $n < $min;
        $max = $m if $m > $max;
    }

    my $flags = $code{$name}{flags};
    my %arity = (NOARGS => [0, 0], FLAG => [1, 1], TAKE1 => [1, 1],
                 TAKE2 => [2, 2], TAKE3 => [3, 3], TAKE12 => [1, 2],
                 TAKE123 => [1, 3], '1MORE' => [1, 1e9]);
    my ($kind) = grep { $flags =~ /NGX_CONF_\Q$_\E\b/ } keys %arity;

    ok($kind, "$name: its arity is one of the known ones") or next;
    is("$min-$max", join('-', @{$arity{$kind}}),
       "$name: the syntax's arguments are NGX_CONF_${kind}'s");

    if ($kind eq 'FLAG') {
        like($mine, qr/\b\Q$name\E on \| off;/, "$name is on | off");
    }
}

# --- variables ------------------------------------------------------------

my %vars = map { $_ => 1 }
           $c =~ /\{\s*ngx_string\("(gamma[a-z_]*)"\),\s*NULL,/g;

ok(keys %vars >= 10, 'the variable tables list the variables: '
                     . scalar(keys %vars));

my $vsec = section('Variables');
my %documented = map { $_ => 1 }
                 map { /`\$(gamma[a-z_]*)`/g }
                 grep { /^\| `\$/ } split /\n/, $vsec;

is_deeply([sort keys %documented], [sort keys %vars],
          "README's table of variables has every variable, no other");

# --- metrics --------------------------------------------------------------

my $export = read_file("$root/module/ngx/ngx_http_gamma_metrics_export.c");
my %metric = $export =~ /# TYPE (gamma_[a-z_]+) (counter|gauge|histogram)/g;

# a counter written through the one helper: "# TYPE %s counter"
while ($export =~ /ngx_http_gamma_export_counter\(\s*&out,\s*&sc,\s*
                   "(gamma_[a-z_]+)"/gx)
{
    $metric{$1} = 'counter';
}

ok(keys %metric >= 15, 'the exporter writes metrics: '
                       . scalar(keys %metric));

my $msec = section('Metrics');
my %mtable;
for my $row (grep { /^\| `gamma_/ } split /\n/, $msec) {
    my (undef, $names, $type) = split /\s*\|\s*/, $row;
    $mtable{$_} = $type for $names =~ /`(gamma_[a-z_]+)`/g;
}

is_deeply([sort keys %mtable], [sort keys %metric],
          "README's table of metrics has every metric, no other");

for my $name (sort keys %metric) {
    like($mtable{$name} // '', qr/^\Q$metric{$name}\E\b/,
         "$name is a $metric{$name}");
}

# --- conf/ ----------------------------------------------------------------

my $shipped = section('The shipped configuration');

my @conf = map { s{^\Q$root\E/}{}r }
           glob("$root/conf/*.conf"), glob("$root/conf/demo/*.conf");

for my $f (@conf) {
    # the demo's files as conf/demo/
    my $name = $f =~ m{^(conf/demo/)} ? $1 : $f;
    like($shipped, qr/`\Q$name\E`/, "README describes $name");

    my $text = read_file("$root/$f") =~ s/#.*$//mgr;
    for my $d ($text =~ /^\s*(gamma[a-z_]*)[\s;]/mg) {
        ok($code{$d}, "$f: $d is a directive");
    }
}

done_testing();
