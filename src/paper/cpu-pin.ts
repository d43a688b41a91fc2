/**
 * Running the harness and the engine on one CPU during a replay.
 *
 * The replay is lock-step: the harness writes, the engine answers, the harness
 * writes again; the two never need to run at the same time. On one CPU a
 * wake-up is a cheap context switch; across CPUs of a virtual machine it is an
 * inter-processor interrupt, measured here at ~50 µs against ~12 µs on one CPU
 * (bench/paper.ts). So the harness pins itself (every thread) to the CPU it is
 * on with `taskset`, starts the engine (which inherits the affinity), and puts
 * its own affinity back when the replay ends.
 */
import { readFileSync } from "node:fs";
import { execa } from "execa";

/** A pinning in force; `restore` puts the previous affinity back. */
export interface CpuPin {
  readonly cpu: number;
  restore(): Promise<void>;
}

/** The CPU this process last ran on (field 39 of /proc/self/stat). */
function currentCpu(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = Number(fields[36]);
    return Number.isInteger(cpu) && cpu >= 0 ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/** Pins this process to its current CPU; undefined where that cannot be done (not Linux, no taskset). */
export async function pinToCurrentCpu(): Promise<CpuPin | undefined> {
  if (process.platform !== "linux") return undefined;
  const cpu = currentCpu();
  if (cpu === undefined) return undefined;
  const pid = String(process.pid);
  const before = await execa("taskset", ["-c", "-p", pid], { reject: false });
  const list = /current affinity list:\s*([\d,\s-]+)$/m.exec(before.stdout ?? "")?.[1]?.trim();
  if (before.exitCode !== 0 || list === undefined || list === String(cpu)) return undefined;
  const pinned = await execa("taskset", ["-a", "-c", "-p", String(cpu), pid], { reject: false });
  if (pinned.exitCode !== 0) return undefined;
  return {
    cpu,
    restore: async () => {
      await execa("taskset", ["-a", "-c", "-p", list, pid], { reject: false });
    },
  };
}
