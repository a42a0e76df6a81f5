/**
 * CPU time of the calling thread, for benchmarks that must tell a thread's own work from time spent waiting or
 * preempted by other programs (wall time on a shared machine says little). Linux only: it reads
 * /proc/thread-self/schedstat (nanoseconds on a CPU); elsewhere it answers null.
 */
import { readFileSync } from 'node:fs';

let unavailable = process.platform !== 'linux';

/** Milliseconds this thread has run on a CPU so far, or null where the system does not say. */
export function threadCpuMs(): number | null {
  if (unavailable) return null;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ', 1)[0]);
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
  } catch {
    // not mounted or not permitted: fall through
  }
  unavailable = true;
  return null;
}
