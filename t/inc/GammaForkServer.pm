package GammaForkServer;

# The process shape the test backends share: a child process accepts on a
# listening socket and forks once per connection; TERM ends it.

use strict;
use warnings;

use POSIX ();

# Returns the pid of the accepting process.  @close are handles the child
# must not keep open.
sub run {
    my ($listen, $serve, @close) = @_;

    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid) {
        close $listen;
        return $pid;
    }

    close $_ for @close;
    $SIG{CHLD} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };

    while (1) {
        my $c = $listen->accept or next;
        my $child = fork;

        if (defined $child && $child == 0) {
            close $listen;
            $serve->($c);
            POSIX::_exit(0);
        }

        close $c;
    }
}

sub stop {
    my ($pid) = @_;

    return unless $pid;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

1;
