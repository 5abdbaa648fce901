-- wrk script: prints the run's numbers as one "BENCH key=value ..." line
-- for bench/bench.pl (latencies in microseconds).

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d " ..
        "write=%d status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d " ..
        "max_us=%d mean_us=%.1f\n",
        summary.requests, summary.duration, summary.bytes, e.connect,
        e.read, e.write, e.status, e.timeout, latency:percentile(50),
        latency:percentile(90), latency:percentile(99), latency.max,
        latency.mean))
end
