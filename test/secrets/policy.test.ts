/**
 * The rotation keys of `[secrets]`: defaults, limits, declared dates (TOML dates or strings, real days only,
 * known secret names only), the hard limit after the warning, and the same rules for the table read from a
 * trusted ref — every error naming the key.
 */
import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { calendarDay, parseSecretRotation, rotationDifferences, secretRotationFrom } from "../../src/secrets/policy.js";
import { allStepIds } from "../../src/stages/registry.js";
import { configError } from "../helpers/config-error.js";

const parse = (text: string) => parsePipelineConfig(text, "shriven-pipeline.toml", allStepIds());

describe("[secrets] rotation keys", () => {
  it("defaults to a warning past 90 days, production failing past 180, no GitHub lookup, no declared dates", () => {
    expect(parse("").policies.secretRotation).toEqual({ rotateAfterDays: 90, maxAgeDays: 180, githubAges: false, rotated: {} });
  });

  it("reads limits, the GitHub switch and declared dates as TOML dates or strings, next to the scan's allow list", () => {
    const policies = parse(`[secrets]
rotate_after_days = 30
max_age_days = 60
github_ages = true
allow = [{ path = "fixtures/**", reason = "test keys" }]
[secrets.rotated]
PROD_BINANCE_API_KEY = 2026-09-01
SSH_DEPLOY_KEY = "2024-02-29"
`).policies;
    expect(policies.secretRotation).toEqual({
      rotateAfterDays: 30,
      maxAgeDays: 60,
      githubAges: true,
      rotated: { PROD_BINANCE_API_KEY: new Date("2026-09-01T00:00:00Z"), SSH_DEPLOY_KEY: new Date("2024-02-29T00:00:00Z") },
    });
    expect(policies.secrets.allow).toEqual([{ path: "fixtures/**", reason: "test keys" }]);
  });

  const bad: [string, string, RegExp][] = [
    ["zero days", "rotate_after_days = 0", /^secrets\.rotate_after_days: expected at least 1 day$/],
    ["negative days", "max_age_days = -5", /^secrets\.max_age_days: expected at least 1 day$/],
    ["a fraction", "rotate_after_days = 1.5", /^secrets\.rotate_after_days: expected a whole number of days/],
    ["a string", 'max_age_days = "180"', /^secrets\.max_age_days: expected a whole number of days/],
    ["eleven years", "max_age_days = 4000", /^secrets\.max_age_days: expected at most 3650 days$/],
    [
      "a hard limit before the warning",
      "rotate_after_days = 90\nmax_age_days = 30",
      /^secrets\.max_age_days: 30 is below rotate_after_days \(90\)/,
    ],
    ["a default warning after the hard limit", "max_age_days = 60", /^secrets\.max_age_days: 60 is below rotate_after_days \(90\)/],
    ["a switch that is no boolean", 'github_ages = "yes"', /^secrets\.github_ages: expected true or false$/],
    [
      "an unknown key",
      "rotate_every = 90",
      /^secrets\.rotate_every: unknown key; expected one of: allow, rotate_after_days, max_age_days, github_ages, rotated$/,
    ],
    [
      "an unknown secret",
      "rotated.MY_KEY = 2026-01-01",
      /^secrets\.rotated\.MY_KEY: is not a secret of the test or production environment$/,
    ],
    [
      "a day that does not exist",
      'rotated.SSH_DEPLOY_KEY = "2026-02-30"',
      /^secrets\.rotated\.SSH_DEPLOY_KEY: expected a real calendar day/,
    ],
    ["a word", 'rotated.SSH_DEPLOY_KEY = "yesterday"', /^secrets\.rotated\.SSH_DEPLOY_KEY: expected a real calendar day/],
    ["a number", "rotated.SSH_DEPLOY_KEY = 20260901", /^secrets\.rotated\.SSH_DEPLOY_KEY: expected a date such as 2026-09-01$/],
    ["rotated that is no table", 'rotated = "2026-01-01"', /^secrets\.rotated: expected a table of SECRET_NAME = date$/],
  ];

  it.each(bad)("refuses %s, naming the key", (_what, table, message) => {
    const error = configError(() => parse(`[secrets]\n${table}\n`));
    expect(error.source).toBe("shriven-pipeline.toml");
    expect(error.problems).toEqual([expect.stringMatching(message)]);
  });
});

describe("[secrets] read from a trusted ref", () => {
  it("takes the rotation keys only, leaving allow to the scan", () => {
    const rotation = parseSecretRotation(
      { allow: [{ path: "x", reason: "y" }], max_age_days: 120, rotated: { SSH_DEPLOY_KEY: "2026-01-31" } },
      "origin/main:shriven-pipeline.toml",
    );
    expect(rotation).toEqual({
      rotateAfterDays: 90,
      maxAgeDays: 120,
      githubAges: false,
      rotated: { SSH_DEPLOY_KEY: new Date("2026-01-31T00:00:00Z") },
    });
    expect(parseSecretRotation(undefined, "ref:file")).toEqual(secretRotationFrom(undefined));
  });

  it("refuses a bad table naming the ref's file and the key", () => {
    const source = "origin/main:shriven-pipeline.toml";
    expect(configError(() => parseSecretRotation("nope", source)).problems).toEqual(["secrets: expected a table"]);
    expect(configError(() => parseSecretRotation([], source)).problems).toEqual(["secrets: expected a table"]);
    const error = configError(() => parseSecretRotation({ max_age_days: 0 }, source));
    expect(error.source).toBe(source);
    expect(error.problems).toEqual(["secrets.max_age_days: expected at least 1 day"]);
    expect(configError(() => parseSecretRotation({ max_age_days: 10 }, source)).problems).toEqual([
      "secrets.max_age_days: 10 is below rotate_after_days (90): the hard limit comes after the warning",
    ]);
  });

  it("lists each difference, the trusted value last", () => {
    const trusted = secretRotationFrom({ max_age_days: 100, rotated: { SSH_DEPLOY_KEY: "2026-01-01" } });
    expect(rotationDifferences(trusted, trusted)).toEqual([]);
    const checkout = secretRotationFrom({ max_age_days: 900, github_ages: true, rotated: { PROD_BINANCE_API_KEY: "2026-11-30" } });
    expect(rotationDifferences(checkout, trusted)).toEqual([
      "max_age_days 900 instead of 100",
      "github_ages true instead of false",
      "rotated.PROD_BINANCE_API_KEY 2026-11-30 instead of none",
      "rotated.SSH_DEPLOY_KEY none instead of 2026-01-01",
    ]);
  });
});

describe("calendarDay", () => {
  it("accepts real days only, leap days by the calendar", () => {
    expect(calendarDay("2024-02-29")).toEqual(new Date("2024-02-29T00:00:00Z"));
    for (const text of ["2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-01-01", "2026-1-1", "", "2026-01-01T00:00:00Z"])
      expect(calendarDay(text)).toBeUndefined();
    expect(calendarDay(new Date(Number.NaN))).toBeUndefined();
  });
});
