/**
 * Pipeline notifications to Slack through an incoming webhook: a Block Kit
 * message with a plain-text fallback, sent with bounded retries. Notifying
 * never fails the pipeline: {@link notifySlack} reports, it does not throw.
 */
import {
  type FetchFunction,
  IncomingWebhook,
  IncomingWebhookHTTPError,
  IncomingWebhookRequestError,
  type IncomingWebhookSendArguments,
} from "@slack/webhook";
import { causeChain, errorCode, messageOf } from "../core/error-chain.js";
import type { DeployOutcome } from "../deploy/outcome.js";
import { Redactor } from "../report/redact.js";

/** Fields every event may carry. */
interface EventCommon {
  /** Who started the run (a user name or `ci`). */
  readonly who?: string;
  /** The CI run's page; shown as a button and a link when it is an http(s) URL. */
  readonly runUrl?: string;
}

/** A pipeline stage changed state. */
export interface StageEvent extends EventCommon {
  readonly kind: "stage-started" | "stage-passed" | "stage-failed";
  /** The stage: `dev`, `staging`, `production`. */
  readonly stage: string;
  readonly version: string;
  readonly who: string;
  /** A few lines on what happened (failed step, gate verdicts); long lists are cut. */
  readonly summary?: readonly string[];
  /** The audit log's chain head after the run recorded itself. */
  readonly chainHead?: { readonly seq: number; readonly sha256: string };
}

/** A version went live in an environment. */
export interface DeployedEvent extends EventCommon {
  readonly kind: "deployed";
  readonly environment: string;
  readonly version: string;
  readonly hosts: readonly string[];
}

/** An environment went back to an earlier version. */
export interface RolledBackEvent extends EventCommon {
  readonly kind: "rolled-back";
  readonly environment: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** Post-deploy monitoring saw warnings (no rollback). */
export interface MonitorWarningEvent extends EventCommon {
  readonly kind: "monitor-warning";
  readonly environment: string;
  readonly version: string;
  /** One line per finding; long lists are cut. */
  readonly findings: readonly string[];
}

/** Production's emergency hotfix procedure was invoked: gates skipped, with its reason. */
export interface EmergencyEvent extends EventCommon {
  readonly kind: "emergency";
  readonly environment: string;
  readonly version: string;
  /** Why it cannot wait, as given to `--emergency`. */
  readonly reason: string;
  /** What it skips, one line each. */
  readonly skipped: readonly string[];
}

/** A deploy or rollback was refused before any host switched (lock, signature, retained release, ssh). */
export interface RefusedEvent extends EventCommon {
  readonly kind: "refused";
  readonly action: "deploy" | "rollback";
  readonly environment: string;
  readonly version: string;
  readonly reason: string;
}

/** What {@link notifySlack} can announce. */
export type SlackEvent = StageEvent | DeployedEvent | RolledBackEvent | MonitorWarningEvent | EmergencyEvent | RefusedEvent;

/** Block Kit blocks, as `@slack/webhook` types them. */
export type SlackBlocks = NonNullable<IncomingWebhookSendArguments["blocks"]>;

/** A message ready to post: `text` is the fallback Slack shows in notifications and where blocks cannot be shown. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: SlackBlocks;
}

/** Where and how to deliver. */
export interface SlackOptions {
  /** The incoming webhook URL of the environment's channel. It is a secret: it never appears in results. */
  readonly webhookUrl: string;
  /** Attempts in all, retries included (default 3, at most 10). */
  readonly maxAttempts?: number;
  /** Time limit of one request, in milliseconds (default 3000). */
  readonly requestTimeoutMs?: number;
  /** Time limit of the whole delivery, waits included, in milliseconds (default 10 000). No attempt or wait goes past it. */
  readonly totalTimeoutMs?: number;
  /** Waits before the 2nd, 3rd, … attempt after a 5xx or network error, in milliseconds (default 500, 1500; the last repeats). */
  readonly backoffMs?: readonly number[];
  /** Longest wait a 429's `Retry-After` may ask for, in milliseconds (default 5000). */
  readonly retryAfterCapMs?: number;
  /** How to wait; injectable so tests do not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * The run's secrets: every text of the event is redacted before the message
   * is built, so Slack's escaping cannot hide one from it. (The webhook URL is
   * kept out of delivery errors in any case.)
   */
  readonly redactor?: Redactor;
}

/** The outcome of a delivery. */
export interface SlackDelivery {
  readonly delivered: boolean;
  /** Requests made (0 when the options or event were unusable). */
  readonly attempts: number;
  /** Why it was not delivered, e.g. `HTTP 404 no_service` or `connection refused`; never the webhook URL. */
  readonly error?: string;
}

const DEFAULTS = {
  maxAttempts: 3,
  requestTimeoutMs: 3_000,
  totalTimeoutMs: 10_000,
  backoffMs: [500, 1_500],
  retryAfterCapMs: 5_000,
} as const;

/** Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks). */
const HEADER_MAX = 150;
const SECTION_MAX = 3_000;
const FIELD_MAX = 2_000;
const URL_MAX = 3_000;
const SUMMARY_LINES_MAX = 15;
const HOSTS_SHOWN_MAX = 20;

/**
 * Posts `event` to the webhook, retrying 5xx answers, 429 (after its
 * `Retry-After`, capped) and network errors (refused, reset, timed out) within
 * the attempt and time limits. Any other 4xx is final. Never throws.
 */
export async function notifySlack(event: SlackEvent, options: SlackOptions): Promise<SlackDelivery> {
  let redactor = new Redactor([]);
  try {
    redactor = webhookRedactor(options.webhookUrl);
    return await deliver(event, options, redactor);
  } catch (error) {
    return { delivered: false, attempts: 0, error: redactor.redact(`cannot notify Slack: ${messageOf(error)}`) };
  }
}

async function deliver(event: SlackEvent, options: SlackOptions, redactor: Redactor): Promise<SlackDelivery> {
  const url = parseUrl(options.webhookUrl);
  if (url === undefined) return { delivered: false, attempts: 0, error: "invalid Slack webhook URL (expected an http(s) URL)" };
  const message = slackMessage(options.redactor === undefined ? event : redactEvent(event, options.redactor));

  const maxAttempts = clamp(options.maxAttempts ?? DEFAULTS.maxAttempts, 1, 10);
  const requestTimeoutMs = positive(options.requestTimeoutMs, DEFAULTS.requestTimeoutMs);
  const totalTimeoutMs = positive(options.totalTimeoutMs, DEFAULTS.totalTimeoutMs);
  const retryAfterCapMs = Math.max(0, options.retryAfterCapMs ?? DEFAULTS.retryAfterCapMs);
  const backoff = options.backoffMs !== undefined && options.backoffMs.length > 0 ? options.backoffMs : DEFAULTS.backoffMs;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = performance.now() + totalTimeoutMs;

  let attempts = 0;
  let error = "not attempted";
  while (attempts < maxAttempts) {
    const remaining = Math.floor(deadline - performance.now());
    if (remaining <= 0) break;
    attempts++;
    const outcome = await attempt(url, message, Math.min(requestTimeoutMs, remaining));
    if (outcome.ok) return { delivered: true, attempts };
    error = redactor.redact(outcome.error);
    if (!outcome.retry || attempts >= maxAttempts) break;
    const wait = Math.max(
      0,
      outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, retryAfterCapMs) : (backoff[attempts - 1] ?? backoff.at(-1) ?? 0),
    );
    if (performance.now() + wait >= deadline) break;
    await sleep(wait);
  }
  return { delivered: false, attempts, error };
}

type Outcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: string; readonly retry: boolean; readonly retryAfterMs?: number };

async function attempt(url: URL, message: SlackMessage, timeoutMs: number): Promise<Outcome> {
  let retryAfter: string | null = null;
  const fetchRecordingRetryAfter: FetchFunction = async (input, init) => {
    const response = await fetch(input, init);
    retryAfter = response.headers.get("retry-after");
    return response;
  };
  const webhook = new IncomingWebhook(url.href, { timeout: timeoutMs, fetch: fetchRecordingRetryAfter, retryConfig: { retries: 0 } });
  try {
    await webhook.send({ text: message.text, blocks: message.blocks });
    return { ok: true };
  } catch (error) {
    if (error instanceof IncomingWebhookHTTPError) {
      const body = firstLine(error.body);
      const text = `HTTP ${error.statusCode}${body === "" ? "" : ` ${body}`}`;
      if (error.statusCode === 429) {
        const retryAfterMs = parseRetryAfter(retryAfter);
        return { ok: false, error: text, retry: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      return { ok: false, error: text, retry: error.statusCode >= 500 };
    }
    if (error instanceof IncomingWebhookRequestError) {
      const cause = networkCause(error.original, timeoutMs);
      return { ok: false, error: cause.text, retry: cause.retry };
    }
    return { ok: false, error: `unexpected error: ${messageOf(error)}`, retry: false };
  }
}

function networkCause(error: unknown, timeoutMs: number): { text: string; retry: boolean } {
  for (const e of causeChain(error)) {
    if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError"))
      return { text: `timed out after ${timeoutMs} ms`, retry: true };
    const code = errorCode(e);
    if (code === "ECONNREFUSED") return { text: "connection refused", retry: true };
    if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE") return { text: "connection reset", retry: true };
    if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return { text: "connection timed out", retry: true };
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { text: "host not found", retry: true };
    if (e instanceof Error && /redirect/i.test(e.message))
      return { text: "the webhook answered with a redirect (not followed)", retry: false };
  }
  const code = deepestCode(error);
  return { text: code === undefined ? `network error: ${messageOf(error)}` : `network error ${code}`, retry: true };
}

function deepestCode(error: unknown): string | undefined {
  let found: string | undefined;
  for (const e of causeChain(error)) found = errorCode(e) ?? found;
  return found;
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function firstLine(text: string): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Hides the webhook URL and its secret path parts (the `/services/T…/B…/TOKEN` segments). */
function webhookRedactor(webhookUrl: string): Redactor {
  const secrets = [String(webhookUrl)];
  const url = parseUrl(String(webhookUrl));
  if (url !== undefined) {
    secrets.push(url.href, url.pathname, `${url.host}${url.pathname}`);
    for (const segment of url.pathname.split("/")) if (segment.length >= 8) secrets.push(segment, decodeURIComponent(segment));
    for (const value of url.searchParams.values()) secrets.push(value);
  }
  return new Redactor(secrets);
}

/** `event` with its texts redacted; its kind is kept, whatever the secrets. */
function redactEvent(event: SlackEvent, redactor: Redactor): SlackEvent {
  return { ...redactor.redactJson(event), kind: event.kind } as SlackEvent;
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : min;
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

// --- The message ------------------------------------------------------------

/** `&`, `<` and `>` as Slack mrkdwn wants them, so user text cannot form links or mentions. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The run URL when it is an http(s) URL Slack accepts in a button, else undefined. */
function runLink(runUrl: string | undefined): string | undefined {
  if (runUrl === undefined) return undefined;
  const url = parseUrl(runUrl);
  if (url === undefined || url.href.length > URL_MAX) return undefined;
  return url.href;
}

const STAGE_WORDS = {
  "stage-started": { emoji: ":hourglass_flowing_sand:", verb: "started" },
  "stage-passed": { emoji: ":white_check_mark:", verb: "passed" },
  "stage-failed": { emoji: ":x:", verb: "failed" },
} as const;

/** The Block Kit message and plain-text fallback for `event`. */
export function slackMessage(event: SlackEvent): SlackMessage {
  const link = runLink(event.runUrl);
  let title: string;
  let fallback: string;
  const fields: [string, string][] = [];
  let detail: string | undefined;

  switch (event.kind) {
    case "stage-started":
    case "stage-passed":
    case "stage-failed": {
      const { emoji, verb } = STAGE_WORDS[event.kind];
      title = `${emoji} Stage ${event.stage} ${verb}: ${event.version}`;
      fallback = `Stage ${event.stage} ${verb}: ${event.version} (by ${event.who})`;
      fields.push(["Stage", event.stage], ["Version", event.version], ["By", event.who]);
      if (event.chainHead !== undefined) fields.push(["Audit chain head", `seq ${event.chainHead.seq} · ${event.chainHead.sha256}`]);
      const lines = event.summary ?? [];
      if (lines.length > 0) {
        const shown = lines.slice(0, SUMMARY_LINES_MAX).map((line) => `• ${escapeMrkdwn(line)}`);
        if (lines.length > SUMMARY_LINES_MAX) shown.push(`_and ${lines.length - SUMMARY_LINES_MAX} more_`);
        detail = shown.join("\n");
      }
      break;
    }
    case "deployed": {
      title = `:rocket: Deployed ${event.version} to ${event.environment}`;
      fallback = `Deployed ${event.version} to ${event.environment} (${event.hosts.length} host${event.hosts.length === 1 ? "" : "s"})`;
      fields.push(["Environment", event.environment], ["Version", event.version], ["Hosts", String(event.hosts.length)]);
      if (event.who !== undefined) fields.push(["By", event.who]);
      if (event.hosts.length > 0) {
        const shown = event.hosts.slice(0, HOSTS_SHOWN_MAX).map((host) => `\`${escapeMrkdwn(host.replaceAll("`", "'"))}\``);
        if (event.hosts.length > HOSTS_SHOWN_MAX) shown.push(`and ${event.hosts.length - HOSTS_SHOWN_MAX} more`);
        detail = `*Hosts:* ${shown.join(", ")}`;
      }
      break;
    }
    case "rolled-back": {
      title = `:rewind: Rolled back ${event.environment} from ${event.from} to ${event.to}`;
      fallback = `Rolled back ${event.environment} from ${event.from} to ${event.to}: ${event.reason}`;
      fields.push(["Environment", event.environment], ["From", event.from], ["To", event.to]);
      if (event.who !== undefined) fields.push(["By", event.who]);
      detail = `*Reason:* ${escapeMrkdwn(event.reason)}`;
      break;
    }
    case "monitor-warning": {
      title = `:warning: Monitoring warnings on ${event.environment}: ${event.version}`;
      fallback = `Monitoring warnings on ${event.environment} after deploying ${event.version}: ${event.findings.length} finding${event.findings.length === 1 ? "" : "s"}`;
      fields.push(["Environment", event.environment], ["Version", event.version], ["Findings", String(event.findings.length)]);
      if (event.who !== undefined) fields.push(["By", event.who]);
      const shown = event.findings.slice(0, SUMMARY_LINES_MAX).map((line) => `• ${escapeMrkdwn(line)}`);
      if (event.findings.length > SUMMARY_LINES_MAX) shown.push(`_and ${event.findings.length - SUMMARY_LINES_MAX} more_`);
      if (shown.length > 0) detail = shown.join("\n");
      break;
    }
    case "refused": {
      const what = event.action === "rollback" ? "Rollback" : "Deploy";
      title = `:no_entry: ${what} of ${event.environment} to ${event.version} refused`;
      fallback = `${what} of ${event.environment} to ${event.version} refused: ${event.reason}`;
      fields.push(["Environment", event.environment], ["Version", event.version]);
      if (event.who !== undefined) fields.push(["By", event.who]);
      detail = `*Reason:* ${escapeMrkdwn(event.reason)}`;
      break;
    }
    case "emergency": {
      title = `:rotating_light: Emergency hotfix to ${event.environment}: ${event.version}`;
      fallback = `Emergency hotfix to ${event.environment}: ${event.version}: ${event.reason}`;
      fields.push(["Environment", event.environment], ["Version", event.version]);
      if (event.who !== undefined) fields.push(["By", event.who]);
      const skipped = event.skipped.slice(0, SUMMARY_LINES_MAX).map((line) => `• ${escapeMrkdwn(line)}`);
      detail = [`*Reason:* ${escapeMrkdwn(event.reason)}`, "*Skipped:*", ...skipped].join("\n");
      break;
    }
    default: {
      const unknown: { kind?: unknown } = event;
      throw new Error(`unknown event kind ${JSON.stringify(unknown.kind)}`);
    }
  }

  const blocks: SlackBlocks = [
    { type: "header", text: { type: "plain_text", text: cut(title, HEADER_MAX), emoji: true } },
    {
      type: "section",
      fields: fields.map(([name, value]) => ({ type: "mrkdwn", text: cut(`*${name}*\n${escapeMrkdwn(value)}`, FIELD_MAX) })),
    },
  ];
  if (detail !== undefined) blocks.push({ type: "section", text: { type: "mrkdwn", text: cut(detail, SECTION_MAX) } });
  if (link !== undefined) {
    blocks.push({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: "View run" }, url: link, action_id: "view-run" }],
    });
  }
  const context = link === undefined ? "shriven-pipeline" : `shriven-pipeline · <${mrkdwnUrl(link)}|open the run>`;
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: context }] });

  const text = escapeMrkdwn(cut(link === undefined ? fallback : `${fallback} — ${link}`, SECTION_MAX));
  return { text, blocks };
}

/** A URL inside `<url|label>`: its `|` and `>` would end the link early. */
function mrkdwnUrl(url: string): string {
  return url.replaceAll("&", "&amp;").replaceAll("|", "%7C").replaceAll("<", "%3C").replaceAll(">", "%3E");
}

/** The Slack event of a deploy or rollback outcome. */
export function deployEvent(outcome: DeployOutcome, reason?: string): DeployedEvent | RolledBackEvent {
  // A host's previous release is its path under the deploy root (`releases/1.2.0`); Slack shows the version.
  const previous = outcome.hosts[0]?.previous?.replace(/^releases\//, "");
  return outcome.action === "deploy" && outcome.status === "deployed"
    ? { kind: "deployed", environment: outcome.environment, version: outcome.version, hosts: outcome.hosts.map((h) => h.host) }
    : {
        kind: "rolled-back",
        environment: outcome.environment,
        from: outcome.action === "deploy" ? outcome.version : (previous ?? "unknown"),
        to: outcome.action === "deploy" ? (previous ?? "none") : outcome.version,
        reason: reason ?? outcome.summary,
      };
}
