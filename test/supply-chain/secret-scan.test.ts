/**
 * Fixture secrets are generated at run time (and prefixes split in the source),
 * so this file holds nothing the scanner itself would report.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { describeIssues } from "../../src/core/zod-issues.js";
import {
  type GrepLine,
  MAX_CHECKED_LINE_LENGTH,
  parseGrepOutput,
  SECRET_PREFILTER,
  type SecretFinding,
  type SecretKind,
  scanLines,
  secretPolicyFrom,
  secretPolicySchema,
  shannonEntropy,
} from "../../src/supply-chain/secret-scan.js";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX = "0123456789abcdef";

/** Deterministic random-looking text (a linear congruential generator, using its high bits). */
function fake(length: number, seed: number, alphabet = ALNUM): string {
  let state = seed;
  let out = "";
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out += alphabet[Math.floor((state / 2 ** 31) * alphabet.length)];
  }
  return out;
}

const NO_POLICY = { allow: [] };

interface Example {
  readonly name: string;
  readonly text: string;
  readonly kind: SecretKind;
  /** The secret the line holds; absent for private keys, whose BEGIN line is shown. */
  readonly secret?: string;
}

const ghp = `gh${"p"}_${fake(36, 1)}`;
const ghs = `gh${"s"}_${fake(40, 2)}`;
const gho = `gh${"o"}_${fake(36, 3)}`;
const pat = `github${"_pat_"}${fake(22, 4)}_${fake(59, 5)}`;
const slack = `https://hooks.slack${".com"}/services/T${fake(9, 6, UPPER_ALNUM)}/B${fake(11, 7, UPPER_ALNUM)}/${fake(24, 8)}`;
const binanceKey = fake(64, 9);
const binanceSecret = fake(64, 10);
const zerodhaKey = `${fake(15, 11, LOWER_ALNUM)}7`;
const zerodhaSecret = fake(32, 12, LOWER_ALNUM);
const generic = [fake(40, 13), fake(32, 14), fake(28, 15), fake(24, 16), fake(44, 17), fake(36, 18), fake(30, 19), fake(20, 20)];
const [g0 = "", g1 = "", g2 = "", g3 = "", g4 = "", g5 = "", g6 = "", g7 = ""] = generic;
const begin = (type: string) => `-----BEGIN ${type}PRIVATE KEY-----`;

const POSITIVE: readonly Example[] = [
  { name: "RSA key", text: begin("RSA "), kind: "private-key" },
  { name: "EC key", text: begin("EC "), kind: "private-key" },
  { name: "OpenSSH key in a YAML block", text: `    ${begin("OPENSSH ")}`, kind: "private-key" },
  { name: "PKCS#8 key in a JSON string", text: `{"key": "${begin("")}\\nMIIEvQ..."}`, kind: "private-key" },
  { name: "encrypted key", text: begin("ENCRYPTED "), kind: "private-key" },
  { name: "PGP key block", text: `-----BEGIN PGP PRIVATE KEY ${"BLOCK"}-----`, kind: "private-key" },
  { name: "classic GitHub token in .env", text: `GH_PAT=${ghp}`, kind: "github-token", secret: ghp },
  { name: "GitHub app token in YAML", text: `    token: ${ghs}`, kind: "github-token", secret: ghs },
  {
    name: "GitHub OAuth token in a URL",
    text: `git clone https://x-access-token:${gho}@github.com/o/r.git`,
    kind: "github-token",
    secret: gho,
  },
  { name: "fine-grained GitHub token in TOML", text: `github = "${pat}"`, kind: "github-token", secret: pat },
  { name: "Slack webhook in TOML", text: `webhook_url = "${slack}"`, kind: "slack-webhook", secret: slack },
  { name: "Slack webhook in Rust", text: `const HOOK: &str = "${slack}";`, kind: "slack-webhook", secret: slack },
  { name: "Binance key in .env", text: `BINANCE_API_KEY=${binanceKey}`, kind: "exchange-api-key", secret: binanceKey },
  { name: "Binance secret in YAML", text: `  binance-secret: "${binanceSecret}"`, kind: "exchange-api-key", secret: binanceSecret },
  { name: "Zerodha key in TOML", text: `kite_api_key = '${zerodhaKey}'`, kind: "exchange-api-key", secret: zerodhaKey },
  { name: "Zerodha secret in JSON", text: `{"zerodhaApiSecret": "${zerodhaSecret}"}`, kind: "exchange-api-key", secret: zerodhaSecret },
  { name: "exported .env secret", text: `export API_SECRET=${g0}`, kind: "high-entropy-assignment", secret: g0 },
  { name: "TOML key", text: `api_key = "${g1}"  # prod`, kind: "high-entropy-assignment", secret: g1 },
  { name: "YAML token", text: `  SLACK_TOKEN: '${g2}'`, kind: "high-entropy-assignment", secret: g2 },
  { name: "Rust const", text: `pub const API_KEY: &str = "${g3}";`, kind: "high-entropy-assignment", secret: g3 },
  { name: "JSON apiKey", text: `{"apiKey": "${g4}", "retries": 3}`, kind: "high-entropy-assignment", secret: g4 },
  { name: "TS clientSecret", text: `const clientSecret = \`${g5}\`;`, kind: "high-entropy-assignment", secret: g5 },
  { name: "Go password", text: `DB_PASSWORD := "${g6}"`, kind: "high-entropy-assignment", secret: g6 },
  { name: "unquoted YAML value", text: `  db_password: ${g1}  # rotated monthly`, kind: "high-entropy-assignment", secret: g1 },
  { name: "Ruby hash", text: `  :auth_token => "${g7}",`, kind: "high-entropy-assignment", secret: g7 },
];

const NEGATIVE: readonly { readonly name: string; readonly text: string }[] = [
  { name: "Cargo.lock checksum", text: `checksum = "${fake(64, 30, HEX)}"` },
  { name: "Rust token kind", text: 'const TOKEN_KIND: &str = "identifier";' },
  { name: "GitHub Actions secret reference", text: `api_key = "\${{ secrets.API_KEY }}"` },
  { name: "YAML secret reference, unquoted", text: `  API_KEY: \${{ secrets.API_KEY }}` },
  { name: "shell variable", text: `API_SECRET=\${API_SECRET}` },
  { name: "bare variable", text: "API_SECRET=$BINANCE_SECRET_FROM_VAULT" },
  { name: "name of an environment variable", text: 'export const REGISTRY_TOKEN = "CARGO_REGISTRY_TOKEN";' },
  { name: "env reference", text: 'binance_api_key = "env://BINANCE_API_KEY"' },
  { name: "angle placeholder", text: 'api_key = "<your api key goes in here>"' },
  { name: "x placeholder", text: "BINANCE_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxx" },
  { name: "changeme", text: 'db_password = "changeme-changeme-12345"' },
  { name: "your-api-key-here", text: "SLACK_TOKEN=your-api-key-here-please-ok" },
  { name: "numeric setting", text: "MAX_POSITION_SIZE=1000" },
  { name: "commit sha in a comment", text: `// fixed upstream in ${fake(40, 31, HEX)}` },
  { name: "UUID request id", text: `request_id = "${crypto.randomUUID()}"` },
  { name: "UUID request id in JSON", text: `{"request_id": "${crypto.randomUUID()}"}` },
  { name: "lorem ipsum", text: "Lorem ipsum dolor sit amet, the secret: consectetur adipiscing elit, sed do eiusmod tempor." },
  { name: "low-entropy value", text: "API_SECRET=aaaaaaaaaaaaaaaaaaaaaaaa" },
  { name: "repetitive value", text: 'api_key = "abababababababababababab"' },
  { name: "value with spaces", text: 'client_secret = "this is a sentence and not a credential"' },
  { name: "env lookup in Rust", text: 'let api_key = std::env::var("BINANCE_API_KEY")?;' },
  { name: "struct field", text: "    binance_api_key: config.binance_api_key.clone()," },
  { name: "exchange key named by an identifier", text: "    kite_api_secret: kiteApiSecretFromEnvironment," },
  { name: "key from a settings path", text: "    apiKey: settings.exchange.binanceApiKeyValue," },
  { name: "key from a Rust path", text: "    let api_key = Config::DEFAULT_BINANCE_API_KEY_NAME;" },
  { name: "short value", text: "API_KEY=abc123" },
  { name: "too short GitHub token", text: `token = "gh${"p"}_${fake(20, 32)}"` },
];

function scanOne(text: string, file = "src/config.rs"): SecretFinding[] {
  return scanLines([{ file, line: 7, text }], NO_POLICY);
}

describe("scanLines", () => {
  it.each(POSITIVE)("finds $kind: $name", ({ text, kind }) => {
    expect(scanOne(text)).toEqual([{ file: "src/config.rs", line: 7, kind, masked: expect.any(String) }]);
  });

  it("never puts the secret, or its first 12 characters, in a finding", () => {
    for (const example of POSITIVE) {
      if (example.secret === undefined) continue;
      const fields = scanOne(example.text).flatMap((finding) => Object.values(finding).map(String));
      for (const field of fields) {
        expect(field).not.toContain(example.secret);
        expect(field).not.toContain(example.secret.slice(0, 12));
      }
    }
  });

  it("masks as the first 4 characters, an ellipsis and the length", () => {
    expect(scanOne(`API_SECRET=${g0}`)[0]?.masked).toBe(`${g0.slice(0, 4)}…(40 chars)`);
    expect(scanOne(`GH_PAT=${ghp}`)[0]?.masked).toBe("ghp_…(40 chars)");
  });

  it("shows a private key's BEGIN line, which names only its type", () => {
    expect(scanOne(begin("RSA "))[0]?.masked).toBe(begin("RSA "));
  });

  it.each(NEGATIVE)("reports nothing for $name", ({ text }) => {
    expect(scanOne(text)).toEqual([]);
  });

  it("reports one finding per kind per line, the specific kind instead of the generic one", () => {
    expect(scanOne(`GITHUB_TOKEN=${ghp} OTHER=${ghs}`).map((f) => f.kind)).toEqual(["github-token"]);
    expect(scanOne(`{"a_key": "${g1}", "b_key": "${g2}"}`)).toHaveLength(1);
    expect(scanOne(`BINANCE_API_KEY=${binanceKey}`).map((f) => f.kind)).toEqual(["exchange-api-key"]);
    const mixed = scanOne(`{"hook": "${slack}", "api_key": "${g1}"}`);
    expect(mixed.map((f) => f.kind)).toEqual(["slack-webhook", "high-entropy-assignment"]);
  });

  it("skips a placeholder and reports a later real value on the same line", () => {
    expect(scanOne(`a_key = "\${A_KEY}", b_key = "${g1}"`)).toEqual([
      { file: "src/config.rs", line: 7, kind: "high-entropy-assignment", masked: `${g1.slice(0, 4)}…(32 chars)` },
    ]);
  });

  it("keeps file and line of each input line, in order", () => {
    const lines: GrepLine[] = [
      { file: "a.env", line: 3, text: `API_SECRET=${g0}` },
      { file: "b.toml", line: 1, text: "nothing = 1" },
      { file: "c.yml", line: 9, text: `  SLACK_TOKEN: '${g2}'` },
    ];
    expect(scanLines(lines, NO_POLICY).map((f) => [f.file, f.line])).toEqual([
      ["a.env", 3],
      ["c.yml", 9],
    ]);
  });
});

describe("scanLines on long lines", () => {
  /** Lines that made the old single pattern backtrack: cubic on spaces after `a_key:`, quadratic on the others. */
  const HOSTILE: readonly { readonly name: string; readonly line: (length: number) => string }[] = [
    { name: "spaces after `a_key:`", line: (n) => `a_key:${" ".repeat(n)}` },
    { name: "`a_key:` and words", line: (n) => `a_key:${" a".repeat(n / 2)}` },
    { name: "repeated `a_key=`", line: (n) => `${"a_key=".repeat(n / 6)}a x` },
    { name: "repeated `binance_`", line: (n) => "binance_".repeat(n / 8) },
    { name: "unclosed quotes", line: (n) => "a_key='".repeat(n / 7) },
  ];

  it.each(HOSTILE)("checks a 100 kB line of $name and still finds a token after it", ({ line }) => {
    const text = `${line(100_000)} GH_PAT=${ghp}`;
    expect(text.length).toBeGreaterThan(100_000);
    expect(scanOne(text)).toEqual([{ file: "src/config.rs", line: 7, kind: "github-token", masked: "ghp_…(40 chars)" }]);
  });

  it("checks a 1 MB line whole: a secret in its middle is found", () => {
    const half = HOSTILE[0]?.line(500_000) ?? "";
    const text = `${half} API_SECRET="${g0}" ${half}`;
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text.length).toBeLessThanOrEqual(MAX_CHECKED_LINE_LENGTH);
    expect(scanOne(text)).toEqual([
      { file: "src/config.rs", line: 7, kind: "high-entropy-assignment", masked: `${g0.slice(0, 4)}…(40 chars)` },
    ]);
  });

  it(`reports a line longer than ${MAX_CHECKED_LINE_LENGTH} characters as unchecked instead of reading it`, () => {
    const text = `const bundle = "${"x".repeat(MAX_CHECKED_LINE_LENGTH)}"; API_SECRET=${g0}`;
    expect(scanOne(text, "dist/app.min.js")).toEqual([
      {
        file: "dist/app.min.js",
        line: 7,
        kind: "unchecked-line",
        masked: `(${text.length} chars, over the ${MAX_CHECKED_LINE_LENGTH} checked)`,
      },
    ]);
    expect(scanOne(`${text}  # shriven-pipeline: allow-secret (vendored bundle)`)).toEqual([]);
    expect(
      scanLines([{ file: "dist/app.min.js", line: 1, text }], secretPolicyFrom({ allow: [{ path: "dist/**", reason: "vendored" }] })),
    ).toEqual([]);
  });
});

describe("secret policy", () => {
  const line = (file: string, text = `API_SECRET=${g0}`): GrepLine => ({ file, line: 1, text });
  const policy = secretPolicyFrom({
    allow: [
      { path: "tests/fixtures/**", reason: "fake keys for parser tests" },
      { path: "*.md", reason: "documentation examples" },
      { path: "docs/example.env", reason: "template" },
      { path: "conf/?.toml", reason: "single-letter fixtures" },
    ],
  });
  const reported = (file: string) => scanLines([line(file)], policy).length > 0;

  it("skips files matched by an allow glob", () => {
    expect(reported("tests/fixtures/keys/id_rsa.env")).toBe(false);
    expect(reported("./tests/fixtures/a.env")).toBe(false);
    expect(reported("README.md")).toBe(false);
    expect(reported("docs/guide/setup.md")).toBe(false);
    expect(reported("docs/example.env")).toBe(false);
    expect(reported("conf/a.toml")).toBe(false);
  });

  it("still reports files the globs do not match", () => {
    expect(reported("tests/fixtures")).toBe(true);
    expect(reported("tests/unit/a.env")).toBe(true);
    expect(reported("README.mdx")).toBe(true);
    expect(reported("docs/example.env.bak")).toBe(true);
    expect(reported("src/docs/example.env")).toBe(true);
    expect(reported("conf/ab.toml")).toBe(true);
    expect(reported("conf/sub/a.toml")).toBe(true);
  });

  it("treats regex characters in globs literally", () => {
    const literal = secretPolicyFrom({ allow: [{ path: "a+b/(x).env", reason: "r" }] });
    expect(scanLines([line("a+b/(x).env")], literal)).toEqual([]);
    expect(scanLines([line("aab/(x).env")], literal)).toHaveLength(1);
  });

  it("skips a line with the inline marker", () => {
    expect(scanOne(`API_SECRET=${g0}  # shriven-pipeline: allow-secret (revoked test key)`)).toEqual([]);
    const markerOnOtherLine: GrepLine[] = [
      { file: "a.env", line: 1, text: "# shriven-pipeline: allow-secret" },
      { file: "a.env", line: 2, text: `API_SECRET=${g0}` },
    ];
    expect(scanLines(markerOnOtherLine, NO_POLICY).map((f) => f.line)).toEqual([2]);
  });

  it("defaults to allowing nothing", () => {
    expect(secretPolicyFrom(undefined)).toEqual({ allow: [] });
    expect(secretPolicyFrom({})).toEqual({ allow: [] });
  });

  it("validates the [secrets] table", () => {
    expect(secretPolicySchema.parse({ allow: [{ path: "*.md", reason: "docs" }] })).toEqual({ allow: [{ path: "*.md", reason: "docs" }] });
    expect(secretPolicySchema.parse({})).toEqual({});
    const issues = (raw: unknown) => {
      const result = secretPolicySchema.safeParse(raw);
      return result.success ? [] : describeIssues(result.error.issues);
    };
    expect(issues({ allowed: [] })).toEqual(["allowed: unknown key; expected one of: allow"]);
    expect(issues({ allow: [{ path: "*.md", reason: "docs", note: "x" }] })).toEqual([
      "allow.0.note: unknown key; expected one of: path, reason",
    ]);
    expect(issues({ allow: [{ path: "", reason: " " }] })).toEqual([
      "allow.0.path: expected a non-empty glob",
      "allow.0.reason: expected a non-empty reason",
    ]);
    expect(issues({ allow: [{ path: "*.md" }] })).toEqual(["allow.0.reason: expected a string"]);
    expect(issues({ allow: "*.md" })).toEqual(["allow: expected an array of { path, reason } tables"]);
  });
});

describe("parseGrepOutput", () => {
  it("parses path:line:text, removing ./ and keeping colons in the text", () => {
    const output = ['./src/main.rs:12:let url = "https://x:y@h:80/";', "config/app.toml:3:a = 1", "./.env:1:KEY=a:b:c", ""].join("\n");
    expect(parseGrepOutput(output)).toEqual([
      { file: "src/main.rs", line: 12, text: 'let url = "https://x:y@h:80/";' },
      { file: "config/app.toml", line: 3, text: "a = 1" },
      { file: ".env", line: 1, text: "KEY=a:b:c" },
    ]);
  });

  it("splits at the first :<digits>: and keeps empty text", () => {
    expect(parseGrepOutput("odd:name.txt:4:x:5:y\r\nempty.txt:2:\n")).toEqual([
      { file: "odd:name.txt", line: 4, text: "x:5:y" },
      { file: "empty.txt", line: 2, text: "" },
    ]);
  });

  it("ignores malformed lines and empty output", () => {
    expect(parseGrepOutput("")).toEqual([]);
    expect(parseGrepOutput("Binary file x matches\nno-line-number:text\n:3:no path\n--\nfile:x1:y")).toEqual([]);
  });
});

describe("shannonEntropy", () => {
  it("measures bits per character", () => {
    expect(shannonEntropy("")).toBe(0);
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("abab")).toBe(1);
    expect(shannonEntropy("abcdefgh")).toBe(3);
    expect(shannonEntropy("0123456789abcdef")).toBe(4);
  });

  it("rates the generated fixture secrets at or above the threshold", () => {
    for (const value of generic) expect(shannonEntropy(value)).toBeGreaterThanOrEqual(3.5);
  });
});

describe("SECRET_PREFILTER", () => {
  it("is valid POSIX ERE for grep -E -i and selects every positive example", () => {
    const args = ["-E", "-i", ...SECRET_PREFILTER.flatMap((pattern) => ["-e", pattern])];
    const lines = POSITIVE.map((example) => example.text);
    const result = spawnSync("grep", args, { input: `${lines.join("\n")}\n`, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout.split("\n").slice(0, -1)).toEqual(lines);
  });

  it("each pattern compiles on its own", () => {
    for (const pattern of SECRET_PREFILTER) {
      const result = spawnSync("grep", ["-E", "-i", "-e", pattern], { input: "nothing here\n", encoding: "utf8" });
      expect({ pattern, status: result.status, stderr: result.stderr }).toEqual({ pattern, status: 1, stderr: "" });
    }
  });
});
