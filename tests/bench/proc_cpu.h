/* proc_cpu.h — CPU time of another process (all its threads) from /proc/PID/stat, shared by the
 * bench clients that report work per server CPU-second (tlsconn.c, turnperf.c). */
#pragma once

#include <stdio.h>
#include <string.h>

/* utime + stime of `pid` in clock ticks (sysconf(_SC_CLK_TCK)); -1 when unreadable. */
static long proc_cpu_ticks(int pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p) return -1;
  long ut = 0, st = 0;
  /* after ") ": state (field 3) ... utime is field 14, stime 15 */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
    return -1;
  return ut + st;
}
