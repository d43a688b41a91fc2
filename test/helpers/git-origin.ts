/** A bare repository as a CI run's `origin`, and clones of it (each a run's checkout). */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp.js";

/** Runs git in `cwd`; throws on a failing exit. */
export const gitIn = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: "pipe", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });

/**
 * A bare "origin" and a function making clones of it. Its pre-receive hook holds every push a moment, as a
 * busy server does, so two runs that publish together both push on the same old head.
 */
export function bareOrigin(): { bare: string; clone: () => string } {
  const bare = join(tempDir("shriven-origin-"), "origin.git");
  gitIn(tempDir(), "init", "--quiet", "--bare", bare);
  writeFileSync(join(bare, "hooks", "pre-receive"), "#!/bin/sh\ncat >/dev/null\nsleep 0.5\n", { mode: 0o755 });
  return {
    bare,
    clone: () => {
      const dir = join(tempDir("shriven-clone-"), "repo");
      gitIn(tempDir(), "clone", "--quiet", bare, dir);
      return dir;
    },
  };
}
