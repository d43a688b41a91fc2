import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aptInstall } from "../../containers/debian-packages.js";
import { RUST_IMAGE } from "../../containers/images.js";
import { ContainerRecordError, dpkgQueryArgv, parseInstalledPackages, pinnedImage } from "../../src/dagger/container-record.js";
import { reportDirectory, runStageInDagger } from "../../src/dagger/run-in-dagger.js";
import { runHostStageInDagger } from "../../src/dagger/stage-in-dagger.js";
import { ShrivenPipeline } from "../../src/index.js";
import { runReportSchema } from "../../src/report/report.js";
import { type ExecAnswer, execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { tempDir } from "../helpers/temp.js";
import { LOCKFILE, MANIFEST, METADATA, withToolchain } from "../helpers/toolchain-execs.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const [RUST_REF, RUST_DIGEST] = RUST_IMAGE.split("@") as [string, string];

/** A clean workspace; dpkg-query reports the valgrind this engine installed. */
function workspace(valgrind: string) {
  return (argv: readonly string[]): ExecAnswer => {
    if (argv[0] === "dpkg-query") return { exitCode: 0, stdout: `ii \tvalgrind\t${valgrind}\tamd64\n` };
    if (argv.includes("Cargo.lock")) return { exitCode: 0, stdout: LOCKFILE };
    if (argv.includes("metadata")) return { exitCode: 0, stdout: METADATA };
    if (argv.includes("grep")) return { exitCode: 1 };
    return { exitCode: 0 };
  };
}

const source = () => dag.loadDirectoryFromID("workspace-directory-id" as never);

/** The packages of every `apt-get install` the queries ask for. */
function installed(queries: string): string[][] {
  return execArgvs(queries)
    .map((argv) => argv.join(" "))
    .filter((command) => command.includes("apt-get install"))
    .map((command) => (/--no-install-recommends (.*?) &&/.exec(command)?.[1] ?? "").split(" "));
}

describe("Debian packages in the pipeline's containers", () => {
  it("every apt-get install of the toolchain, the ssh client (rollback) and the stage containers names packages, never a version", async () => {
    engine.reset({ exec: withToolchain(), secrets: { "ssh-key-id": "key" } });
    await connection(async () => {
      await new ShrivenPipeline().toolchain().id();
      await runHostStageInDagger({
        stage: "staging",
        source: source(),
        secrets: { SSH_DEPLOY_KEY: dag.loadSecretFromID("ssh-key-id" as never) },
      });
    });
    const packages = installed(engine.allQueries());
    expect(new Set(packages.map((names) => names.join(" ")))).toEqual(new Set(["valgrind", "openssh-client", "git"]));
    for (const name of packages.flat()) expect(name).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
  });

  it("refuses to build an install of a pinned version, or of nothing", () => {
    expect(aptInstall(["git", "openssh-client"])).toEqual([
      "sh",
      "-c",
      "apt-get update && apt-get install -y --no-install-recommends git openssh-client && rm -rf /var/lib/apt/lists/*",
    ]);
    expect(() => aptInstall(["git=1:2.39.5-0+deb12u3"])).toThrow(
      'apt-get install takes bare Debian package names, not ["git=1:2.39.5-0+deb12u3"]',
    );
    expect(() => aptInstall(["git; rm -rf /"])).toThrow(TypeError);
    expect(() => aptInstall([])).toThrow("apt-get install takes bare Debian package names, not []");
  });

  it("the dev report records the toolchain image by digest and valgrind at the version dpkg reports in the container", async () => {
    const advisories = tempDir();
    mkdirSync(join(advisories, "crates", "unused-demo"), { recursive: true });
    writeFileSync(
      join(advisories, "crates", "unused-demo", "RUSTSEC-2026-0001.md"),
      '```toml\n[advisory]\nid = "RUSTSEC-2026-0001"\npackage = "unused-demo"\ndate = "2026-01-01"\n\n[versions]\npatched = [">= 1.2.0"]\n```\n',
    );
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      directories: { "advisory-db-id": advisories },
      exec: workspace("1:3.19.0-1+deb12u7"),
    });
    await connection(async () => {
      const run = await runStageInDagger("dev", {
        source: source(),
        advisoryDb: dag.loadDirectoryFromID("advisory-db-id" as never),
        only: ["fmt"],
      });
      await reportDirectory(run).id();
    });
    const files = fieldCalls(engine.allQueries(), "withNewFile");
    const report = runReportSchema.parse(JSON.parse(String(files.find((file) => file.path === "report.json")?.contents)));
    expect(report.container).toEqual({
      images: [{ ref: RUST_REF, digest: RUST_DIGEST }],
      distro: "debian-12",
      packages: [{ name: "valgrind", version: "1:3.19.0-1+deb12u7", architecture: "amd64" }],
    });
    // Read in the toolchain image itself, with dpkg-query's own formatting.
    const queried = engine.queries.find((query) => execArgvs(query).some((argv) => argv[0] === "dpkg-query")) as string;
    expect(fieldCalls(queried, "from")).toEqual([{ address: RUST_IMAGE }]);
    expect(execArgvs(queried).at(-1)).toEqual(dpkgQueryArgv(["valgrind"]));
    expect(dpkgQueryArgv(["valgrind"])).toEqual([
      "dpkg-query",
      "--show",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a JavaScript template
      "--showformat=${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n",
      "valgrind",
    ]);
  });

  it("a dev run stops with dpkg-query's words when the record cannot be read", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      exec: (argv) =>
        argv[0] === "dpkg-query"
          ? { exitCode: 1, stderr: "dpkg-query: no packages found matching valgrind\n" }
          : workspace("1:3.19.0-1")(argv),
    });
    await expect(connection(() => runStageInDagger("dev", { source: source(), only: ["fmt"] }).then(() => undefined))).rejects.toThrow(
      "dpkg-query exited with 1: dpkg-query: no packages found matching valgrind",
    );
  });
});

describe("parseInstalledPackages", () => {
  it("reads each asked package, in the order asked, whatever order dpkg prints them in", () => {
    expect(
      parseInstalledPackages("ii \tgit\t1:2.39.5-0+deb12u3\tamd64\nii \topenssh-client\t1:9.2p1-2+deb12u10\tarm64\n", [
        "openssh-client",
        "git",
      ]),
    ).toEqual([
      { name: "openssh-client", version: "1:9.2p1-2+deb12u10", architecture: "arm64" },
      { name: "git", version: "1:2.39.5-0+deb12u3", architecture: "amd64" },
    ]);
    expect(parseInstalledPackages("hi \tvalgrind\t1:3.19.0-1\tamd64", ["valgrind"])).toEqual([
      { name: "valgrind", version: "1:3.19.0-1", architecture: "amd64" },
    ]);
  });

  it.each([
    ["no output at all", "", "dpkg-query: valgrind: not listed"],
    [
      "a package removed with its configuration kept",
      "rc \tvalgrind\t1:3.19.0-1\tamd64\n",
      'dpkg-query: valgrind: not installed (dpkg status "rc")',
    ],
    [
      "an installed package with an error flag",
      "iiR\tvalgrind\t1:3.19.0-1\tamd64\n",
      'dpkg-query: valgrind: not installed (dpkg status "iiR")',
    ],
    [
      "a missing field",
      "ii \tvalgrind\t1:3.19.0-1\n",
      "dpkg-query: line 1: expected status, name, version and architecture separated by tabs; valgrind: not listed",
    ],
    ["an empty version", "ii \tvalgrind\t\tamd64\n", 'dpkg-query: valgrind: "" is not a Debian version'],
    ["a version with a space", "ii \tvalgrind\t1:3.19.0 -1\tamd64\n", 'dpkg-query: valgrind: "1:3.19.0 -1" is not a Debian version'],
    ["CRLF line endings", "ii \tvalgrind\t1:3.19.0-1\tamd64\r\n", 'dpkg-query: valgrind: "amd64\\r" is not a dpkg architecture'],
    [
      "a package not asked for",
      "ii \tvalgrind\t1:3.19.0-1\tamd64\nii \tcurl\t7.88.1-10\tamd64\n",
      'dpkg-query: line 2: "curl" was not asked for',
    ],
    [
      "a package listed twice",
      "ii \tvalgrind\t1:3.19.0-1\tamd64\nii \tvalgrind\t1:3.19.0-2\tamd64\n",
      "dpkg-query: valgrind: listed twice",
    ],
  ])("refuses %s, naming the package", (_, output, message) => {
    expect(() => parseInstalledPackages(output, ["valgrind"])).toThrow(new ContainerRecordError(message));
  });

  it("reports every problem at once, and a huge hostile line as one problem", () => {
    expect(() => parseInstalledPackages(`${"x".repeat(200_000)}\n`, ["valgrind", "git"])).toThrow(
      "dpkg-query: line 1: expected status, name, version and architecture separated by tabs; valgrind: not listed; git: not listed",
    );
  });
});

describe("pinnedImage", () => {
  it("splits a reference pinned by digest, and refuses one that is not", () => {
    expect(pinnedImage(RUST_IMAGE)).toEqual({ ref: RUST_REF, digest: RUST_DIGEST });
    expect(() => pinnedImage("rust:1.95.0-slim-bookworm")).toThrow('"rust:1.95.0-slim-bookworm" is not pinned by a sha256 digest');
    expect(() => pinnedImage(`rust@sha256:${"A".repeat(64)}`)).toThrow(TypeError);
  });
});
