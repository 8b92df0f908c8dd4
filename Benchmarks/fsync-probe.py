#!/usr/bin/env python3
"""The disk's own fsync latency during a benchmark round, for bench-cdc-latency.sh.

Appends 512 bytes to a file in DIR and fdatasyncs it every 20 ms for SECONDS s, then prints
p50, p99 and max of the fdatasync times (ms). Every durable append of the log waits for one
such sync, so this is the floor under commit -> durable on this disk at that moment.

Usage: fsync-probe.py DIR SECONDS
"""
import os
import sys
import time

directory, seconds = sys.argv[1], float(sys.argv[2])
path = os.path.join(directory, "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
times = []
end = time.time() + seconds
while time.time() < end:
    os.write(fd, b"x" * 512)
    start = time.perf_counter()
    os.fdatasync(fd)
    times.append((time.perf_counter() - start) * 1000)
    time.sleep(0.02)
os.close(fd)
os.unlink(path)
times.sort()
print(
    f"n {len(times)} p50 {times[len(times) // 2]:.1f} "
    f"p99 {times[min(len(times) - 1, int(0.99 * len(times)))]:.1f} max {times[-1]:.1f}"
)
