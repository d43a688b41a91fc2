import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Live (not zombie) process ids among `pids`. */
export function livePids(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      return state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  });
}

/** Reads pids written one per line to a file. */
export function readPids(file: string): number[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

/** Live processes whose working directory is `dir` or inside it (cargo, rustc, test binaries of a workspace). */
export function liveProcessesIn(dir: string): number[] {
  const pids = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const cwd = readlinkSync(`/proc/${pid}/cwd`);
        return pid !== process.pid && (cwd === dir || cwd.startsWith(`${dir}/`));
      } catch {
        return false;
      }
    });
  return livePids(pids);
}
