import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { parseTomlText } from "../../src/core/toml.js";
import { closedObject, describeIssues } from "../../src/core/zod-issues.js";
import { checkDeployWindow } from "../../src/deploy-window/check.js";
import { isMarketOpen } from "../../src/deploy-window/market-calendar.js";
import { overrideDeployWindow } from "../../src/deploy-window/override.js";
import { type DeployWindow, deployWindowFrom, deployWindowSchema } from "../../src/deploy-window/policy.js";
import { formatLocalTime } from "../../src/deploy-window/wall-clock.js";

const fileSchema = closedObject({ deploy_window: deployWindowSchema.optional() });

/** The deploy window of a `shriven-pipeline.toml` text, defaults applied. */
function windowFrom(toml: string): DeployWindow {
  const parsed = fileSchema.safeParse(parseTomlText(toml, "shriven-pipeline.toml"));
  if (!parsed.success) throw new Error(describeIssues(parsed.error.issues).join("\n"));
  return deployWindowFrom(parsed.data.deploy_window);
}

/** The problem lines of a `shriven-pipeline.toml` text that must be refused. */
function problems(toml: string): string[] {
  const parsed = fileSchema.safeParse(parseTomlText(toml, "shriven-pipeline.toml"));
  if (parsed.success) throw new Error(`expected ${JSON.stringify(toml)} to be refused`);
  return describeIssues(parsed.error.issues);
}

const utc = (iso: string) => new Date(iso);

const NSE = deployWindowFrom(undefined);
const NSE_WITH_HOLIDAYS = windowFrom('[deploy_window]\nholidays = ["2026-01-26", "2026-11-25"]\n');
const NEW_YORK = windowFrom(
  '[deploy_window]\nmarket = "NYSE"\ntimezone = "America/New_York"\nmarket_hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], open = "09:30", close = "16:00" }]\n',
);
const LONDON = windowFrom(
  '[deploy_window]\nmarket = "LSE"\ntimezone = "Europe/London"\nmarket_hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], open = "08:00", close = "16:30" }]\n',
);

describe("deploy window settings", () => {
  it("defaults to NSE equity hours in Asia/Kolkata", () => {
    expect(NSE).toEqual({
      market: "NSE",
      timeZone: "Asia/Kolkata",
      sessions: [{ days: ["mon", "tue", "wed", "thu", "fri"], open: "09:15", close: "15:30" }],
      holidays: [],
      alwaysOpen: false,
    });
    expect(windowFrom("")).toEqual(NSE);
    expect(windowFrom("[deploy_window]\n")).toEqual(NSE);
  });

  it("reads a 24/7 venue", () => {
    expect(windowFrom('[deploy_window]\nnone = true\nmarket = "Binance"\ntimezone = "UTC"\n')).toEqual({
      market: "Binance",
      timeZone: "UTC",
      sessions: [],
      holidays: [],
      alwaysOpen: true,
    });
  });

  it("does not call custom hours NSE unless told", () => {
    expect(windowFrom('[deploy_window]\nmarket_hours = [{ days = ["sat"], open = "10:00", close = "11:00" }]\n').market).toBeUndefined();
  });

  const malformed: ReadonlyArray<[string, string, string, RegExp]> = [
    ["an unknown zone", 'timezone = "Mars/Olympus"', "deploy_window.timezone", /unknown time zone "Mars\/Olympus"/],
    ["an offset instead of a zone", 'timezone = "+05:30"', "deploy_window.timezone", /unknown time zone "\+05:30"/],
    [
      "hour 25",
      'market_hours = [{ days = ["mon"], open = "25:00", close = "26:00" }]',
      "deploy_window.market_hours.0.open",
      /00:00 to 23:59, got "25:00"/,
    ],
    ["24:00", 'market_hours = [{ days = ["mon"], open = "09:00", close = "24:00" }]', "deploy_window.market_hours.0.close", /got "24:00"/],
    [
      "a one-digit hour",
      'market_hours = [{ days = ["mon"], open = "9:15", close = "15:30" }]',
      "deploy_window.market_hours.0.open",
      /HH:MM/,
    ],
    [
      "open after close",
      'market_hours = [{ days = ["mon"], open = "15:30", close = "09:15" }]',
      "deploy_window.market_hours.0.close",
      /after open/,
    ],
    [
      "open equal to close",
      'market_hours = [{ days = ["mon"], open = "10:00", close = "10:00" }]',
      "deploy_window.market_hours.0.close",
      /after open/,
    ],
    ["a day that does not exist", 'holidays = ["2026-02-30"]', "deploy_window.holidays.0", /real date "YYYY-MM-DD", got "2026-02-30"/],
    ["a date in another format", 'holidays = ["26-01-2026"]', "deploy_window.holidays.0", /got "26-01-2026"/],
    ["a holiday listed twice", 'holidays = ["2026-01-26", "2026-01-26"]', "deploy_window.holidays.1", /more than once/],
    [
      "an unknown day",
      'market_hours = [{ days = ["mon", "funday"], open = "09:15", close = "15:30" }]',
      "deploy_window.market_hours.0.days.1",
      /got "funday"/,
    ],
    [
      "a day listed twice",
      'market_hours = [{ days = ["mon", "tue", "mon"], open = "09:15", close = "15:30" }]',
      "deploy_window.market_hours.0.days",
      /"mon" is listed more than once/,
    ],
    ["no days", 'market_hours = [{ days = [], open = "09:15", close = "15:30" }]', "deploy_window.market_hours.0.days", /at least one day/],
    ["no sessions", "market_hours = []", "deploy_window.market_hours", /none = true/],
    [
      "an unknown key",
      'timezon = "Asia/Kolkata"',
      "deploy_window.timezon",
      /unknown key; expected one of: market, timezone, market_hours, holidays, none/,
    ],
    [
      "an unknown session key",
      'market_hours = [{ days = ["mon"], open = "09:15", close = "15:30", lunch = "12:00" }]',
      "deploy_window.market_hours.0.lunch",
      /unknown key/,
    ],
    ["a session without close", 'market_hours = [{ days = ["mon"], open = "09:15" }]', "deploy_window.market_hours.0.close", /HH:MM/],
    [
      "none with market hours",
      'none = true\nmarket_hours = [{ days = ["mon"], open = "09:15", close = "15:30" }]',
      "deploy_window.market_hours",
      /left out with none = true/,
    ],
    ["none with holidays", 'none = true\nholidays = ["2026-01-26"]', "deploy_window.holidays", /left out with none = true/],
    ["none not a boolean", 'none = "yes"', "deploy_window.none", /true or false/],
    ["a blank market name", 'market = "  "', "deploy_window.market", /non-blank/],
  ];

  it.each(malformed)("refuses %s, naming the key", (_what, body, key, message) => {
    const lines = problems(`[deploy_window]\n${body}\n`);
    const line = lines.find((l) => l.startsWith(`${key}: `));
    expect(line, lines.join("\n")).toBeDefined();
    expect(line).toMatch(message);
  });
});

describe("deploy window (NSE, Asia/Kolkata)", () => {
  it("refuses Monday 10:00 IST, the next window opening at 15:30 IST the same day", () => {
    const check = checkDeployWindow(utc("2026-11-23T04:30:00Z"), NSE);
    expect(check).toEqual({
      allowed: false,
      reason:
        "market open (NSE 09:15–15:30 Asia/Kolkata, Monday); the next deploy window opens at 2026-11-23T15:30:00+05:30 (2026-11-23T10:00:00Z)",
      nextWindowOpens: utc("2026-11-23T10:00:00Z"),
    });
    expect(isMarketOpen(utc("2026-11-23T04:30:00Z"), NSE)).toBe(true);
  });

  it("opens at 09:15:00 inclusive and closes from 15:30:00 inclusive", () => {
    expect(isMarketOpen(utc("2026-11-23T03:44:59.999Z"), NSE)).toBe(false);
    expect(isMarketOpen(utc("2026-11-23T03:45:00Z"), NSE)).toBe(true);
    expect(isMarketOpen(utc("2026-11-23T09:59:59.999Z"), NSE)).toBe(true);
    expect(isMarketOpen(utc("2026-11-23T10:00:00Z"), NSE)).toBe(false);

    const before = checkDeployWindow(utc("2026-11-23T03:44:59Z"), NSE);
    expect(before.allowed).toBe(true);
    expect(before.windowCloses).toEqual(utc("2026-11-23T03:45:00Z"));
    expect(before.reason).toContain("Monday, before 09:15");

    const atOpen = checkDeployWindow(utc("2026-11-23T03:45:00Z"), NSE);
    expect(atOpen.allowed).toBe(false);
    expect(atOpen.nextWindowOpens).toEqual(utc("2026-11-23T10:00:00Z"));
  });

  it("allows 15:30 exactly: the market is closed at its close time", () => {
    const check = checkDeployWindow(utc("2026-11-23T10:00:00Z"), NSE);
    expect(check.allowed).toBe(true);
    expect(check.nextWindowOpens).toBeUndefined();
    expect(check.windowCloses).toEqual(utc("2026-11-24T03:45:00Z"));
    expect(check.reason).toBe(
      "market closed (NSE Asia/Kolkata: Monday, after 15:30); the deploy window closes when the market opens at 2026-11-24T09:15:00+05:30 (2026-11-24T03:45:00Z)",
    );
  });

  it("allows Friday 16:00, the window closing Monday 09:15", () => {
    const check = checkDeployWindow(utc("2026-11-27T10:30:00Z"), NSE);
    expect(check.allowed).toBe(true);
    expect(check.windowCloses).toEqual(utc("2026-11-30T03:45:00Z"));
    expect(check.reason).toContain("Friday, after 15:30");
    expect(check.reason).toContain("2026-11-30T09:15:00+05:30 (2026-11-30T03:45:00Z)");
  });

  it("allows Saturday, and Sunday up to Monday's open", () => {
    const saturday = checkDeployWindow(utc("2026-11-28T06:30:00Z"), NSE);
    expect(saturday.allowed).toBe(true);
    expect(saturday.reason).toContain("Saturday, no session");
    expect(saturday.windowCloses).toEqual(utc("2026-11-30T03:45:00Z"));
    // Monday 00:00 IST is still Sunday in UTC: the local calendar decides.
    const mondayMidnight = checkDeployWindow(utc("2026-11-29T18:30:00Z"), NSE);
    expect(mondayMidnight.allowed).toBe(true);
    expect(mondayMidnight.reason).toContain("Monday, before 09:15");
  });

  it("allows a holiday Wednesday at 11:00, the window closing Thursday 09:15", () => {
    const check = checkDeployWindow(utc("2026-11-25T05:30:00Z"), NSE_WITH_HOLIDAYS);
    expect(check.allowed).toBe(true);
    expect(check.reason).toContain("holiday 2026-11-25, Wednesday");
    expect(check.windowCloses).toEqual(utc("2026-11-26T03:45:00Z"));
    expect(isMarketOpen(utc("2026-11-25T05:30:00Z"), NSE_WITH_HOLIDAYS)).toBe(false);
    expect(isMarketOpen(utc("2026-11-25T05:30:00Z"), NSE)).toBe(true);
  });

  it("the day before a holiday: 10:00 opens the next window the same day at 15:30; after the close it lasts over the holiday", () => {
    const morning = checkDeployWindow(utc("2026-11-24T04:30:00Z"), NSE_WITH_HOLIDAYS);
    expect(morning.allowed).toBe(false);
    expect(morning.nextWindowOpens).toEqual(utc("2026-11-24T10:00:00Z"));
    expect(morning.reason).toContain("Tuesday");

    const evening = checkDeployWindow(utc("2026-11-24T10:30:00Z"), NSE_WITH_HOLIDAYS);
    expect(evening.allowed).toBe(true);
    expect(evening.windowCloses).toEqual(utc("2026-11-26T03:45:00Z"));
  });

  it("skips a Monday holiday after a weekend (Republic Day 2026)", () => {
    const check = checkDeployWindow(utc("2026-01-23T10:30:00Z"), NSE_WITH_HOLIDAYS);
    expect(check.windowCloses).toEqual(utc("2026-01-27T03:45:00Z"));
    expect(check.reason).toContain("2026-01-27T09:15:00+05:30");
  });

  it("merges sessions that touch: the window opens when the last one closes", () => {
    const split = windowFrom(
      '[deploy_window]\nmarket_hours = [{ days = ["mon"], open = "12:00", close = "15:30" }, { days = ["mon"], open = "09:15", close = "12:00" }]\n',
    );
    expect(isMarketOpen(utc("2026-11-23T06:30:00Z"), split)).toBe(true); // 12:00 IST
    const check = checkDeployWindow(utc("2026-11-23T04:30:00Z"), split);
    expect(check.nextWindowOpens).toEqual(utc("2026-11-23T10:00:00Z"));
  });

  it("reports a gap between sessions", () => {
    const lunch = windowFrom(
      '[deploy_window]\nmarket_hours = [{ days = ["mon"], open = "09:15", close = "11:00" }, { days = ["mon"], open = "12:00", close = "15:30" }]\n',
    );
    const check = checkDeployWindow(utc("2026-11-23T06:00:00Z"), lunch); // 11:30 IST
    expect(check.allowed).toBe(true);
    expect(check.reason).toContain("Monday, between sessions");
    expect(check.windowCloses).toEqual(utc("2026-11-23T06:30:00Z"));
  });

  it("refuses an invalid Date", () => {
    expect(() => checkDeployWindow(new Date(Number.NaN), NSE)).toThrow(RangeError);
    expect(() => isMarketOpen(new Date(Number.NaN), NSE)).toThrow(RangeError);
  });
});

describe("a 24/7 venue (none = true)", () => {
  const venue = windowFrom('[deploy_window]\nnone = true\nmarket = "Binance"\n');

  it.each(["2026-11-28T06:30:00Z", "2026-11-23T04:30:00Z", "2026-01-26T00:00:00Z"])(
    "refuses always, with the override hint (%s)",
    (iso) => {
      const check = checkDeployWindow(utc(iso), venue);
      expect(check.allowed).toBe(false);
      expect(check.nextWindowOpens).toBeUndefined();
      expect(check.reason).toMatch(/^Binance trades 24\/7 .*emergency override/);
      expect(isMarketOpen(utc(iso), venue)).toBe(true);
    },
  );
});

describe("emergency override", () => {
  const refused = checkDeployWindow(utc("2026-11-23T04:30:00Z"), NSE);
  const at = utc("2026-11-23T04:31:00Z");

  it("passes with a good reason and records who and when", () => {
    const result = overrideDeployWindow(refused, { reason: "  kill switch ignores feed loss; hotfix 1.4.2  ", who: "alice", at });
    expect(result).toEqual({
      allowed: true,
      reason: `deploy window overridden by alice: kill switch ignores feed loss; hotfix 1.4.2 (${refused.reason})`,
      override: { reason: "kill switch ignores feed loss; hotfix 1.4.2", who: "alice", at },
      overridden: refused,
    });
  });

  it.each(["", "   ", "hotfix", "  too short   ", "\t\n"])("refuses the reason %j", (reason) => {
    expect(() => overrideDeployWindow(refused, { reason, who: "alice", at })).toThrow(UsageError);
    expect(() => overrideDeployWindow(refused, { reason, who: "alice", at })).toThrow(/the override needs its own reason/);
  });

  it("refuses the gate's own message as the reason, and a blank who", () => {
    expect(() => overrideDeployWindow(refused, { reason: refused.reason, who: "alice", at })).toThrow(/its own reason/);
    expect(() => overrideDeployWindow(refused, { reason: "exchange-mandated patch before the auction", who: "  ", at })).toThrow(
      /who gives it/,
    );
  });
});

describe("daylight saving time", () => {
  it("New York, March switch (EST → EDT on Sunday 2026-03-08)", () => {
    // Friday before: 10:00 EST = 15:00Z, close 16:00 EST = 21:00Z.
    expect(checkDeployWindow(utc("2026-03-06T15:00:00Z"), NEW_YORK).nextWindowOpens).toEqual(utc("2026-03-06T21:00:00Z"));
    // Friday 17:00 EST: the window lasts until Monday 09:30 EDT = 13:30Z (not 14:30Z).
    const weekend = checkDeployWindow(utc("2026-03-06T22:00:00Z"), NEW_YORK);
    expect(weekend.allowed).toBe(true);
    expect(weekend.windowCloses).toEqual(utc("2026-03-09T13:30:00Z"));
    expect(weekend.reason).toContain("2026-03-09T09:30:00-04:00 (2026-03-09T13:30:00Z)");
    // Monday 10:00 EDT = 14:00Z, close 16:00 EDT = 20:00Z.
    const monday = checkDeployWindow(utc("2026-03-09T14:00:00Z"), NEW_YORK);
    expect(monday.allowed).toBe(false);
    expect(monday.reason).toBe(
      "market open (NYSE 09:30–16:00 America/New_York, Monday); the next deploy window opens at 2026-03-09T16:00:00-04:00 (2026-03-09T20:00:00Z)",
    );
    expect(isMarketOpen(utc("2026-03-09T13:29:59Z"), NEW_YORK)).toBe(false);
    expect(isMarketOpen(utc("2026-03-09T13:30:00Z"), NEW_YORK)).toBe(true);
  });

  it("New York, November switch (EDT → EST on Sunday 2026-11-01)", () => {
    // Friday 16:00 EDT = 20:00Z exactly: closed; the window lasts until Monday 09:30 EST = 14:30Z.
    const weekend = checkDeployWindow(utc("2026-10-30T20:00:00Z"), NEW_YORK);
    expect(weekend.allowed).toBe(true);
    expect(weekend.windowCloses).toEqual(utc("2026-11-02T14:30:00Z"));
    expect(weekend.reason).toContain("2026-11-02T09:30:00-05:00 (2026-11-02T14:30:00Z)");
    expect(isMarketOpen(utc("2026-10-30T19:59:59Z"), NEW_YORK)).toBe(true);
    // Monday 15:59 EST = 20:59Z: open until 21:00Z.
    expect(checkDeployWindow(utc("2026-11-02T20:59:00Z"), NEW_YORK).nextWindowOpens).toEqual(utc("2026-11-02T21:00:00Z"));
    expect(isMarketOpen(utc("2026-11-02T14:29:00Z"), NEW_YORK)).toBe(false);
  });

  it("New York, a session on the switch days themselves", () => {
    const sunday = windowFrom(
      '[deploy_window]\ntimezone = "America/New_York"\nmarket_hours = [{ days = ["sun"], open = "09:30", close = "16:00" }]\n',
    );
    // 2026-03-08: clocks went forward at 02:00, so 09:30 is EDT.
    expect(checkDeployWindow(utc("2026-03-07T23:00:00Z"), sunday).windowCloses).toEqual(utc("2026-03-08T13:30:00Z"));
    const march = checkDeployWindow(utc("2026-03-08T14:00:00Z"), sunday);
    expect(march.nextWindowOpens).toEqual(utc("2026-03-08T20:00:00Z"));
    expect(march.reason).toBe(
      "market open (09:30–16:00 America/New_York, Sunday); the next deploy window opens at 2026-03-08T16:00:00-04:00 (2026-03-08T20:00:00Z)",
    );
    // 2026-11-01: clocks went back at 02:00, so 09:30 is EST.
    expect(checkDeployWindow(utc("2026-10-31T23:00:00Z"), sunday).windowCloses).toEqual(utc("2026-11-01T14:30:00Z"));
    expect(checkDeployWindow(utc("2026-11-01T15:00:00Z"), sunday).nextWindowOpens).toEqual(utc("2026-11-01T21:00:00Z"));
  });

  it("New York, wall-clock times inside the switch: a skipped time starts at the jump, a repeated one at its first occurrence", () => {
    // 02:30 does not exist on 2026-03-08: the session starts when the clocks jump to 03:00 EDT (07:00Z).
    const skipped = windowFrom(
      '[deploy_window]\ntimezone = "America/New_York"\nmarket_hours = [{ days = ["sun"], open = "02:30", close = "03:30" }]\n',
    );
    expect(isMarketOpen(utc("2026-03-08T06:59:59Z"), skipped)).toBe(false);
    expect(isMarketOpen(utc("2026-03-08T07:00:00Z"), skipped)).toBe(true);
    expect(checkDeployWindow(utc("2026-03-08T06:00:00Z"), skipped).windowCloses).toEqual(utc("2026-03-08T07:00:00Z"));
    expect(checkDeployWindow(utc("2026-03-08T07:10:00Z"), skipped).nextWindowOpens).toEqual(utc("2026-03-08T07:30:00Z"));
    // 01:30 happens twice on 2026-11-01: the session is 01:30–01:45 EDT (05:30Z–05:45Z) only.
    const repeated = windowFrom(
      '[deploy_window]\ntimezone = "America/New_York"\nmarket_hours = [{ days = ["sun"], open = "01:30", close = "01:45" }]\n',
    );
    expect(isMarketOpen(utc("2026-11-01T05:35:00Z"), repeated)).toBe(true);
    expect(isMarketOpen(utc("2026-11-01T06:35:00Z"), repeated)).toBe(false);
    expect(checkDeployWindow(utc("2026-11-01T05:35:00Z"), repeated).nextWindowOpens).toEqual(utc("2026-11-01T05:45:00Z"));
  });

  it("Europe/London across both switches", () => {
    // BST starts Sunday 2026-03-29: Friday 17:00 GMT → Monday 08:00 BST = 07:00Z.
    const spring = checkDeployWindow(utc("2026-03-27T17:00:00Z"), LONDON);
    expect(spring.allowed).toBe(true);
    expect(spring.windowCloses).toEqual(utc("2026-03-30T07:00:00Z"));
    expect(spring.reason).toContain("2026-03-30T08:00:00+01:00 (2026-03-30T07:00:00Z)");
    // Friday before: open until 16:30 GMT = 16:30Z.
    expect(checkDeployWindow(utc("2026-03-27T12:00:00Z"), LONDON).reason).toContain("2026-03-27T16:30:00+00:00 (2026-03-27T16:30:00Z)");
    // BST ends Sunday 2026-10-25: Friday 16:30 BST = 15:30Z is closed; Monday 08:00 GMT = 08:00Z.
    const autumn = checkDeployWindow(utc("2026-10-23T15:30:00Z"), LONDON);
    expect(autumn.allowed).toBe(true);
    expect(autumn.windowCloses).toEqual(utc("2026-10-26T08:00:00Z"));
    expect(isMarketOpen(utc("2026-10-23T15:29:59Z"), LONDON)).toBe(true);
  });

  it("formats local times with the zone's offset", () => {
    expect(formatLocalTime(utc("2026-11-27T10:00:00Z"), "Asia/Kolkata")).toBe("2026-11-27T15:30:00+05:30");
    expect(formatLocalTime(utc("2026-07-01T12:00:00Z"), "America/New_York")).toBe("2026-07-01T08:00:00-04:00");
    expect(formatLocalTime(utc("2026-01-01T12:00:00Z"), "America/New_York")).toBe("2026-01-01T07:00:00-05:00");
    expect(formatLocalTime(utc("2026-01-01T12:00:00Z"), "Asia/Kathmandu")).toBe("2026-01-01T17:45:00+05:45");
  });
});
