/**
 * A fake GitHub REST API on 127.0.0.1 (api and uploads hosts, or GitHub
 * Enterprise paths on one server) that checks every request against the
 * documented endpoint and records it; shared by the release tests.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";
import { z } from "zod";
import { GITHUB_API_VERSION } from "../../src/adapters/github.js";

export const TOKEN = "ghp_S3CR3Tt0kenNeverToBeSeen0123456789ab";
export const OWNER = "shriven";
export const REPO = "quant";

export interface Recorded {
  readonly server: "api" | "uploads";
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface FakeAsset {
  id: number;
  name: string;
  label: string | null;
  contentType: string;
  data: Buffer;
}

export interface FakeRelease {
  id: number;
  tag: string;
  name: string;
  body: string;
  prerelease: boolean;
  assets: FakeAsset[];
}

export const JSON_ACCEPT = ["application/vnd.github.v3+json", "application/vnd.github+json", "application/json"];

export class FakeGitHub {
  readonly requests: Recorded[] = [];
  readonly violations: string[] = [];
  readonly releases = new Map<string, FakeRelease>();
  /** Answer assets with the `digest` field GitHub added in 2025. */
  digest = false;
  /** The repositories that exist. */
  readonly repos = new Set([`${OWNER}/${REPO}`]);
  /** Let creating a release fail with 422, as when the tag has a release GET did not return. */
  createRejected = false;
  #nextId = 100;
  #api!: Server;
  #uploads!: Server;

  constructor(readonly mode: "dotcom" | "ghe") {}

  async start(): Promise<this> {
    this.#api = await listen((req, res) => this.#handle("api", req, res));
    // github.com uploads go to another host (uploads.github.com); GHE serves them under /api/uploads.
    this.#uploads = this.mode === "dotcom" ? await listen((req, res) => this.#handle("uploads", req, res)) : this.#api;
    return this;
  }

  async stop(): Promise<void> {
    await close(this.#api);
    if (this.#uploads !== this.#api) await close(this.#uploads);
  }

  /** The API root to pass as `baseUrl`. */
  get baseUrl(): string {
    return `${origin(this.#api)}${this.mode === "ghe" ? "/api/v3" : ""}`;
  }

  get #apiPrefix(): string {
    return this.mode === "ghe" ? "/api/v3" : "";
  }

  get #uploadsRoot(): string {
    return `${origin(this.#uploads)}${this.mode === "ghe" ? "/api/uploads" : ""}`;
  }

  /** Publishes a release with assets directly, as an earlier run would have. */
  seed(tag: string, assets: Record<string, string>, body = "earlier notes"): FakeRelease {
    const release: FakeRelease = { id: this.#nextId++, tag, name: tag, body, prerelease: false, assets: [] };
    for (const [name, text] of Object.entries(assets)) {
      release.assets.push({ id: this.#nextId++, name, label: null, contentType: "application/octet-stream", data: Buffer.from(text) });
    }
    this.releases.set(tag, release);
    return release;
  }

  /** Requests other than the read-only ones. */
  writes(): Recorded[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  #handle(server: "api" | "uploads", req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: Recorded = {
        server,
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      this.requests.push(recorded);
      try {
        this.#route(recorded, res);
      } catch (error) {
        this.violations.push(`${recorded.method} ${recorded.path}: ${String(error)}`);
        send(res, 500, { message: "fake server error" });
      }
    });
  }

  #violation(r: Recorded, problem: string): void {
    this.violations.push(`${r.method} ${r.path}: ${problem}`);
  }

  #checkCommon(r: Recorded, accept: readonly string[]): boolean {
    const ua = r.headers["user-agent"];
    if (ua === undefined || ua === "") this.#violation(r, "no User-Agent (GitHub requires one)");
    if (r.headers["x-github-api-version"] !== GITHUB_API_VERSION) {
      this.#violation(r, `X-GitHub-Api-Version is ${String(r.headers["x-github-api-version"])}`);
    }
    const acceptHeader = r.headers.accept ?? "";
    if (!accept.some((a) => acceptHeader.split(",").some((part) => part.trim().startsWith(a)))) {
      this.#violation(r, `Accept ${acceptHeader} is not one of ${accept.join(", ")}`);
    }
    const auth = /^(token|bearer) (.+)$/i.exec(r.headers.authorization ?? "");
    if (auth === null) {
      this.#violation(r, "no Authorization: token/Bearer header");
      return false;
    }
    return auth[2] === TOKEN;
  }

  #route(r: Recorded, res: ServerResponse): void {
    if (r.method === "DELETE" || r.method === "PATCH" || r.method === "PUT") {
      this.#violation(r, "destructive request: assets and releases must never be deleted or overwritten");
      send(res, 405, { message: "not allowed in this test" });
      return;
    }
    if (r.path.startsWith("/storage/")) {
      this.#storage(r, res);
      return;
    }
    if (r.server === "uploads" || r.path.startsWith("/api/uploads/")) {
      this.#upload(r, res);
      return;
    }
    if (!r.path.startsWith(`${this.#apiPrefix}/`)) {
      this.#violation(r, `not under the API root ${this.#apiPrefix}/`);
      send(res, 404, { message: "Not Found" });
      return;
    }
    const path = r.path.slice(this.#apiPrefix.length);
    const download = /^\/repos\/[^/]+\/[^/]+\/releases\/assets\/\d+$/.test(path) && r.headers.accept === "application/octet-stream";
    if (!this.#checkCommon(r, download ? ["application/octet-stream"] : JSON_ACCEPT)) {
      send(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      return;
    }
    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(path);
    if (repoMatch === null) {
      this.#unexpected(r, res);
      return;
    }
    const [, owner, repo, rest = ""] = repoMatch;
    if (!this.repos.has(`${owner}/${repo}`)) {
      send(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
      return;
    }
    const byTag = /^\/releases\/tags\/([^/]+)$/.exec(rest);
    const list = /^\/releases\/(\d+)\/assets$/.exec(rest);
    const single = /^\/releases\/assets\/(\d+)$/.exec(rest);
    if (r.method === "GET" && byTag !== null) {
      const release = this.releases.get(decodeURIComponent(byTag[1] ?? ""));
      if (release === undefined) send(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
      else send(res, 200, this.#releaseJson(release));
      return;
    }
    if (r.method === "POST" && rest === "/releases") {
      this.#create(r, res);
      return;
    }
    if (r.method === "GET" && list !== null) {
      const release = [...this.releases.values()].find((x) => x.id === Number(list[1]));
      send(
        res,
        release === undefined ? 404 : 200,
        release === undefined ? { message: "Not Found" } : release.assets.map((a) => this.#assetJson(a)),
      );
      return;
    }
    if (r.method === "GET" && single !== null) {
      const asset = this.#asset(Number(single[1]));
      if (asset === undefined) {
        send(res, 404, { message: "Not Found" });
      } else if (download) {
        // As on github.com: a redirect to the storage host, which must not get the token.
        res.writeHead(302, { location: `${origin(this.#uploads)}/storage/${asset.id}` });
        res.end();
      } else {
        send(res, 200, this.#assetJson(asset));
      }
      return;
    }
    this.#unexpected(r, res);
  }

  #create(r: Recorded, res: ServerResponse): void {
    if (!String(r.headers["content-type"]).startsWith("application/json")) this.#violation(r, "body is not JSON");
    const parsed = z
      .object({
        tag_name: z.string().regex(/^v\d+\.\d+\.\d+/),
        name: z.string().min(1),
        body: z.string(),
        draft: z.literal(false),
        prerelease: z.boolean(),
        target_commitish: z.string().optional(),
      })
      .strict()
      .safeParse(JSON.parse(r.body.toString("utf8")));
    if (!parsed.success) {
      this.#violation(r, `create body: ${parsed.error.message}`);
      send(res, 422, { message: "Invalid request" });
      return;
    }
    if (this.createRejected || this.releases.has(parsed.data.tag_name)) {
      send(res, 422, {
        message: "Validation Failed",
        errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }],
        documentation_url: "https://docs.github.com/rest/releases/releases#create-a-release",
        status: "422",
      });
      return;
    }
    const release: FakeRelease = {
      id: this.#nextId++,
      tag: parsed.data.tag_name,
      name: parsed.data.name,
      body: parsed.data.body,
      prerelease: parsed.data.prerelease,
      assets: [],
    };
    this.releases.set(release.tag, release);
    send(res, 201, this.#releaseJson(release));
  }

  #upload(r: Recorded, res: ServerResponse): void {
    const prefix = this.mode === "ghe" ? "/api/uploads" : "";
    if (!this.#checkCommon(r, JSON_ACCEPT)) {
      send(res, 401, { message: "Bad credentials" });
      return;
    }
    const m = new RegExp(`^${prefix}/repos/${OWNER}/${REPO}/releases/(\\d+)/assets$`).exec(r.path);
    const release = [...this.releases.values()].find((x) => x.id === Number(m?.[1]));
    if (r.method !== "POST" || release === undefined) {
      this.#unexpected(r, res);
      return;
    }
    const name = r.query.name;
    if (name === undefined || name === "") this.#violation(r, "upload without the name query parameter");
    const contentType = r.headers["content-type"];
    if (contentType === undefined || contentType === "") this.#violation(r, "upload without Content-Type");
    const length = r.headers["content-length"];
    if (length === undefined) this.#violation(r, "upload without Content-Length");
    else if (Number(length) !== r.body.length) this.#violation(r, `Content-Length ${length} but ${r.body.length} bytes sent`);
    if (r.body.length === 0) this.#violation(r, "empty upload");
    if (release.assets.some((a) => a.name === name)) {
      send(res, 422, {
        message: "Validation Failed",
        errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }],
        documentation_url: "https://docs.github.com/rest",
        status: "422",
      });
      return;
    }
    const asset: FakeAsset = {
      id: this.#nextId++,
      name: name ?? "",
      label: r.query.label ?? null,
      contentType: contentType ?? "",
      data: r.body,
    };
    release.assets.push(asset);
    send(res, 201, this.#assetJson(asset));
  }

  #storage(r: Recorded, res: ServerResponse): void {
    if (this.mode === "dotcom" && r.headers.authorization !== undefined) this.#violation(r, "the token was sent to the storage host");
    const asset = this.#asset(Number(r.path.slice("/storage/".length)));
    if (asset === undefined) {
      this.#unexpected(r, res);
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": asset.data.length });
    res.end(asset.data);
  }

  #unexpected(r: Recorded, res: ServerResponse): void {
    this.#violation(r, "no such endpoint in this test");
    send(res, 404, { message: "Not Found" });
  }

  #asset(id: number): FakeAsset | undefined {
    for (const release of this.releases.values()) {
      const asset = release.assets.find((a) => a.id === id);
      if (asset !== undefined) return asset;
    }
    return undefined;
  }

  #releaseJson(release: FakeRelease): Record<string, unknown> {
    const api = `${origin(this.#api)}${this.#apiPrefix}/repos/${OWNER}/${REPO}`;
    return {
      url: `${api}/releases/${release.id}`,
      assets_url: `${api}/releases/${release.id}/assets`,
      upload_url: `${this.#uploadsRoot}/repos/${OWNER}/${REPO}/releases/${release.id}/assets{?name,label}`,
      html_url: `https://github.example/${OWNER}/${REPO}/releases/tag/${release.tag}`,
      id: release.id,
      node_id: "RE_kw",
      tag_name: release.tag,
      target_commitish: "main",
      name: release.name,
      draft: false,
      prerelease: release.prerelease,
      created_at: "2025-01-01T00:00:00Z",
      published_at: "2025-01-01T00:00:00Z",
      assets: release.assets.map((a) => this.#assetJson(a)),
      tarball_url: null,
      zipball_url: null,
      body: release.body,
    };
  }

  #assetJson(asset: FakeAsset): Record<string, unknown> {
    return {
      url: `${origin(this.#api)}${this.#apiPrefix}/repos/${OWNER}/${REPO}/releases/assets/${asset.id}`,
      browser_download_url: `https://github.example/${OWNER}/${REPO}/releases/download/x/${asset.name}`,
      id: asset.id,
      node_id: "RA_kw",
      name: asset.name,
      label: asset.label,
      state: "uploaded",
      content_type: asset.contentType,
      size: asset.data.length,
      ...(this.digest ? { digest: `sha256:${createHash("sha256").update(asset.data).digest("hex")}` } : {}),
      download_count: 0,
      created_at: "2025-01-01T00:00:00Z",
      updated_at: "2025-01-01T00:00:00Z",
      uploader: null,
    };
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export function origin(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// ---------------------------------------------------------------------------

const started: FakeGitHub[] = [];
afterEach(async () => {
  for (const github of started.splice(0)) await github.stop();
});

export async function fakeGitHub(mode: "dotcom" | "ghe" = "dotcom"): Promise<FakeGitHub> {
  const github = await new FakeGitHub(mode).start();
  started.push(github);
  return github;
}
