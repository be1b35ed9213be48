#!/usr/bin/env bash
# measure.sh PID PORT K N: server CPU time per allocation over one quickalloc run (K in flight,
# N allocations, static user bench:benchpass; with QA_SECRET set, a REST user of that secret).
# QUICKALLOC [/tmp/quickalloc]: cc -O2 -o /tmp/quickalloc quickalloc.c -lcrypto
pid=$1; port=$2; k=$3; n=$4; qa=${QUICKALLOC:-/tmp/quickalloc}
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
c0=$(cpu); out=$("$qa" 127.0.0.1 $port bench benchpass $k $n 60 2>/dev/null); c1=$(cpu)
ok=$(echo "$out" | awk '{print $2}')
echo "$out server_cpu_s $(echo "($c1-$c0)/$tck" | bc -l | cut -c1-6) us_per_alloc $(echo "($c1-$c0)/$tck*1000000/$ok" | bc -l | cut -c1-6) allocs_per_cpu_s $(echo "$ok/(($c1-$c0)/$tck)" | bc -l | cut -c1-7)"
