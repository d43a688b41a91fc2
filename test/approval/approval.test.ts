import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { GITHUB_API_VERSION } from "../../src/adapters/github.js";
import { formatPublicKey, loadSigningKey, type SigningKey, signFile } from "../../src/adapters/minisign.js";
import { ApprovalError } from "../../src/approval/approval-error.js";
import type { Approval } from "../../src/approval/approvals.js";
import { decideApproval, SELF_APPROVAL_REASON } from "../../src/approval/decide.js";
import { approvalsFromGitHub } from "../../src/approval/github-reviews.js";
import {
  type ApprovalPolicy,
  approvalPolicyFrom,
  approvalSchema,
  DEFAULT_APPROVALS_DIR,
  parseApprovalTable,
} from "../../src/approval/policy.js";
import { recordApprovals } from "../../src/approval/record-approvals.js";
import { approvalFileName, approvalsFromFiles, writeSignedApproval } from "../../src/approval/signed-files.js";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { ConfigError } from "../../src/core/errors.js";
import { configError } from "../helpers/config-error.js";
import { close, listen, origin, send, TOKEN } from "../helpers/fake-github.js";
import { tempDir } from "../helpers/temp.js";

const TAG = "v1.2.3";
const COMMIT = "4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e";
const KEYS = {
  asha: loadSigningKey(randomBytes(32).toString("hex"), "asha's key"),
  ravi: loadSigningKey(randomBytes(32).toString("hex"), "ravi's key"),
  meera: loadSigningKey(randomBytes(32).toString("hex"), "meera's key"),
  mallory: loadSigningKey(randomBytes(32).toString("hex"), "mallory's key"),
};
const TAG_CREATED = new Date("2026-11-27T10:12:00Z");
const LATER = new Date("2026-11-27T11:30:00Z");

/** The base64 line of a key's `.pub` file, as `public_key` takes it. */
function publicKeyLine(key: SigningKey): string {
  return formatPublicKey(key).split("\n")[1] as string;
}

/** The policy with asha, ravi and meera as approvers (mallory is not one). */
function policy(overrides: Record<string, unknown> = {}): ApprovalPolicy {
  return parseApprovalTable(
    {
      approvers: (["asha", "ravi", "meera"] as const).map((name) => ({ name, public_key: publicKeyLine(KEYS[name]) })),
      ...overrides,
    },
    "shriven-pipeline.toml",
  );
}

interface ApprovalFile {
  /** Who signs. */
  key: SigningKey;
  /** The `approver=` line. */
  approver: string;
  tag?: string;
  commit?: string;
  at?: string;
  /** Default `<approver>-<TAG>.approval`. */
  fileName?: string;
  /** Changes the text after it was signed. */
  tamper?: (text: string) => string;
}

/** Writes an approval file by hand, and its signature with `signFile`, as `minisign -S` would. */
function writeApproval(dir: string, file: ApprovalFile): string {
  const text = `tag=${file.tag ?? TAG}\ncommit=${file.commit ?? COMMIT}\napprover=${file.approver}\nat=${file.at ?? "2026-11-27T10:20:00Z"}\n`;
  const path = join(dir, file.fileName ?? `${file.approver}-${TAG}.approval`);
  writeFileSync(path, file.tamper === undefined ? text : file.tamper(text));
  writeFileSync(`${path}.minisig`, signFile(Buffer.from(text), file.key, { fileName: "approval" }));
  return path;
}

async function fromFiles(dir: string, p: ApprovalPolicy = policy()) {
  return approvalsFromFiles(dir, p, { tag: TAG, commit: COMMIT });
}

function decide(approvals: readonly Approval[], extra: Partial<Parameters<typeof decideApproval>[0]> = {}) {
  return decideApproval({ approvals, tagAuthor: "dev-lead", waitStartsAt: TAG_CREATED, now: LATER, policy: policy(), ...extra });
}

describe("[approval] config", () => {
  it("defaults: two approvers, 30 minutes, the default folder, the two approval environments", () => {
    expect(parseApprovalTable(undefined, "shriven-pipeline.toml")).toEqual({
      required: 2,
      waitMinutes: 30,
      approvers: [],
      approvalsDir: DEFAULT_APPROVALS_DIR,
      githubEnvironments: ["production-approval-1", "production-approval-2"],
    });
    const p = policy({ required: 3, wait_minutes: 0, approvals_dir: "approvals" });
    expect(p).toMatchObject({ required: 3, waitMinutes: 0, approvalsDir: "approvals" });
    expect(p.approvers.map((a) => a.name)).toEqual(["asha", "ravi", "meera"]);
    expect(p.approvers[0]?.publicKey.publicKey.equals(KEYS.asha.publicKey)).toBe(true);
    expect(approvalPolicyFrom(approvalSchema.parse({})).required).toBe(2);
  });

  it("refuses bad values, each error naming the key", () => {
    const problems = (table: Record<string, unknown>) => configError(() => parseApprovalTable(table, "shriven-pipeline.toml")).problems;
    const asha = { name: "asha", public_key: publicKeyLine(KEYS.asha) };

    expect(problems({ required: 1 })).toEqual([
      "approval.required: expected at least 2: production needs two approvers besides the tag author",
    ]);
    expect(problems({ wait_minutes: -5 })).toEqual(["approval.wait_minutes: expected 0 or more minutes"]);
    expect(problems({ wait_minutes: 2.5 })).toEqual(["approval.wait_minutes: expected a whole number of minutes"]);
    const badKey = problems({ approvers: [asha, { name: "ravi", public_key: "RWQnotakey" }] });
    expect(badKey).toHaveLength(1);
    expect(badKey[0]).toMatch(/^approval\.approvers\.1\.public_key: not a minisign public key: /);
    expect(problems({ approvers: [asha, { name: "ASHA", public_key: publicKeyLine(KEYS.ravi) }] })).toEqual([
      "approval.approvers.1.name: ASHA is already approvers.0.name (names are compared ignoring case); each approver is listed once",
    ]);
    expect(problems({ approvers: [asha, { name: "ravi", public_key: publicKeyLine(KEYS.asha) }] })).toEqual([
      "approval.approvers.1.public_key: the same key as approvers.0 (asha); each approver needs their own key",
    ]);
    expect(problems({ approver: [] })).toEqual([
      "approval.approver: unknown key; expected one of: required, wait_minutes, approvers, approvals_dir, github_environments",
    ]);
    expect(problems({ approvers: [{ ...asha, ssh_key: "AAAAC3NzaC1lZDI1NTE5" }] })).toEqual([
      "approval.approvers.0.ssh_key: expected an SSH public key line such as ssh-ed25519 AAAA… (the content of the key's .pub file)",
    ]);
    expect(problems({ github_environments: [] })).toEqual(["approval.github_environments: expected at least one environment"]);
    const error = configError(() => parseApprovalTable({ required: 1 }, "shriven-pipeline.toml"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("shriven-pipeline.toml");
  });

  it("takes an approver's SSH key line without its comment", () => {
    const line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh3mUFJ6n6Gs1RqjP0c0F5QoZ5q8W8mXW2v2mQ9m9QF";
    const p = parseApprovalTable(
      { approvers: [{ name: "asha", public_key: publicKeyLine(KEYS.asha), ssh_key: `${line} asha@laptop` }] },
      "x.toml",
    );
    expect(p.approvers[0]?.sshKey).toBe(line);
  });

  it("accepts a whole .pub file as the public key", () => {
    const p = parseApprovalTable({ approvers: [{ name: "asha", public_key: formatPublicKey(KEYS.asha) }] }, "x.toml");
    expect(p.approvers[0]?.publicKey.keyId.equals(KEYS.asha.keyId)).toBe(true);
  });
});

describe("signed approval files", () => {
  it("two valid signed approvals: approved", async () => {
    const dir = tempDir("approvals-");
    writeApproval(dir, { key: KEYS.asha, approver: "asha", at: "2026-11-27T10:20:00Z" });
    writeApproval(dir, { key: KEYS.ravi, approver: "ravi", at: "2026-11-27T10:25:00+05:30" });
    // Another tag's approvals are not looked at.
    writeApproval(dir, { key: KEYS.meera, approver: "meera", tag: "v1.2.2", fileName: "meera-v1.2.2.approval" });

    const found = await fromFiles(dir);
    expect(found.invalid).toEqual([]);
    expect(found.approvals.map((a) => [a.approver, a.source, a.at.toISOString()])).toEqual([
      ["asha", "file", "2026-11-27T10:20:00.000Z"],
      ["ravi", "file", "2026-11-27T04:55:00.000Z"],
    ]);

    const decision = decide(found.approvals);
    expect(decision.approved).toBe(true);
    expect(decision.counted.map((c) => c.approver)).toEqual(["ravi", "asha"]);
    expect(decision.reason).toBe("approved by ravi, asha (2 of 2 required); the wait timer ended at 2026-11-27T10:42:00Z");
  });

  it("one approval: refused, 1 of 2", async () => {
    const dir = tempDir("approvals-");
    writeApproval(dir, { key: KEYS.asha, approver: "asha" });
    const decision = decide((await fromFiles(dir)).approvals);
    expect(decision.approved).toBe(false);
    expect(decision.reason).toBe("1 of 2 approvals (asha)");
  });

  it("no folder, no approvals: refused, 0 of 2", async () => {
    const found = await fromFiles(join(tempDir(), "missing"));
    expect(found).toEqual({ approvals: [], invalid: [] });
    expect(decide(found.approvals).reason).toBe("0 of 2 approvals");
  });

  it("the same approver twice (two files, different case, or also on GitHub) counts once", async () => {
    const dir = tempDir("approvals-");
    writeApproval(dir, { key: KEYS.asha, approver: "asha", at: "2026-11-27T10:20:00Z" });
    writeApproval(dir, { key: KEYS.asha, approver: "ASHA", at: "2026-11-27T10:21:00Z" });
    const found = await fromFiles(dir);
    expect(found.invalid).toEqual([]);
    expect(found.approvals).toHaveLength(2);

    const fromGitHub: Approval = { approver: "Asha", at: new Date("2026-11-27T10:30:00Z"), source: "github" };
    const decision = decide([...found.approvals, fromGitHub]);
    expect(decision.approved).toBe(false);
    expect(decision.counted).toEqual([{ approver: "asha", at: new Date("2026-11-27T10:20:00Z"), source: "file" }]);
    expect(decision.ignored).toEqual([
      { approver: "asha", reason: "already counted: an approver counts once" },
      { approver: "Asha", reason: "already counted: an approver counts once" },
    ]);
    expect(decision.reason).toMatch(/^1 of 2 approvals \(asha\); ignored: /);
  });

  it("the tag author's own approval is ignored with the reason, and the release refused", async () => {
    const dir = tempDir("approvals-");
    writeApproval(dir, { key: KEYS.asha, approver: "asha" });
    writeApproval(dir, { key: KEYS.ravi, approver: "ravi" });
    const decision = decide((await fromFiles(dir)).approvals, { tagAuthor: "Ravi" });
    expect(decision.approved).toBe(false);
    expect(decision.ignored).toEqual([{ approver: "ravi", reason: SELF_APPROVAL_REASON }]);
    expect(decision.reason).toBe("1 of 2 approvals (asha); ignored: ravi: the tag author cannot approve their own release");
  });

  it("forged signatures are ignored, each with the reason", async () => {
    const dir = tempDir("approvals-");
    writeApproval(dir, { key: KEYS.asha, approver: "asha" });
    // Edited after signing.
    writeApproval(dir, {
      key: KEYS.ravi,
      approver: "ravi",
      tamper: (t) => t.replace("at=2026-11-27T10:20:00Z", "at=2026-11-27T09:00:00Z"),
    });
    // Signed with a key that is not meera's.
    writeApproval(dir, { key: KEYS.mallory, approver: "meera" });
    const found = await fromFiles(dir);

    expect(found.approvals.map((a) => a.approver)).toEqual(["asha"]);
    expect(found.invalid.map(({ approver, reason }) => ({ approver, reason }))).toEqual([
      {
        approver: "meera",
        reason: expect.stringMatching(
          /^forged or corrupt signature: not made by meera's key over this file \(signed by key [0-9A-F]{16}, expected key/,
        ),
      },
      {
        approver: "ravi",
        reason: expect.stringMatching(
          /^forged or corrupt signature: not made by ravi's key over this file \(the signature does not match the file/,
        ),
      },
    ]);
    expect(found.invalid[0]?.file).toBe(join(dir, "meera-v1.2.3.approval"));

    const decision = decide(found.approvals, { invalid: found.invalid });
    expect(decision.approved).toBe(false);
    expect(decision.reason).toMatch(/^1 of 2 approvals \(asha\); ignored: meera: forged or corrupt signature: .*; ravi: forged or corrupt/);
  });

  it("an approver's key cannot sign for someone else; unknown approvers are refused", async () => {
    const dir = tempDir("approvals-");
    // Ravi signs an approval that says it is asha's.
    writeApproval(dir, { key: KEYS.ravi, approver: "asha" });
    // Mallory is not an approver at all.
    writeApproval(dir, { key: KEYS.mallory, approver: "mallory" });
    // Meera signs her approval but files it under ravi's name.
    writeApproval(dir, { key: KEYS.meera, approver: "meera", fileName: `ravi-${TAG}.approval` });
    const found = await fromFiles(dir);
    expect(found.approvals).toEqual([]);
    expect(found.invalid.map(({ approver, reason }) => ({ approver, reason }))).toEqual([
      { approver: "asha", reason: "the file names approver asha, but it is signed with ravi's key" },
      { approver: "mallory", reason: "unknown approver mallory: not one of the approvers in [approval] (and no approver's key signed it)" },
      { approver: "meera", reason: "the file name is for ravi, but it is meera's approval; name it meera-v1.2.3.approval" },
    ]);
  });

  it("a wrong tag or commit in the file is ignored; so is a missing signature or a malformed file", async () => {
    const dir = tempDir("approvals-");
    // An older approval renamed for this tag.
    writeApproval(dir, { key: KEYS.asha, approver: "asha", tag: "v1.2.2" });
    writeApproval(dir, { key: KEYS.ravi, approver: "ravi", commit: "0".repeat(40) });
    const unsigned = join(dir, `meera-${TAG}.approval`);
    writeFileSync(unsigned, `tag=${TAG}\ncommit=${COMMIT}\napprover=meera\nat=2026-11-27T10:20:00Z\n`);
    const found = await fromFiles(dir);
    expect(found.approvals).toEqual([]);
    expect(found.invalid.map(({ approver, reason }) => ({ approver, reason }))).toEqual([
      { approver: "asha", reason: "wrong tag: it approves v1.2.2, not v1.2.3" },
      { approver: "meera", reason: `no usable signature: ${unsigned}.minisig is missing` },
      { approver: "ravi", reason: `wrong commit: it approves ${"0".repeat(40)}, but v1.2.3 is ${COMMIT}` },
    ]);

    const malformed = tempDir("approvals-");
    const text = `tag=${TAG}\ncommit=${COMMIT}\napprover=asha\nat=yesterday\n`;
    writeFileSync(join(malformed, `asha-${TAG}.approval`), text);
    writeFileSync(join(malformed, `asha-${TAG}.approval.minisig`), signFile(Buffer.from(text), KEYS.asha, { fileName: "a" }));
    expect((await fromFiles(malformed)).invalid.map((i) => i.reason)).toEqual([
      'malformed approval file: at "yesterday" is not an RFC 3339 time',
    ]);
  });

  it("writeSignedApproval writes what approvalsFromFiles accepts", async () => {
    const dir = tempDir("approvals-");
    const at = new Date("2026-11-27T10:33:00Z");
    const file = await writeSignedApproval(dir, { tag: TAG, commit: COMMIT, approver: "meera", at }, KEYS.meera);
    expect(file).toBe(join(dir, approvalFileName("meera", TAG)));
    expect(readFileSync(file, "utf8")).toBe(`tag=${TAG}\ncommit=${COMMIT}\napprover=meera\nat=2026-11-27T10:33:00Z\n`);
    expect(await fromFiles(dir)).toEqual({ approvals: [{ approver: "meera", at, source: "file", detail: file }], invalid: [] });
  });

  it("refuses a malformed expected commit", async () => {
    await expect(approvalsFromFiles(tempDir(), policy(), { tag: TAG, commit: "abc" })).rejects.toThrow(ApprovalError);
  });
});

describe("the wait timer", () => {
  const two: Approval[] = [
    { approver: "asha", at: new Date("2026-11-27T10:20:00Z"), source: "file" },
    { approver: "ravi", at: new Date("2026-11-27T10:21:00Z"), source: "github" },
  ];

  it("not yet elapsed: refused, naming the minutes left and when it ends", () => {
    const decision = decide(two, { now: new Date("2026-11-27T10:30:00Z") });
    expect(decision.approved).toBe(false);
    expect(decision.reason).toBe("wait timer: 12 minutes left (until 2026-11-27T10:42:00Z)");
    expect(decision.waitEndsAt).toEqual(new Date("2026-11-27T10:42:00Z"));
    expect(decide(two, { now: new Date("2026-11-27T10:41:59.999Z") }).reason).toBe(
      "wait timer: 1 minute left (until 2026-11-27T10:42:00Z)",
    );
  });

  it("elapsed exactly at the boundary: allowed", () => {
    const decision = decide(two, { now: new Date("2026-11-27T10:42:00.000Z") });
    expect(decision.approved).toBe(true);
    expect(decision.counted.map((c) => c.approver)).toEqual(["asha", "ravi"]);
  });

  it("every reason at once, and wait_minutes = 0 needs no wait", () => {
    const decision = decide(two.slice(0, 1), { now: TAG_CREATED });
    expect(decision.reason).toBe("1 of 2 approvals (asha); wait timer: 30 minutes left (until 2026-11-27T10:42:00Z)");
    expect(decide(two, { now: TAG_CREATED, policy: policy({ wait_minutes: 0 }) }).approved).toBe(true);
  });

  it("refuses invalid times", () => {
    expect(() => decide(two, { now: new Date(Number.NaN) })).toThrow(RangeError);
  });
});

describe("GitHub deployment reviews", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await close(server);
  });

  interface Seen {
    method: string;
    url: string;
    authorization: string | undefined;
    apiVersion: string | string[] | undefined;
    accept: string | undefined;
    userAgent: string | undefined;
  }

  /** A loopback stand-in for the endpoint, answering `body` to the right token and 401 otherwise. */
  async function github(body: unknown): Promise<{ baseUrl: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const server = await listen((req: IncomingMessage, res: ServerResponse) => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        apiVersion: req.headers["x-github-api-version"],
        accept: req.headers.accept,
        userAgent: req.headers["user-agent"],
      });
      if (req.headers.authorization !== `token ${TOKEN}`) {
        send(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      } else if (req.method === "GET" && req.url === "/repos/o/r/actions/runs/42/approvals") {
        send(res, 200, body);
      } else {
        send(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
      }
    });
    servers.push(server);
    return { baseUrl: origin(server), seen };
  }

  function environment(name: string, id: number) {
    return {
      id,
      node_id: "MDExOkVudmlyb25tZW50MTYxMDg4MDY4",
      name,
      url: `https://api.github.com/repos/o/r/environments/${name}`,
      html_url: `https://github.com/o/r/deployments/activity_log?environments_filter=${name}`,
      created_at: "2020-11-23T22:00:40Z",
      updated_at: "2020-11-23T22:00:40Z",
    };
  }

  function user(login: string, id: number) {
    return {
      login,
      id,
      node_id: "MDQ6VXNlcjE=",
      avatar_url: "https://github.com/images/error/octocat_happy.gif",
      gravatar_id: "",
      url: `https://api.github.com/users/${login}`,
      html_url: `https://github.com/${login}`,
      type: "User",
      site_admin: false,
    };
  }

  /** The documented response shape of `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`. */
  const PAYLOAD = [
    { state: "approved", comment: "Ship it!", environments: [environment("production", 161088068)], user: user("asha", 1) },
    { state: "approved", comment: "", environments: [environment("production", 161088068)], user: user("Ravi", 2) },
    { state: "approved", comment: "staging only", environments: [environment("staging", 161088069)], user: user("meera", 3) },
  ];
  const NOW = new Date("2026-11-27T11:00:00Z");

  it("fetches the run's reviews with the token and API version, and counts the approvals", async () => {
    const server = await github(PAYLOAD);
    const reviews = await approvalsFromGitHub({ token: TOKEN, owner: "o", repo: "r", runId: 42, baseUrl: server.baseUrl, now: NOW });

    expect(server.seen).toEqual([
      {
        method: "GET",
        url: "/repos/o/r/actions/runs/42/approvals",
        authorization: `token ${TOKEN}`,
        apiVersion: GITHUB_API_VERSION,
        accept: "application/vnd.github.v3+json",
        userAgent: expect.stringMatching(/^shriven-pipeline /),
      },
    ]);
    expect(reviews.rejections).toEqual([]);
    expect(reviews.approvals).toEqual([
      { approver: "asha", at: NOW, source: "github", detail: "GitHub review of run 42 (production): Ship it!" },
      { approver: "Ravi", at: NOW, source: "github", detail: "GitHub review of run 42 (production)" },
      { approver: "meera", at: NOW, source: "github", detail: "GitHub review of run 42 (staging): staging only" },
    ]);

    const production = await approvalsFromGitHub({
      token: TOKEN,
      owner: "o",
      repo: "r",
      runId: 42,
      baseUrl: server.baseUrl,
      environments: ["Production"],
      now: NOW,
    });
    expect(production.approvals.map((a) => a.approver)).toEqual(["asha", "Ravi"]);
    const decision = decide(production.approvals, { now: NOW });
    expect(decision.approved).toBe(true);
    expect(decision.counted).toEqual([
      { approver: "asha", at: NOW, source: "github" },
      { approver: "Ravi", at: NOW, source: "github" },
    ]);
  });

  it("a rejection refuses the release, whatever the approvals", async () => {
    const server = await github([
      ...PAYLOAD,
      {
        state: "rejected",
        comment: "risk limits not reviewed",
        environments: [environment("production", 161088068)],
        user: user("bob", 4),
      },
      { state: "pending", comment: null, environments: [environment("production", 161088068)], user: user("carol", 5) },
    ]);
    const reviews = await approvalsFromGitHub({ token: TOKEN, owner: "o", repo: "r", runId: 42, baseUrl: server.baseUrl, now: NOW });
    expect(reviews.rejections).toEqual([{ approver: "bob", at: NOW, source: "github", comment: "risk limits not reviewed" }]);
    expect(reviews.approvals.map((a) => a.approver)).not.toContain("carol");

    const decision = decide(reviews.approvals, { rejections: reviews.rejections, now: NOW });
    expect(decision.approved).toBe(false);
    expect(decision.counted).toHaveLength(3);
    expect(decision.reason).toBe("rejected by bob (github: risk limits not reviewed)");
  });

  it("401: a clear error, without the token", async () => {
    const server = await github(PAYLOAD);
    const wrong = `${TOKEN}x`;
    const error = await approvalsFromGitHub({ token: wrong, owner: "o", repo: "r", runId: 42, baseUrl: server.baseUrl }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApprovalError);
    expect((error as ApprovalError).status).toBe(401);
    expect((error as Error).message).toBe(
      "reading the approvals of run 42 of o/r: GitHub rejected the token (HTTP 401 Bad credentials); check that it is set, valid and not expired",
    );
    for (const text of [
      inspect(error, { depth: null, showHidden: true }),
      String(error),
      JSON.stringify(error, Object.getOwnPropertyNames(error)),
    ]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(TOKEN.slice(4));
    }
  });

  it("a missing run, an unexpected answer and an unreachable server are clear errors", async () => {
    const server = await github({ not: "an array" });
    await expect(approvalsFromGitHub({ token: TOKEN, owner: "o", repo: "r", runId: 7, baseUrl: server.baseUrl })).rejects.toThrow(
      "reading the approvals of run 7 of o/r: run 7 of o/r not found, or the token cannot see it (HTTP 404 Not Found)",
    );
    await expect(approvalsFromGitHub({ token: TOKEN, owner: "o", repo: "r", runId: 42, baseUrl: server.baseUrl })).rejects.toThrow(
      "reading the approvals of run 42 of o/r: GitHub answered with an unexpected response",
    );
    const closed = await listen(() => {});
    const address = origin(closed);
    await close(closed);
    await expect(approvalsFromGitHub({ token: TOKEN, owner: "o", repo: "r", runId: 42, baseUrl: address })).rejects.toThrow(
      `reading the approvals of run 42 of o/r: cannot reach GitHub at ${address} (ECONNREFUSED)`,
    );
  });
});

describe("recordApprovals", () => {
  it("writes one verified audit entry per counted approval", () => {
    const dir = tempDir("audit-");
    mkdirSync(join(dir, "audit"));
    const file = join(dir, "audit", "audit.jsonl");
    const decision = decide([
      { approver: "asha", at: new Date("2026-11-27T10:20:00Z"), source: "file" },
      { approver: "ravi", at: new Date("2026-11-27T10:25:00Z"), source: "github" },
      { approver: "dev-lead", at: new Date("2026-11-27T10:26:00Z"), source: "github" },
    ]);
    expect(decision.approved).toBe(true);

    const entries = recordApprovals(file, decision, { tag: TAG, actor: "ci" });
    expect(entries).toHaveLength(2);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 2, problems: [] });
    expect(
      readAuditLog(file).map((line) => line.entry && { kind: line.entry.kind, actor: line.entry.actor, data: line.entry.data }),
    ).toEqual([
      { kind: "approval", actor: "ci", data: { approver: "asha", source: "file", tag: TAG, at: "2026-11-27T10:20:00.000Z" } },
      { kind: "approval", actor: "ci", data: { approver: "ravi", source: "github", tag: TAG, at: "2026-11-27T10:25:00.000Z" } },
    ]);
  });
});
