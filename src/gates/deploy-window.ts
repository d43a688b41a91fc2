/**
 * The deployment window of the production stage: `[deploy_window]` in
 * shriven-pipeline.toml. A trading system is deployed only while its market is
 * CLOSED; a deploy while it trades needs an explicit emergency override with
 * its own reason (which the caller writes to the audit log).
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
 *
 * Time zones: local times are turned into instants with `Intl.DateTimeFormat`, so
 * daylight-saving switches are followed for any zone. A wall-clock time that occurs
 * twice (clocks go back) means its first occurrence; one that does not occur (clocks
 * go forward) means the moment the clocks jump past it.
 *
 * Everything here is pure: the instant to judge is always passed in.
 */
import { z } from "zod";
import { closedObject } from "../config/zod-issues.js";
import { UsageError } from "../core/errors.js";

/** Days of the week as written in `market_hours.days`, Monday first. */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** One of {@link WEEKDAYS}. */
export type Weekday = (typeof WEEKDAYS)[number];

const WEEKDAY_NAMES: Readonly<Record<Weekday, string>> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

/** Zone of the default market (NSE). */
export const DEFAULT_TIMEZONE = "Asia/Kolkata";

/** Shortest emergency-override reason accepted (after trimming). */
export const MIN_OVERRIDE_REASON_LENGTH = 10;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

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
function minutesOf(clock: string): number {
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

const clock = z.string({ error: 'expected a time "HH:MM"' }).regex(CLOCK, {
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

const sessionSchema = closedObject({ days, open: clock, close: clock }).superRefine((session, ctx) => {
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

/** NSE equity cash market: Monday–Friday 09:15–15:30 IST. */
export const NSE_EQUITY_SESSIONS: readonly MarketSession[] = [{ days: ["mon", "tue", "wed", "thu", "fri"], open: "09:15", close: "15:30" }];

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

// ---------------------------------------------------------------------------
// Local wall-clock arithmetic. A "day" is a count of days since 1970-01-01 on the
// local calendar; a "wall" time is local wall-clock time as if it were UTC ms.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, format);
  }
  return format;
}

/** The local wall-clock time of instant `t` (ms) in `zone`, as UTC ms. */
function wallOf(t: number, zone: string): number {
  const parts: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(t))) parts[part.type] = part.value;
  const yearOfEra = Number(parts.year);
  const year = parts.era === "BC" || parts.era === "B" ? 1 - yearOfEra : yearOfEra;
  const probe = new Date(0);
  probe.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
  probe.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
  return probe.getTime() + msOfSecond(t);
}

/** The milliseconds within the second of `t` (0–999, also before 1970). */
function msOfSecond(t: number): number {
  return ((t % 1000) + 1000) % 1000;
}

/** UTC offset of `zone` at instant `t`, in ms (east positive). */
function offsetAt(t: number, zone: string): number {
  return wallOf(t, zone) - t;
}

/**
 * The instant at which the wall clock of `zone` first reads `wall`: its earlier
 * occurrence when clocks go back, the moment the clocks jump past it when they go forward.
 */
function instantOfWall(wall: number, zone: string): number {
  const offsets = new Set([offsetAt(wall - DAY_MS, zone), offsetAt(wall, zone), offsetAt(wall + DAY_MS, zone)]);
  const matches = [...offsets].map((offset) => wall - offset).filter((t) => wallOf(t, zone) === wall);
  if (matches.length > 0) return Math.min(...matches);
  // In a gap: find the first instant whose wall clock is at or past `wall`.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (wallOf(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

function localDayOf(t: number, zone: string): number {
  return Math.floor(wallOf(t, zone) / DAY_MS);
}

function weekdayOf(day: number): Weekday {
  // 1970-01-01 was a Thursday.
  return WEEKDAYS[(((day + 3) % 7) + 7) % 7] as Weekday;
}

function isoDateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** One session on one local day, as instants. */
interface Interval {
  readonly start: number;
  readonly end: number;
  readonly session: MarketSession;
  readonly day: number;
}

function intervalsOn(day: number, window: DeployWindow): Interval[] {
  if (window.holidays.includes(isoDateOf(day))) return [];
  const weekday = weekdayOf(day);
  return window.sessions
    .filter((session) => session.days.includes(weekday))
    .map((session) => ({
      start: instantOfWall(day * DAY_MS + minutesOf(session.open) * MINUTE_MS, window.timeZone),
      end: instantOfWall(day * DAY_MS + minutesOf(session.close) * MINUTE_MS, window.timeZone),
      session,
      day,
    }))
    .sort((a, b) => a.start - b.start);
}

function intervalsAround(t: number, window: DeployWindow, daysAfter: number): Interval[] {
  const today = localDayOf(t, window.timeZone);
  const list: Interval[] = [];
  for (let day = today - 1; day <= today + daysAfter; day++) list.push(...intervalsOn(day, window));
  return list.sort((a, b) => a.start - b.start);
}

function containing(t: number, intervals: readonly Interval[]): Interval | undefined {
  return intervals.find((interval) => interval.start <= t && t < interval.end);
}

/** `2026-11-27T15:30:00+05:30`: the instant in the zone's local time with its offset. */
export function formatLocalTime(at: Date, zone: string): string {
  const t = at.getTime();
  const wall = wallOf(t, zone);
  const offsetMinutes = Math.round((wall - t) / MINUTE_MS);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${new Date(wall - msOfSecond(wall)).toISOString().slice(0, 19)}${offset}`;
}

/** `2026-11-27T10:00:00Z`: the instant in UTC, without milliseconds. */
function formatUtc(at: Date): string {
  return `${new Date(at.getTime() - msOfSecond(at.getTime())).toISOString().slice(0, 19)}Z`;
}

function bothTimes(at: Date, zone: string): string {
  return `${formatLocalTime(at, zone)} (${formatUtc(at)})`;
}

function assertValidDate(at: Date): number {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError("the instant to judge is an invalid Date");
  return t;
}

/** Whether the market of `window` trades at instant `at` (always, for a 24/7 venue). */
export function isMarketOpen(at: Date, window: DeployWindow): boolean {
  if (window.alwaysOpen) return true;
  const t = assertValidDate(at);
  return containing(t, intervalsAround(t, window, 1)) !== undefined;
}

/** The verdict of the deploy window gate at one instant. */
export interface DeployWindowCheck {
  /** True when the market is closed, so a deploy may start. */
  readonly allowed: boolean;
  /** One line for the report: why, and when the window opens or closes (local time with offset, and UTC). */
  readonly reason: string;
  /** When refused: the next instant a deploy may start (the market's next close). */
  readonly nextWindowOpens?: Date;
  /** When allowed: the next market open, by which a deploy must be done. */
  readonly windowCloses?: Date;
}

function label(window: DeployWindow): string {
  return window.market === undefined ? "" : `${window.market} `;
}

/**
 * Judges whether a deploy may start at `at`: allowed while the market is closed.
 * When refused, `nextWindowOpens` is the next market close (touching sessions merged,
 * holidays and weekends skipped); when allowed, `windowCloses` is the next market open.
 * A 24/7 venue (`none = true`) is always refused: only the emergency override deploys there.
 */
export function checkDeployWindow(at: Date, window: DeployWindow): DeployWindowCheck {
  const zone = window.timeZone;
  if (window.alwaysOpen) {
    const venue = window.market ?? "the venue";
    return {
      allowed: false,
      reason: `${venue} trades 24/7 (deploy_window none = true): there is no deploy window, so a deploy needs the emergency override with its own reason`,
    };
  }
  const t = assertValidDate(at);
  const near = intervalsAround(t, window, 2);
  const current = containing(t, near);
  if (current !== undefined) {
    let end = current.end;
    for (const interval of near) if (interval.start <= end && interval.end > end) end = interval.end;
    const opens = new Date(end);
    const { session, day } = current;
    return {
      allowed: false,
      reason:
        `market open (${label(window)}${session.open}–${session.close} ${zone}, ${WEEKDAY_NAMES[weekdayOf(day)]}); ` +
        `the next deploy window opens at ${bothTimes(opens, zone)}`,
      nextWindowOpens: opens,
    };
  }
  const today = localDayOf(t, zone);
  const why = closedBecause(t, today, window);
  // Any 7 days hold a session day; each holiday can remove one, so this many days always reach the next open.
  const horizon = 7 * (window.holidays.length + 1) + 1;
  for (let day = today; day <= today + horizon; day++) {
    const next = intervalsOn(day, window).find((interval) => interval.start > t);
    if (next !== undefined) {
      const closes = new Date(next.start);
      return {
        allowed: true,
        reason: `market closed (${label(window)}${zone}: ${why}); the deploy window closes when the market opens at ${bothTimes(closes, zone)}`,
        windowCloses: closes,
      };
    }
  }
  return { allowed: true, reason: `market closed (${label(window)}${zone}: ${why}); no market session is scheduled ahead` };
}

function closedBecause(t: number, today: number, window: DeployWindow): string {
  const date = isoDateOf(today);
  const weekday = WEEKDAY_NAMES[weekdayOf(today)];
  if (window.holidays.includes(date)) return `holiday ${date}, ${weekday}`;
  const sessions = intervalsOn(today, window);
  const first = sessions[0];
  const last = sessions.reduce<Interval | undefined>((latest, s) => (latest === undefined || s.end > latest.end ? s : latest), undefined);
  if (first === undefined || last === undefined) return `${weekday}, no session`;
  if (t < first.start) return `${weekday}, before ${first.session.open}`;
  if (t >= last.end) return `${weekday}, after ${last.session.close}`;
  return `${weekday}, between sessions`;
}

/** An emergency override of a refused deploy window; the caller writes it to the audit log. */
export interface DeployWindowOverride {
  readonly allowed: true;
  /** One line for the report: who overrode what, and why. */
  readonly reason: string;
  readonly override: {
    /** The override's own reason, trimmed. */
    readonly reason: string;
    /** Who gave it (trimmed). */
    readonly who: string;
    /** When it was given. */
    readonly at: Date;
  };
  /** The check that was overridden. */
  readonly overridden: DeployWindowCheck;
}

/**
 * Overrides the deploy window in an emergency. The override needs its own reason:
 * at least {@link MIN_OVERRIDE_REASON_LENGTH} characters after trimming, and not the
 * gate's message repeated; `who` must not be blank.
 * @param input.at When the override is given; the real clock when absent.
 * @throws UsageError when the reason or `who` is refused.
 */
export function overrideDeployWindow(check: DeployWindowCheck, input: { reason: string; who: string; at?: Date }): DeployWindowOverride {
  const reason = input.reason.trim();
  const who = input.who.trim();
  if (reason.length < MIN_OVERRIDE_REASON_LENGTH) {
    throw new UsageError(
      `the override needs its own reason: at least ${MIN_OVERRIDE_REASON_LENGTH} characters saying why the deploy cannot wait (got ${JSON.stringify(input.reason)})`,
    );
  }
  if (reason === check.reason.trim()) {
    throw new UsageError("the override needs its own reason, not the deploy window's message repeated");
  }
  if (who === "") throw new UsageError("the override needs who gives it (a user name), for the audit log");
  const at = input.at ?? new Date();
  assertValidDate(at);
  return {
    allowed: true,
    reason: `deploy window overridden by ${who}: ${reason} (${check.reason})`,
    override: { reason, who, at },
    overridden: check,
  };
}
