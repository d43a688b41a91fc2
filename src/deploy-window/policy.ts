/**
 * The deployment window's settings: `[deploy_window]` in shriven-pipeline.toml,
 * the market's trading sessions a production deploy must stay out of.
 *
 * ```toml
 * [deploy_window]
 * market = "NSE"                 # name used in messages
 * timezone = "Asia/Kolkata"      # IANA zone the hours and holidays are in
 * market_hours = [
 *   { days = ["mon", "tue", "wed", "thu", "fri"], open = "09:15", close = "15:30" },
 * ]
 * holidays = ["2026-01-26", "2026-03-03"]   # closed all day (local calendar dates)
 * # none = true                  # a 24/7 venue: no deploy window at all (override only)
 * ```
 *
 * Boundaries: a session is the half-open interval [open, close) of local wall-clock
 * time on each of its days — the market is OPEN from `open` (09:15:00 inclusive) and
 * CLOSED from `close` (15:30:00 inclusive), so a deploy may start at 15:30:00 exactly.
 * Sessions on the same day that touch or overlap count as one. A session never
 * crosses midnight (write an overnight session as two entries).
 */
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";

/** One of {@link WEEKDAYS}. */
export type Weekday = (typeof WEEKDAYS)[number];

/** One trading session: open on `days`, from `open` (inclusive) to `close` (exclusive), local time. */
export interface MarketSession {
  readonly days: readonly Weekday[];
  /** `HH:MM`, local wall-clock time. */
  readonly open: string;
  /** `HH:MM`, local wall-clock time, after `open`. */
  readonly close: string;
}

/** The deploy window settings, defaults applied. */
export interface DeployWindow {
  /** Name of the market in messages; `undefined` when not given and the hours are not the NSE defaults. */
  readonly market: string | undefined;
  /** IANA time zone of the sessions and holidays. */
  readonly timeZone: string;
  /** When the market trades; empty when {@link alwaysOpen}. */
  readonly sessions: readonly MarketSession[];
  /** Local calendar dates (`YYYY-MM-DD`) on which the market is closed all day. */
  readonly holidays: readonly string[];
  /** `none = true`: the venue trades 24/7, so there is no deploy window (only the emergency override). */
  readonly alwaysOpen: boolean;
}

/** Days of the week as written in `market_hours.days`, Monday first. */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** Zone of the default market (NSE). */
export const DEFAULT_TIMEZONE = "Asia/Kolkata";

/** NSE equity cash market: Monday–Friday 09:15–15:30 IST. */
export const NSE_EQUITY_SESSIONS: readonly MarketSession[] = [{ days: ["mon", "tue", "wed", "thu", "fri"], open: "09:15", close: "15:30" }];

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `Intl` knows `zone` as a time zone name. */
function isKnownTimeZone(zone: string): boolean {
  if (!/^[A-Za-z]/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes after midnight of a validated `HH:MM`. */
export function minutesOf(clock: string): number {
  const match = CLOCK.exec(clock);
  if (match === null) throw new RangeError(`not a HH:MM time: ${clock}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Whether `date` is `YYYY-MM-DD` naming a day that exists. */
function isRealDate(date: string): boolean {
  const match = ISO_DATE.exec(date);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day);
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

const timeOfDay = z.string({ error: 'expected a time "HH:MM"' }).regex(CLOCK, {
  error: (issue) => `expected a time "HH:MM" from 00:00 to 23:59, got ${JSON.stringify(issue.input)}`,
});

const days = z
  .array(
    z.enum(WEEKDAYS, {
      error: (issue) => `expected a day of ${WEEKDAYS.join(", ")}, got ${JSON.stringify(issue.input)}`,
    }),
    { error: `expected an array of days (${WEEKDAYS.join(", ")})` },
  )
  .min(1, { error: "expected at least one day" })
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const day of list) {
      if (seen.has(day)) ctx.addIssue({ code: "custom", message: `day "${day}" is listed more than once` });
      seen.add(day);
    }
  });

const sessionSchema = closedObject({ days, open: timeOfDay, close: timeOfDay }).superRefine((session, ctx) => {
  // Zod runs this even when a field failed; those failures are reported already.
  if (!CLOCK.test(session.open) || !CLOCK.test(session.close)) return;
  if (minutesOf(session.open) >= minutesOf(session.close)) {
    ctx.addIssue({
      code: "custom",
      path: ["close"],
      message: `expected close (${session.close}) after open (${session.open}); a session across midnight is written as two entries`,
    });
  }
});

const holiday = z.string({ error: 'expected a date "YYYY-MM-DD"' }).refine(isRealDate, {
  error: (issue) => `expected a real date "YYYY-MM-DD", got ${JSON.stringify(issue.input)}`,
});

/** Schema of `[deploy_window]`. */
export const deployWindowSchema = closedObject({
  market: z
    .string({ error: "expected the market's name" })
    .regex(/^[^\p{Cc}]{1,40}$/u, { error: "expected a name of 1–40 characters without control characters" })
    .refine((name) => name.trim() !== "", { error: "expected a non-blank name" })
    .optional(),
  timezone: z
    .string({ error: 'expected an IANA time zone name such as "Asia/Kolkata"' })
    .refine(isKnownTimeZone, {
      error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}: expected an IANA name such as "Asia/Kolkata"`,
    })
    .optional(),
  market_hours: z
    .array(sessionSchema, { error: "expected an array of { days, open, close } tables" })
    .min(1, { error: "expected at least one session (a venue that trades 24/7 sets none = true instead)" })
    .optional(),
  holidays: z
    .array(holiday, { error: 'expected an array of dates "YYYY-MM-DD"' })
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((date, index) => {
        if (seen.has(date)) ctx.addIssue({ code: "custom", path: [index], message: `holiday ${date} is listed more than once` });
        seen.add(date);
      });
    })
    .optional(),
  none: z.boolean({ error: "expected true or false" }).optional(),
}).superRefine((table, ctx) => {
  if (table.none !== true) return;
  for (const key of ["market_hours", "holidays"] as const) {
    if (table[key] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: "must be left out with none = true (a 24/7 venue has no closed time, so no market hours or holidays)",
      });
    }
  }
});

/** Applies the defaults to `[deploy_window]` (NSE equity hours in Asia/Kolkata, no holidays). */
export function deployWindowFrom(raw: z.output<typeof deployWindowSchema> | undefined): DeployWindow {
  const alwaysOpen = raw?.none === true;
  const nseDefaults = !alwaysOpen && raw?.market_hours === undefined;
  return {
    market: raw?.market ?? (nseDefaults ? "NSE" : undefined),
    timeZone: raw?.timezone ?? DEFAULT_TIMEZONE,
    sessions: alwaysOpen ? [] : (raw?.market_hours ?? NSE_EQUITY_SESSIONS),
    holidays: alwaysOpen ? [] : (raw?.holidays ?? []),
    alwaysOpen,
  };
}
