/**
 * Real processes for the Prometheus end-to-end tests: the example engine (`shriven-quant serve`) and Debian's
 * Prometheus on 127.0.0.1 scraping it. Every process started here is stopped after the test file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll } from "vitest";
import { stringify } from "yaml";
import { ENGINE_JOB, type RulesFile } from "../../src/alerts/rules.js";
import { freePort } from "./sshd.js";
import { tempDir } from "./temp.js";

const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(children.splice(0).map(stopProcess));
});

/** Starts `command`, waits until `ready` matches a line of its stdout or stderr (at most 30 s), keeps it for stopping. */
export async function startProcess(
  command: string,
  args: readonly string[],
  ready: RegExp,
  cwd?: string,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(cwd === undefined ? {} : { cwd }) });
  children.push(child);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} was not ready within 30 s`)), 30_000);
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on("line", (line) => {
        const found = ready.exec(line);
        if (found !== null) {
          clearTimeout(timer);
          resolve(found);
        }
      });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready`));
    });
  });
  return { child, match };
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Starts the built engine's `serve` on a free loopback port (at most 300 s); its process and `address:port`. */
export async function serveEngine(binary: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; address: string }> {
  const { child, match } = await startProcess(
    binary,
    ["serve", "--listen", "127.0.0.1:0", "--max-seconds", "300", ...extra],
    /^shriven-quant serve: listening on http:\/\/(127\.0\.0\.1:\d+)$/,
  );
  return { child, address: match[1] as string };
}

/**
 * Starts Debian's Prometheus on a free loopback port scraping `targets` as the {@link ENGINE_JOB} job every
 * second, with `rules` when given; its base URL.
 */
export async function startPrometheus(targets: readonly string[], rules?: RulesFile): Promise<string> {
  const dir = tempDir("shriven-prometheus-");
  if (rules !== undefined) writeFileSync(join(dir, "rules.yml"), stringify(rules));
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "900ms" },
      ...(rules === undefined ? {} : { rule_files: ["rules.yml"] }),
      scrape_configs: [{ job_name: ENGINE_JOB, static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  await startProcess(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    /Server is ready to receive web requests/,
    dir,
  );
  return `http://127.0.0.1:${port}`;
}
