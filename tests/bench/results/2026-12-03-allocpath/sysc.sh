#!/usr/bin/env bash
# sysc.sh PID PORT N: system calls per allocation of server PID (all threads) over one
# quickalloc run of N allocations, 32 in flight; perf stat tracepoints (no strace slow-down).
pid=$1; port=$2; n=$3; qa=${QUICKALLOC:-/tmp/quickalloc}
out_file=$(mktemp)
ev=raw_syscalls:sys_enter
for s in epoll_ctl epoll_wait recvmmsg sendmmsg socket bind ioctl close futex write setsockopt; do ev="$ev,syscalls:sys_enter_$s"; done
perf stat -e "$ev" -p $pid -o "$out_file" -- sleep 30 > /dev/null 2>&1 &
sp=$!; sleep 0.5
out=$("$qa" 127.0.0.1 $port bench benchpass 32 $n 60 2>/dev/null)
kill -INT $sp; wait $sp 2>/dev/null
ok=$(echo "$out" | awk '{print $2}')
echo "$out"
awk -v ok=$ok '/sys_enter/ {gsub(",","",$1); printf "%-36s %10d  %.2f per allocation\n", $2, $1, $1/ok}' "$out_file"
rm -f "$out_file"
