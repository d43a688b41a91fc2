/**
 * The `[monitor]` keys of `source = "prometheus"` (every one optional; `source` defaults to `"scrape"`):
 *
 * ```toml
 * [monitor]
 * source = "prometheus"                        # read the hosts' series from Prometheus, not from the hosts
 * prometheus_url = "http://127.0.0.1:9090"
 * prometheus_label = "instance"                # the target label that names a host
 * prometheus_scrape_interval_seconds = 15      # Prometheus's scrape_interval: data older than twice it is stale
 * prometheus_max_age_seconds = 30              # or the age limit itself
 * prometheus_bearer_token_env = "PROMETHEUS_TOKEN"   # or prometheus_bearer_token_file, prometheus_basic_auth_env,
 *                                                    # prometheus_basic_auth_file (user:password): at most one
 * [monitor.hosts.prod-2]
 * instance = "prod-2.internal:9100"            # the label's value for this host
 * ```
 */
import { z } from "zod";
import type { PrometheusAuth, PrometheusSettings } from "./prometheus-api.js";

const QUOTED_SOURCE = 'expected "scrape" (fetch each host\'s metrics) or "prometheus" (read them from Prometheus)';

const envName = z
  .string({ error: "expected the name of an environment variable" })
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: "expected the name of an environment variable (letters, digits, _)" });
const secretFile = z
  .string({ error: "expected the absolute path of a file" })
  .regex(/^\/[^\0]{0,4095}$/, { error: "expected the absolute path of a file" });

/** The keys, spread into the `[monitor]` schema. */
export const prometheusFields = {
  source: z.enum(["scrape", "prometheus"], { error: QUOTED_SOURCE }).optional(),
  prometheus_url: z
    .string({ error: "expected an http(s) URL" })
    .refine((url) => /^https?:\/\/[^/?#]/i.test(url) && URL.canParse(url) && !/[?#]/.test(url), {
      error: 'expected an http(s) URL without query or fragment, e.g. "http://127.0.0.1:9090"',
    })
    .refine((url) => !URL.canParse(url) || (new URL(url).username === "" && new URL(url).password === ""), {
      error: "expected no credentials in the URL (it is shown in findings): use prometheus_basic_auth_env or _file",
    })
    .optional(),
  prometheus_label: z
    .string({ error: "expected a label name" })
    .regex(/^(?!__)[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, { error: "expected a Prometheus label name (letters, digits, _; not starting with __)" })
    .optional(),
  prometheus_scrape_interval_seconds: z
    .number({ error: "expected seconds" })
    .positive({ error: "expected seconds above 0" })
    .max(3600, { error: "expected at most 3600" })
    .optional(),
  prometheus_max_age_seconds: z
    .number({ error: "expected seconds" })
    .positive({ error: "expected seconds above 0" })
    .max(86_400, { error: "expected at most 86400 (a day)" })
    .optional(),
  prometheus_bearer_token_env: envName.optional(),
  prometheus_bearer_token_file: secretFile.optional(),
  prometheus_basic_auth_env: envName.optional(),
  prometheus_basic_auth_file: secretFile.optional(),
};

const AUTH_KEYS = [
  "prometheus_bearer_token_env",
  "prometheus_bearer_token_file",
  "prometheus_basic_auth_env",
  "prometheus_basic_auth_file",
] as const;

type PrometheusTable = { readonly [key in keyof typeof prometheusFields]?: z.output<(typeof prometheusFields)[key]> } & {
  readonly metrics_command?: readonly string[] | undefined;
  readonly hosts?:
    | Readonly<Record<string, { readonly metrics_command?: readonly string[] | undefined; readonly instance?: string | undefined }>>
    | undefined;
};

/** Cross-key checks: what `source = "prometheus"` needs, and no Prometheus key without it. */
export function refinePrometheus(table: PrometheusTable, context: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => context.addIssue({ code: "custom", path, message });
  const prometheus = table.source === "prometheus";
  if (!prometheus) {
    for (const key of Object.keys(prometheusFields))
      if (key !== "source" && table[key as keyof typeof prometheusFields] !== undefined) issue([key], 'only with source = "prometheus"');
    for (const [name, host] of Object.entries(table.hosts ?? {}))
      if (host.instance !== undefined) issue(["hosts", name, "instance"], 'only with source = "prometheus"');
    return;
  }
  if (table.prometheus_url === undefined)
    issue(["prometheus_url"], 'expected Prometheus\'s URL with source = "prometheus", e.g. "http://127.0.0.1:9090"');
  if (table.metrics_command !== undefined)
    issue(
      ["metrics_command"],
      'expected metrics_url with source = "prometheus" (its address:port is the host\'s instance), or instance per host',
    );
  for (const [name, host] of Object.entries(table.hosts ?? {}))
    if (host.metrics_command !== undefined && host.instance === undefined)
      issue(["hosts", name, "instance"], 'expected the host\'s instance with source = "prometheus" and a metrics_command');
  const auth = AUTH_KEYS.filter((key) => table[key] !== undefined);
  if (auth.length > 1) issue([auth[1] as string], `expected one way to authenticate to Prometheus, not ${auth.join(" and ")}`);
  if (table.prometheus_max_age_seconds !== undefined && table.prometheus_scrape_interval_seconds !== undefined)
    issue(["prometheus_max_age_seconds"], "expected prometheus_max_age_seconds or prometheus_scrape_interval_seconds, not both");
}

function authFrom(table: PrometheusTable): PrometheusAuth | undefined {
  if (table.prometheus_bearer_token_env !== undefined) return { kind: "bearer", from: "env", name: table.prometheus_bearer_token_env };
  if (table.prometheus_bearer_token_file !== undefined) return { kind: "bearer", from: "file", path: table.prometheus_bearer_token_file };
  if (table.prometheus_basic_auth_env !== undefined) return { kind: "basic", from: "env", name: table.prometheus_basic_auth_env };
  if (table.prometheus_basic_auth_file !== undefined) return { kind: "basic", from: "file", path: table.prometheus_basic_auth_file };
  return undefined;
}

/** The Prometheus settings and per-host instances of a checked `[monitor]` table; nothing for `source = "scrape"`. */
export function prometheusSettingsFrom(table: PrometheusTable | undefined): {
  prometheus?: PrometheusSettings;
  instances?: Record<string, string>;
} {
  if (table?.source !== "prometheus" || table.prometheus_url === undefined) return {};
  const auth = authFrom(table);
  const instances = Object.entries(table.hosts ?? {}).flatMap(([name, host]) =>
    host.instance === undefined ? [] : [[name, host.instance]],
  );
  return {
    prometheus: {
      url: table.prometheus_url,
      label: table.prometheus_label ?? "instance",
      maxAgeMs: (table.prometheus_max_age_seconds ?? 2 * (table.prometheus_scrape_interval_seconds ?? 15)) * 1000,
      ...(auth === undefined ? {} : { auth }),
    },
    instances: Object.fromEntries(instances),
  };
}
