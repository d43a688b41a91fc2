import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { notifySlack, type SlackDelivery, type SlackEvent, type SlackOptions, slackMessage } from "../../src/notify/slack.js";

const SECRET_PATH = "/services/T000/B000/SECRETTOKEN";

/** Every result any test got, checked at the end for the webhook secret. */
const results: unknown[] = [];

function expectNoSecret(value: unknown): void {
  for (const text of [inspect(value, { depth: null, showHidden: true }), JSON.stringify(value)]) {
    expect(text).not.toContain("SECRETTOKEN");
    expect(text).not.toContain(SECRET_PATH);
  }
}

async function notify(event: SlackEvent, options: SlackOptions): Promise<SlackDelivery> {
  const result = await notifySlack(event, options);
  results.push(result);
  expectNoSecret(result);
  return result;
}

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** A webhook stand-in on loopback: answers from `script` in order (the last repeats), or never when `hang`. */
class FakeWebhook {
  readonly received: Received[] = [];
  #server!: Server;

  constructor(
    private readonly script: readonly (Answer | ((r: Received) => Answer))[],
    private readonly hang = false,
  ) {}

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r: Received = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.received.push(r);
        if (this.hang) return;
        const step = this.script[Math.min(this.received.length - 1, this.script.length - 1)] ?? { status: 200, body: "ok" };
        const answer = typeof step === "function" ? step(r) : step;
        res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${SECRET_PATH}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const running: FakeWebhook[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

async function webhook(script: readonly (Answer | ((r: Received) => Answer))[], hang = false): Promise<FakeWebhook> {
  const server = await new FakeWebhook(script, hang).start();
  running.push(server);
  return server;
}

/** A sleep that records what it was asked to wait and returns at once. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

const OK: Answer = { status: 200, body: "ok" };
const RUN_URL = "https://ci.example.com/shriven/quant/actions/runs/42?attempt=1&x=y";

const passed: SlackEvent = {
  kind: "stage-passed",
  stage: "staging",
  version: "v1.2.3",
  who: "alice",
  runUrl: RUN_URL,
  summary: ["paper trading: 0 risk breaches", "p99 latency 41 µs <= 50 µs"],
};

interface Block {
  type: string;
  text?: { type: string; text: string; emoji?: boolean };
  fields?: { type: string; text: string }[];
  elements?: { type: string; text?: unknown; url?: string }[];
}

describe("notifySlack", () => {
  it("posts a Block Kit message with a text fallback, the version, who and a link to the run", async () => {
    const server = await webhook([OK]);
    const result = await notify(passed, { webhookUrl: server.url });

    expect(result).toEqual({ delivered: true, attempts: 1 });
    expect(server.received).toHaveLength(1);
    const request = server.received[0];
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe(SECRET_PATH);
    expect(request?.headers["content-type"]).toBe("application/json");
    const payload = JSON.parse(request?.body ?? "") as { text: string; blocks: Block[] };

    expect(payload.text).toBe(
      "Stage staging passed: v1.2.3 (by alice) — https://ci.example.com/shriven/quant/actions/runs/42?attempt=1&amp;x=y",
    );
    expect(payload.blocks.map((b) => b.type)).toEqual(["header", "section", "section", "actions", "context"]);
    const [header, facts, summary, actions, context] = payload.blocks;
    expect(header?.text).toEqual({ type: "plain_text", text: ":white_check_mark: Stage staging passed: v1.2.3", emoji: true });
    expect(facts?.fields).toEqual([
      { type: "mrkdwn", text: "*Stage*\nstaging" },
      { type: "mrkdwn", text: "*Version*\nv1.2.3" },
      { type: "mrkdwn", text: "*By*\nalice" },
    ]);
    expect(summary?.text).toEqual({ type: "mrkdwn", text: "• paper trading: 0 risk breaches\n• p99 latency 41 µs &lt;= 50 µs" });
    expect(actions?.elements).toEqual([
      { type: "button", text: { type: "plain_text", text: "View run" }, url: RUN_URL, action_id: "view-run" },
    ]);
    expect(context?.elements).toEqual([
      {
        type: "mrkdwn",
        text: "shriven-pipeline · <https://ci.example.com/shriven/quant/actions/runs/42?attempt=1&amp;x=y|open the run>",
      },
    ]);
  });

  it("retries a 500 and delivers on the second attempt", async () => {
    const server = await webhook([{ status: 500, body: "internal_error" }, OK]);
    const { sleep, waits } = recordingSleep();
    const result = await notify(passed, { webhookUrl: server.url, sleep });
    expect(result).toEqual({ delivered: true, attempts: 2 });
    expect(server.received).toHaveLength(2);
    expect(server.received[0]?.body).toBe(server.received[1]?.body);
    expect(waits).toEqual([500]);
  });

  it("gives up after 3 attempts of 5xx, reporting the last answer", async () => {
    const server = await webhook([{ status: 503, body: "service_unavailable" }]);
    const { sleep, waits } = recordingSleep();
    const result = await notify(passed, { webhookUrl: server.url, sleep });
    expect(result).toEqual({ delivered: false, attempts: 3, error: "HTTP 503 service_unavailable" });
    expect(waits).toEqual([500, 1500]);
  });

  it("429 with Retry-After: 1 waits the second it asks for, then delivers", async () => {
    const server = await webhook([{ status: 429, body: "rate_limited", headers: { "retry-after": "1" } }, OK]);
    const { sleep, waits } = recordingSleep();
    const result = await notify(passed, { webhookUrl: server.url, sleep });
    expect(result).toEqual({ delivered: true, attempts: 2 });
    expect(waits).toEqual([1000]);
  });

  it("429 with a long Retry-After waits no longer than the cap (real sleep)", async () => {
    const server = await webhook([{ status: 429, body: "rate_limited", headers: { "retry-after": "3600" } }, OK]);
    const begin = performance.now();
    const result = await notify(passed, { webhookUrl: server.url, retryAfterCapMs: 50 });
    const elapsed = performance.now() - begin;
    expect(result).toEqual({ delivered: true, attempts: 2 });
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(1_000);
  });

  it("a 404 is permanent: reported after one attempt, no retry", async () => {
    const server = await webhook([{ status: 404, body: "no_service" }]);
    const { sleep, waits } = recordingSleep();
    const result = await notify(passed, { webhookUrl: server.url, sleep });
    expect(result).toEqual({ delivered: false, attempts: 1, error: "HTTP 404 no_service" });
    expect(server.received).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("a closed port: not delivered, no throw, within the default time bound", async () => {
    const server = await new FakeWebhook([OK]).start();
    const url = server.url;
    await server.stop();
    const begin = performance.now();
    const result = await notify(passed, { webhookUrl: url });
    expect(result).toEqual({ delivered: false, attempts: 3, error: "connection refused" });
    // Default backoff 500 + 1500 ms; the default total limit is 10 s.
    expect(performance.now() - begin).toBeLessThan(10_000);
  });

  it("a server that never answers: each request times out, not delivered", async () => {
    const server = await webhook([], true);
    const { sleep } = recordingSleep();
    const begin = performance.now();
    const result = await notify(passed, { webhookUrl: server.url, requestTimeoutMs: 200, sleep });
    expect(result).toEqual({ delivered: false, attempts: 3, error: "timed out after 200 ms" });
    expect(server.received).toHaveLength(3);
    expect(performance.now() - begin).toBeLessThan(3_000);
  });

  it("the total time limit stops attempts and waits that would pass it", async () => {
    const server = await webhook([], true);
    const begin = performance.now();
    const result = await notify(passed, { webhookUrl: server.url, requestTimeoutMs: 300, totalTimeoutMs: 500, backoffMs: [50] });
    const elapsed = performance.now() - begin;
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(2);
    expect(result.error).toMatch(/^timed out after \d+ ms$/);
    expect(elapsed).toBeLessThan(1_500);
  });

  it("never lets the webhook URL or its token part into the result", async () => {
    // A server echoing the path back in its error body.
    const server = await webhook([(r) => ({ status: 400, body: `invalid_token for ${r.path} at http://127.0.0.1${r.path}` })]);
    const result = await notify(passed, { webhookUrl: server.url });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(1);
    expect(result.error).toMatch(/^HTTP 400 invalid_token for \[REDACTED\]/);

    const invalid = await notify(passed, { webhookUrl: "htps//hooks.slack.com/services/T000/B000/SECRETTOKEN" });
    expect(invalid).toEqual({ delivered: false, attempts: 0, error: "invalid Slack webhook URL (expected an http(s) URL)" });

    const badEvent = await notify({ kind: "exploded" } as unknown as SlackEvent, { webhookUrl: server.url });
    expect(badEvent).toEqual({ delivered: false, attempts: 0, error: 'cannot notify Slack: unknown event kind "exploded"' });
  });
});

describe("slackMessage", () => {
  const events: SlackEvent[] = [
    { kind: "stage-started", stage: "dev", version: "v1.2.3", who: "ci", runUrl: RUN_URL },
    { ...passed },
    {
      kind: "stage-failed",
      stage: "production",
      version: "v1.2.3",
      who: "bob",
      summary: Array.from({ length: 30 }, (_, i) => `step ${i}`),
    },
    { kind: "deployed", environment: "production", version: "v1.2.3", hosts: ["fra-1", "fra-2", "nyc-1"], who: "alice", runUrl: RUN_URL },
    { kind: "rolled-back", environment: "production", from: "v1.2.4", to: "v1.2.3", reason: "p99 latency gate failed" },
    {
      kind: "monitor-warning",
      environment: "production",
      version: "v1.2.3",
      who: "ci",
      findings: Array.from({ length: 20 }, (_, i) => `warning: fra-1, poll ${i + 1}: error rate 0.5 % > 0.1 % <!channel>`),
    },
  ];

  it.each(events)("$kind: header, mrkdwn section, context and a plain text fallback within Block Kit limits", (event) => {
    const message = slackMessage(event);
    expect(message.text.length).toBeGreaterThan(0);
    const blocks = message.blocks as Block[];
    expect(blocks[0]?.type).toBe("header");
    expect(blocks[0]?.text?.type).toBe("plain_text");
    expect(blocks[0]?.text?.text.length).toBeLessThanOrEqual(150);
    expect(blocks.at(-1)?.type).toBe("context");
    for (const block of blocks) {
      expect(["header", "section", "actions", "context"]).toContain(block.type);
      if (block.type === "section") {
        if (block.text !== undefined) expect(block.text.text.length).toBeLessThanOrEqual(3000);
        for (const field of block.fields ?? []) expect(field.type).toBe("mrkdwn");
        expect((block.fields?.length ?? 0) <= 10).toBe(true);
      }
    }
    const hasButton = blocks.some((b) => b.type === "actions");
    expect(hasButton).toBe(event.runUrl !== undefined);
    const version = "version" in event ? event.version : event.to;
    expect(message.text).toContain(version);
    expect(JSON.stringify(blocks)).toContain(version);
  });

  it("deployed lists the hosts; rolled back gives the reason; long summaries are cut", () => {
    const deployed = JSON.stringify(slackMessage(events[3] as SlackEvent));
    expect(deployed).toContain("*Hosts:* `fra-1`, `fra-2`, `nyc-1`");
    expect(slackMessage(events[3] as SlackEvent).text).toBe(`Deployed v1.2.3 to production (3 hosts) — ${RUN_URL.replace("&", "&amp;")}`);
    const rolled = slackMessage(events[4] as SlackEvent);
    expect(rolled.text).toBe("Rolled back production from v1.2.4 to v1.2.3: p99 latency gate failed");
    expect(JSON.stringify(rolled.blocks)).toContain("*Reason:* p99 latency gate failed");
    const failed = JSON.stringify(slackMessage(events[2] as SlackEvent));
    expect(failed).toContain("• step 14");
    expect(failed).not.toContain("• step 15");
    expect(failed).toContain("_and 15 more_");
    const warned = slackMessage(events[5] as SlackEvent);
    expect(warned.text).toBe("Monitoring warnings on production after deploying v1.2.3: 20 findings");
    const warnedBlocks = JSON.stringify(warned.blocks);
    expect(warnedBlocks).toContain("• warning: fra-1, poll 15: error rate");
    expect(warnedBlocks).not.toContain("poll 16:");
    expect(warnedBlocks).toContain("_and 5 more_");
    expect(warnedBlocks).not.toContain("<!channel>");
  });

  it("escapes user text so it cannot mention channels or forge links, and drops non-http run URLs", () => {
    const message = slackMessage({
      kind: "stage-failed",
      stage: "dev",
      version: "v1",
      who: "<!channel> & co",
      runUrl: "javascript:alert(1)",
    });
    const json = JSON.stringify(message);
    expect(json).not.toContain("<!channel>");
    expect(json).toContain("&lt;!channel&gt; &amp; co");
    expect(json).not.toContain("javascript:");
    expect(message.blocks.some((b) => b.type === "actions")).toBe(false);
  });
});

afterAll(() => {
  expect(results.length).toBeGreaterThan(8);
  for (const result of results) expectNoSecret(result);
});
