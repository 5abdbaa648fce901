# The status writer's directives: values checked at configuration time,
# the Lease's namespace required when nothing gives it a default.

use Test::Nginx::Socket 'no_plan';

delete $ENV{POD_NAMESPACE};

no_shuffle();
run_tests();

__DATA__

=== TEST 1: gamma_status_lease is <namespace>/<name>
--- http_config
    gamma_source kubernetes https://127.0.0.1:19840;
    gamma_status_writer on;
    gamma_status_lease nginx-gamma-status;
--- config
--- must_die
--- error_log
invalid "gamma_status_lease" value "nginx-gamma-status": must be <namespace>/<name>



=== TEST 2: the namespace is a DNS label
--- http_config
    gamma_source kubernetes https://127.0.0.1:19840;
    gamma_status_writer on;
    gamma_status_lease Faces/lease;
--- config
--- must_die
--- error_log
invalid "gamma_status_lease" value "Faces/lease"



=== TEST 3: gamma_status_writer takes on or off
--- http_config
    gamma_source kubernetes https://127.0.0.1:19840;
    gamma_status_writer yes;
--- config
--- must_die
--- error_log
invalid value "yes" in "gamma_status_writer" directive, it must be "on" or "off"



=== TEST 4: outside a cluster and without $POD_NAMESPACE the Lease must be named
--- http_config
    gamma_source kubernetes https://127.0.0.1:19840;
    gamma_status_writer on;
--- config
--- must_die
--- error_log
"gamma_status_writer" needs the Lease's namespace: "gamma_status_lease", the pod's namespace file or $POD_NAMESPACE
