/**
 * The tools some tests run for real but cannot bring with them, and the one
 * way a test is skipped for lack of one: `describe(name, needs("sshd"), …)`.
 * A skipped test carries the missing tools' names in its task meta, which
 * reaches the reporter in the main process (vitest.config.ts), so the run
 * ends with one summary naming each tool and the command that installs it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import type { TestOptions } from "vitest";

/** A tool the tests need from the machine. */
export interface Tool {
  /** What it is, for the summary. */
  readonly what: string;
  /** The Debian package that installs it (`.ci/run` installs the ones Debian does not ship by default). */
  readonly debianPackage: string;
  /** True when the tool is on this machine. */
  readonly present: () => boolean;
}

/** Where Debian's librust-criterion-dev puts the crates' sources (a cargo directory registry). */
export const DEBIAN_CARGO_REGISTRY = "/usr/share/cargo/registry";

/** True when `command args…` starts and exits 0 with stdout starting with `banner`. */
function answers(command: string, args: readonly string[], banner: string): boolean {
  const run = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  return run.status === 0 && run.stdout.startsWith(banner);
}

/** Every tool a test may need, in the order the summary lists them. */
export const TOOLS = {
  minisign: {
    what: "minisign, the signing CLI (signatures made by the release step must verify with it)",
    debianPackage: "minisign",
    present: () => answers("minisign", ["-v"], "minisign "),
  },
  sshd: {
    what: "the OpenSSH server /usr/sbin/sshd (real test hosts on 127.0.0.1)",
    debianPackage: "openssh-server",
    present: () => existsSync("/usr/sbin/sshd"),
  },
  criterion: {
    what: `criterion 0.3's sources in ${DEBIAN_CARGO_REGISTRY} (real criterion builds, offline)`,
    debianPackage: "librust-criterion-dev",
    present: () => existsSync(DEBIAN_CARGO_REGISTRY) && readdirSync(DEBIAN_CARGO_REGISTRY).some((name) => /^criterion-0\.3\./.test(name)),
  },
  prometheus: {
    what: "Prometheus and its promtool (rule checks and rule unit tests; a real server on 127.0.0.1)",
    debianPackage: "prometheus",
    present: () => answers("prometheus", ["--version"], "prometheus, version ") && answers("promtool", ["--version"], "promtool, version "),
  },
  amtool: {
    what: "amtool, Alertmanager's config checker",
    debianPackage: "prometheus-alertmanager",
    present: () => answers("amtool", ["--version"], "amtool, version "),
  },
  sha256sum: {
    what: "GNU sha256sum",
    debianPackage: "coreutils",
    present: () => answers("sha256sum", ["--version"], "sha256sum "),
  },
} as const satisfies Record<string, Tool>;

/** The name of a tool in {@link TOOLS}. */
export type ToolName = keyof typeof TOOLS;

declare module "vitest" {
  interface TaskMeta {
    /** Tools the test needs that this machine lacks; set by {@link needs} on tests it skips. */
    missingTools?: ToolName[];
  }
}

const probed = new Map<ToolName, boolean>();

/** True when `name` is on this machine (probed once per worker). */
export function hasTool(name: ToolName): boolean {
  let present = probed.get(name);
  if (present === undefined) {
    present = TOOLS[name].present();
    probed.set(name, present);
  }
  return present;
}

/**
 * Options for a `describe` or `it` that runs `names`: none when all are
 * present; otherwise the test is skipped and its meta names the missing ones.
 */
export function needs(...names: ToolName[]): TestOptions {
  const missing = names.filter((name) => !hasTool(name));
  return missing.length === 0 ? {} : { skip: true, meta: { missingTools: missing } };
}
