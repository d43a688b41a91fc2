import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { publishRelease } from "../../src/release/github-release.js";
import type { PublishReleaseOptions } from "../../src/release/publish-types.js";
import { ReleaseAssetConflict, ReleaseError } from "../../src/release/release-error.js";
import { close, type FakeAsset, type FakeGitHub, fakeGitHub, listen, OWNER, origin, REPO, TOKEN } from "../helpers/fake-github.js";
import { tempDir } from "../helpers/temp.js";

/** Every error any test saw, checked at the end for the token. */
const seenErrors: unknown[] = [];

async function failure(run: Promise<unknown>): Promise<unknown> {
  try {
    await run;
  } catch (error) {
    seenErrors.push(error);
    return error;
  }
  throw new Error("expected the call to fail");
}

function expectNoToken(value: unknown): void {
  const texts = [
    inspect(value, { depth: null, showHidden: true }),
    String(value),
    JSON.stringify(value, Object.getOwnPropertyNames(value ?? {})),
  ];
  for (const text of texts) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN.slice(4));
    expect(text).not.toContain(Buffer.from(TOKEN).toString("base64").replace(/=+$/, ""));
  }
}

// ---------------------------------------------------------------------------
// A GitHub stand-in on loopback. It implements the documented endpoints
// (https://docs.github.com/rest/releases), checks every request against them and
// records it. A request breaking the documented contract is a violation; every
// test asserts there were none.

/** Three release files in a fresh folder. */
function releaseFiles(): { dir: string; assets: { path: string; name: string; contentType?: string }[] } {
  const dir = tempDir("gh-release-");
  const files: Record<string, string> = {
    "quant-1.2.3-x86_64-linux.tar.gz": "binary archive bytes \u0000\u0001\u0002",
    "SHA256SUMS.txt": "abc  quant-1.2.3-x86_64-linux.tar.gz\n",
    "provenance.intoto.jsonl": '{"_type":"https://in-toto.io/Statement/v1"}\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    dir,
    assets: [
      { path: join(dir, "quant-1.2.3-x86_64-linux.tar.gz"), name: "quant-1.2.3-x86_64-linux.tar.gz" },
      { path: join(dir, "SHA256SUMS.txt"), name: "SHA256SUMS.txt" },
      { path: join(dir, "provenance.intoto.jsonl"), name: "provenance.intoto.jsonl", contentType: "application/vnd.in-toto+json" },
    ],
  };
}

function options(
  github: FakeGitHub,
  assets: PublishReleaseOptions["assets"],
  extra: Partial<PublishReleaseOptions> = {},
): PublishReleaseOptions {
  return {
    token: TOKEN,
    owner: OWNER,
    repo: REPO,
    tag: "v1.2.3",
    notes: "## Changes\n- faster",
    assets,
    baseUrl: github.baseUrl,
    ...extra,
  };
}

describe("publishRelease against a loopback GitHub", () => {
  it("creates a fresh release and uploads three assets to the upload_url", async () => {
    const github = await fakeGitHub();
    const { assets } = releaseFiles();

    const result = await publishRelease(options(github, assets, { name: "Quant 1.2.3" }));

    expect(github.violations).toEqual([]);
    expect(result).toMatchObject({ created: true, notesWritten: true, notesDiffer: false, skipped: [] });
    expect(result.uploaded).toEqual(assets.map((a) => a.name));
    expect(result.htmlUrl).toBe(`https://github.example/${OWNER}/${REPO}/releases/tag/v1.2.3`);

    const [lookup, create, ...uploads] = github.requests;
    expect(lookup).toMatchObject({ server: "api", method: "GET", path: `/repos/${OWNER}/${REPO}/releases/tags/v1.2.3` });
    expect(create).toMatchObject({ server: "api", method: "POST", path: `/repos/${OWNER}/${REPO}/releases` });
    expect(JSON.parse(create?.body.toString() ?? "")).toEqual({
      tag_name: "v1.2.3",
      name: "Quant 1.2.3",
      body: "## Changes\n- faster",
      draft: false,
      prerelease: false,
    });
    expect(uploads).toHaveLength(3);
    const release = github.releases.get("v1.2.3");
    for (const [i, upload] of uploads.entries()) {
      const asset = assets[i];
      expect(upload).toMatchObject({
        server: "uploads",
        method: "POST",
        path: `/repos/${OWNER}/${REPO}/releases/${release?.id}/assets`,
        query: { name: asset?.name },
      });
      expect(upload.body.equals(readFileSync(asset?.path ?? ""))).toBe(true);
      expect(upload.headers["content-length"]).toBe(String(upload.body.length));
    }
    expect(uploads.map((u) => u.headers["content-type"])).toEqual(["application/gzip", "text/plain", "application/vnd.in-toto+json"]);
    expect(release?.assets.map((a) => a.name)).toEqual(assets.map((a) => a.name));
    expectNoToken(result);
  });

  it("marks a prerelease tag as a prerelease", async () => {
    const github = await fakeGitHub();
    await publishRelease(options(github, [], { tag: "v1.3.0-rc.1" }));
    expect(github.violations).toEqual([]);
    expect(JSON.parse(github.requests[1]?.body.toString() ?? "")).toMatchObject({
      tag_name: "v1.3.0-rc.1",
      name: "v1.3.0-rc.1",
      prerelease: true,
    });
  });

  it("re-run with the same files: reuses the release, keeps its notes, uploads nothing (comparing by download)", async () => {
    const github = await fakeGitHub();
    const { assets } = releaseFiles();
    await publishRelease(options(github, assets));
    const published = github.releases.get("v1.2.3");
    if (published !== undefined) published.body = "notes edited on GitHub";
    github.requests.length = 0;

    const again = await publishRelease(options(github, assets));

    expect(github.violations).toEqual([]);
    expect(again).toMatchObject({ created: false, notesWritten: false, notesDiffer: true, uploaded: [] });
    expect(again.skipped).toEqual(assets.map((a) => a.name));
    expect(github.writes()).toEqual([]);
    expect(github.releases.get("v1.2.3")?.body).toBe("notes edited on GitHub");
    // Without a digest the published assets were downloaded (and followed to storage without the token).
    const downloads = github.requests.filter((r) => /\/releases\/assets\/\d+$/.test(r.path));
    expect(downloads).toHaveLength(3);
    for (const d of downloads) expect(d.headers.accept).toBe("application/octet-stream");
    expect(github.requests.filter((r) => r.path.startsWith("/storage/"))).toHaveLength(3);
  });

  it("re-run where GitHub gives asset digests: skips without downloading anything", async () => {
    const github = await fakeGitHub();
    github.digest = true;
    const { assets } = releaseFiles();
    await publishRelease(options(github, assets));
    github.requests.length = 0;

    const again = await publishRelease(options(github, assets));

    expect(github.violations).toEqual([]);
    expect(again.skipped).toHaveLength(3);
    expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /repos/${OWNER}/${REPO}/releases/tags/v1.2.3`]);
  });

  it.each([
    ["same size, other bytes (compared by download)", false, "binary archive bytes \u0000\u0001\u0003"],
    ["same size, other bytes (compared by digest)", true, "binary archive bytes \u0000\u0001\u0003"],
    ["other size", false, "rebuilt archive"],
  ])("re-run with one changed file, %s: ReleaseAssetConflict, nothing uploaded or deleted", async (_case, digest, changed) => {
    const github = await fakeGitHub();
    github.digest = digest;
    const { assets } = releaseFiles();
    await publishRelease(options(github, assets));
    // The changed file is the first one: the others must not be uploaded either.
    const extra = join(tempDir(), "late.txt");
    writeFileSync(extra, "a new file");
    writeFileSync(assets[0]?.path ?? "", changed);
    github.requests.length = 0;

    const error = await failure(publishRelease(options(github, [...assets, { path: extra, name: "late.txt" }])));

    expect(error).toBeInstanceOf(ReleaseAssetConflict);
    const conflict = error as ReleaseAssetConflict;
    expect(conflict.asset).toBe("quant-1.2.3-x86_64-linux.tar.gz");
    expect(conflict.assets).toEqual(["quant-1.2.3-x86_64-linux.tar.gz"]);
    expect(conflict.message).toContain("release asset quant-1.2.3-x86_64-linux.tar.gz on the release v1.2.3 of shriven/quant");
    expect(conflict.message).toContain("differs from the published asset");
    expect(conflict.message).toContain("refusing to overwrite");
    expect(github.violations).toEqual([]);
    expect(github.writes()).toEqual([]);
    expect(github.releases.get("v1.2.3")?.assets.map((a) => a.name)).not.toContain("late.txt");
    expectNoToken(error);
  });

  it("an asset added later: only that one is uploaded", async () => {
    const github = await fakeGitHub();
    const { dir, assets } = releaseFiles();
    await publishRelease(options(github, assets));
    writeFileSync(join(dir, "sbom.cdx.json"), '{"bomFormat":"CycloneDX"}');
    github.requests.length = 0;

    const result = await publishRelease(options(github, [...assets, { path: join(dir, "sbom.cdx.json"), name: "sbom.cdx.json" }]));

    expect(github.violations).toEqual([]);
    expect(result).toMatchObject({ created: false, uploaded: ["sbom.cdx.json"] });
    expect(result.skipped).toEqual(assets.map((a) => a.name));
    const writes = github.writes();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ server: "uploads", query: { name: "sbom.cdx.json" } });
    expect(writes[0]?.headers["content-type"]).toBe("application/json");
  });

  it("an asset that appears between the listing and the upload (422 already_exists) is compared, not overwritten", async () => {
    const github = await fakeGitHub();
    const { assets } = releaseFiles();
    const release = github.seed("v1.2.3", {});
    // Published by a concurrent run after this run's GET of the release: the upload gets 422.
    const originalSeed = readFileSync(assets[1]?.path ?? "");
    const realPush = release.assets.push.bind(release.assets);
    let racedIn = false;
    release.assets.push = (...items: FakeAsset[]) => {
      if (!racedIn) {
        racedIn = true;
        realPush({ id: 999, name: "SHA256SUMS.txt", label: null, contentType: "text/plain", data: originalSeed });
      }
      return realPush(...items);
    };

    const result = await publishRelease(options(github, assets));

    expect(github.violations).toEqual([]);
    expect(result.uploaded).toEqual(["quant-1.2.3-x86_64-linux.tar.gz", "provenance.intoto.jsonl"]);
    expect(result.skipped).toEqual(["SHA256SUMS.txt"]);
    expect(github.requests.some((r) => r.path.endsWith(`/releases/${release.id}/assets`) && r.method === "GET")).toBe(true);
  });

  it("works against a GitHub Enterprise base URL, uploading to the upload_url the server returns", async () => {
    const github = await fakeGitHub("ghe");
    const { assets } = releaseFiles();
    expect(github.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);

    const result = await publishRelease(options(github, assets));
    const again = await publishRelease(options(github, assets));

    expect(github.violations).toEqual([]);
    expect(result.uploaded).toHaveLength(3);
    expect(again.skipped).toHaveLength(3);
    const id = github.releases.get("v1.2.3")?.id;
    expect(github.requests[0]?.path).toBe(`/api/v3/repos/${OWNER}/${REPO}/releases/tags/v1.2.3`);
    expect(github.requests[1]?.path).toBe(`/api/v3/repos/${OWNER}/${REPO}/releases`);
    expect(github.requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual([
      `/api/v3/repos/${OWNER}/${REPO}/releases`,
      ...assets.map(() => `/api/uploads/repos/${OWNER}/${REPO}/releases/${id}/assets`),
    ]);
  });

  it("401: a clear error naming the token problem, without the token", async () => {
    const github = await fakeGitHub();
    const error = await failure(publishRelease({ ...options(github, releaseFiles().assets), token: `${TOKEN}x` }));

    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).status).toBe(401);
    expect((error as Error).message).toBe(
      "getting the release v1.2.3 of shriven/quant: GitHub rejected the token (HTTP 401 Bad credentials); check that it is set, valid and not expired",
    );
    expect(github.writes()).toEqual([]);
    expectNoToken(error);
    expect(inspect(error)).not.toContain(`${TOKEN}x`);
  });

  it("404 repository: says the repository is missing or invisible to the token", async () => {
    const github = await fakeGitHub();
    const error = await failure(publishRelease({ ...options(github, []), repo: "missing" }));
    expect((error as ReleaseError).status).toBe(404);
    expect((error as Error).message).toBe(
      "creating the release v1.2.3 of shriven/missing: repository shriven/missing not found, or the token cannot see it (HTTP 404 Not Found)",
    );
    expectNoToken(error);
  });

  it("422 on create: reports GitHub's validation errors", async () => {
    const github = await fakeGitHub();
    github.createRejected = true;
    const error = await failure(publishRelease(options(github, [])));
    expect((error as ReleaseError).status).toBe(422);
    expect((error as Error).message).toBe(
      "creating the release v1.2.3 of shriven/quant: GitHub refused the request (HTTP 422 Validation Failed: Release tag_name already_exists)",
    );
    expectNoToken(error);
  });

  it("network failure: names the host and the cause", async () => {
    const closed = await listen(() => {});
    const base = origin(closed);
    await close(closed);
    const begin = Date.now();
    const error = await failure(
      publishRelease({ token: TOKEN, owner: OWNER, repo: REPO, tag: "v1.2.3", notes: "", assets: [], baseUrl: base }),
    );
    expect(Date.now() - begin).toBeLessThan(5_000);
    expect((error as Error).message).toBe(
      `getting the release v1.2.3 of shriven/quant: cannot reach GitHub at ${base} (connection refused)`,
    );
    expect((error as ReleaseError).status).toBeUndefined();
    expectNoToken(error);
  });

  it("a request that never gets an answer times out", async () => {
    const silent = await listen(() => {});
    try {
      const error = await failure(
        publishRelease({
          token: TOKEN,
          owner: OWNER,
          repo: REPO,
          tag: "v1.2.3",
          notes: "",
          assets: [],
          baseUrl: origin(silent),
          timeoutMs: 200,
        }),
      );
      expect((error as Error).message).toBe(
        `getting the release v1.2.3 of shriven/quant: cannot reach GitHub at ${origin(silent)} (timed out after 200 ms)`,
      );
    } finally {
      await close(silent);
    }
  });

  it("rejects bad options before any request", async () => {
    const github = await fakeGitHub();
    const { assets } = releaseFiles();
    const cases: [Partial<PublishReleaseOptions>, string][] = [
      [{ tag: "1.2.3" }, '"1.2.3" is not a release tag: expected vMAJOR.MINOR.PATCH such as v1.2.3'],
      [{ token: "" }, "no GitHub token given"],
      [
        { assets: [...assets, { path: assets[0]?.path ?? "", name: "SHA256SUMS.txt" }] },
        "release asset name SHA256SUMS.txt is given twice",
      ],
      [
        { assets: [{ path: "/nonexistent/file.bin", name: "file.bin" }] },
        "release asset file.bin: cannot read /nonexistent/file.bin (ENOENT)",
      ],
    ];
    for (const [extra, message] of cases) {
      const error = await failure(publishRelease(options(github, assets, extra)));
      expect((error as Error).message).toBe(message);
    }
    const badName = await failure(publishRelease(options(github, [{ path: assets[0]?.path ?? "", name: "my file.tar.gz" }])));
    expect((badName as Error).message).toContain("has characters GitHub would rename");
    expect(github.requests).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Replays of real GitHub traffic recorded by @octokit/fixtures. Its
// `fixtures.mock()` intercepts through nock 13, which patches node:http only and
// cannot see the fetch octokit v5 uses, so the recordings are replayed through
// the `request.fetch` option instead: each request must match the next recorded
// one (method, URL, the recorded request headers, body) and gets its recorded answer.

const fixtureSchema = z.array(
  z.object({
    scope: z.string(),
    method: z.string(),
    path: z.string(),
    body: z.unknown(),
    status: z.number(),
    response: z.unknown(),
    reqheaders: z.record(z.string(), z.union([z.string(), z.number()])),
    headers: z.record(z.string(), z.union([z.string(), z.number()])),
  }),
);
type Fixture = z.output<typeof fixtureSchema>[number];

function loadFixture(scenario: string): Fixture[] {
  const require = createRequire(import.meta.url);
  const file = require.resolve(`@octokit/fixtures/scenarios/api.github.com/${scenario}/normalized-fixture.json`);
  return fixtureSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** The token the recordings were normalized to. */
const FIXTURE_TOKEN = "0000000000000000000000000000000000000001";

interface Replay {
  readonly fetch: typeof fetch;
  readonly used: Fixture[];
  readonly mismatches: string[];
  /** Requests answered by `extra` (not in the recording). */
  readonly extraUsed: string[];
}

function replay(recorded: readonly Fixture[], extra: (method: string, url: string) => Response | undefined = () => undefined): Replay {
  const queue = [...recorded];
  const state: Replay = {
    used: [],
    mismatches: [],
    extraUsed: [],
    fetch: async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const method = (init?.method ?? "GET").toUpperCase();
      const headers = new Headers(init?.headers);
      const next = queue[0];
      const expectedUrl = next === undefined ? "" : `${next.scope.replace(/:443$/, "")}${next.path}`;
      if (next === undefined || next.method.toUpperCase() !== method || expectedUrl !== url) {
        const answer = extra(method, url);
        if (answer !== undefined) {
          state.extraUsed.push(`${method} ${url}`);
          return answer;
        }
        state.mismatches.push(
          `${method} ${url}: expected ${next === undefined ? "no more requests" : `${next.method.toUpperCase()} ${expectedUrl}`}`,
        );
        throw new TypeError("fetch failed", { cause: Object.assign(new Error("no recorded answer"), { code: "ECONNREFUSED" }) });
      }
      queue.shift();
      for (const [name, value] of Object.entries(next.reqheaders)) {
        if (name === "host") continue;
        if (headers.get(name) !== String(value))
          state.mismatches.push(`${method} ${url}: header ${name} is ${headers.get(name)}, recorded ${value}`);
      }
      const body = init?.body;
      const sent =
        body === undefined || body === null ? "" : typeof body === "string" ? body : Buffer.from(body as Uint8Array).toString("utf8");
      const recordedBody = typeof next.body === "string" ? next.body : JSON.stringify(next.body);
      if (sent !== recordedBody)
        state.mismatches.push(`${method} ${url}: body ${JSON.stringify(sent)}, recorded ${JSON.stringify(recordedBody)}`);
      state.used.push(next);
      const responseHeaders = Object.fromEntries(
        Object.entries(next.headers)
          .filter(([name]) => name !== "content-length")
          .map(([name, value]) => [name, String(value)]),
      );
      const text = next.status === 204 || next.response === "" ? null : JSON.stringify(next.response);
      return new Response(text, { status: next.status, headers: responseHeaders });
    },
  };
  return state;
}

function fixtureFile(text = "Hello, world!\n"): string {
  const path = join(tempDir("gh-fixture-"), "test-upload.txt");
  writeFileSync(path, text);
  return path;
}

describe("publishRelease against recorded GitHub traffic (@octokit/fixtures)", () => {
  it("release-assets: gets the existing release by tag, then uploads to its upload_url as recorded", async () => {
    const recorded = loadFixture("release-assets");
    const transport = replay(recorded);

    const result = await publishRelease({
      token: FIXTURE_TOKEN,
      owner: "octokit-fixture-org",
      repo: "release-assets",
      tag: "v1.0.0",
      notes: "Initial release",
      assets: [{ path: fixtureFile(), name: "test-upload.txt", label: "test" }],
      request: { fetch: transport.fetch },
    });

    expect(transport.mismatches).toEqual([]);
    // The recording goes on to edit and delete the asset; publishing must stop after the upload.
    expect(transport.used.map((f) => `${f.method} ${f.path}`)).toEqual([
      "get /repos/octokit-fixture-org/release-assets/releases/tags/v1.0.0",
      "post /repos/octokit-fixture-org/release-assets/releases/1000/assets?name=test-upload.txt&label=test",
    ]);
    expect(result).toEqual({
      releaseId: 1000,
      htmlUrl: "https://github.com/octokit-fixture-org/release-assets/releases/tag/v1.0.0",
      created: false,
      notesWritten: false,
      notesDiffer: false,
      uploaded: ["test-upload.txt"],
      skipped: [],
    });
  });

  describe("release-assets-conflict: the upload gets 422 already_exists (the recorded client then deleted the asset)", () => {
    const recorded = loadFixture("release-assets-conflict");
    const assetUrl = "https://api.github.com/repos/octokit-fixture-org/release-assets-conflict/releases/assets/1000";
    // The recording has no download of the asset; this one answer is made up.
    const download = (content: string) => (method: string, url: string) =>
      method === "GET" && url === assetUrl
        ? new Response(content, { status: 200, headers: { "content-type": "application/octet-stream" } })
        : undefined;
    const publish = (transport: Replay) =>
      publishRelease({
        token: FIXTURE_TOKEN,
        owner: "octokit-fixture-org",
        repo: "release-assets-conflict",
        tag: "v1.0.0",
        notes: "Initial release",
        assets: [{ path: fixtureFile(), name: "test-upload.txt", label: "test" }],
        request: { fetch: transport.fetch },
      });
    const expectedPrefix = [
      "get /repos/octokit-fixture-org/release-assets-conflict/releases/tags/v1.0.0",
      "post /repos/octokit-fixture-org/release-assets-conflict/releases/1000/assets?name=test-upload.txt&label=test",
      "get /repos/octokit-fixture-org/release-assets-conflict/releases/1000/assets",
    ];

    it("identical published content: skipped", async () => {
      const transport = replay(recorded, download("Hello, world!\n"));
      const result = await publish(transport);
      expect(transport.mismatches).toEqual([]);
      expect(transport.used.map((f) => `${f.method} ${f.path}`)).toEqual(expectedPrefix);
      expect(transport.extraUsed).toEqual([`GET ${assetUrl}`]);
      expect(result).toMatchObject({ uploaded: [], skipped: ["test-upload.txt"] });
    });

    it("other published content: ReleaseAssetConflict, and the recorded DELETE is never sent", async () => {
      const transport = replay(recorded, download("Hello, WORLD!\n"));
      const error = await failure(publish(transport));
      expect(transport.mismatches).toEqual([]);
      expect(transport.used.map((f) => `${f.method} ${f.path}`)).toEqual(expectedPrefix);
      expect(error).toBeInstanceOf(ReleaseAssetConflict);
      expect((error as Error).message).toMatch(
        /^release asset test-upload\.txt on the release v1\.0\.0 of octokit-fixture-org\/release-assets-conflict differs from the published asset \(.*\); refusing to overwrite$/,
      );
      expectNoToken(error);
      expect(inspect(error)).not.toContain(FIXTURE_TOKEN);
    });
  });
});

afterAll(() => {
  expect(seenErrors.length).toBeGreaterThan(5);
  for (const error of seenErrors) expectNoToken(error);
});
