/**
 * The market's calendar: which sessions fall on which local day (holidays and
 * weekdays applied), as intervals of instants. A "day" is a count of days since
 * 1970-01-01 on the local calendar.
 */
import { type DeployWindow, type MarketSession, minutesOf, WEEKDAYS, type Weekday } from "./policy.js";
import { assertValidDate, DAY_MS, instantOfWall, MINUTE_MS, wallOf } from "./wall-clock.js";

/** One session on one local day, as instants. */
export interface SessionInterval {
  readonly start: number;
  readonly end: number;
  readonly session: MarketSession;
  readonly day: number;
}

/** The local calendar day of instant `t` in `zone`. */
export function localDayOf(t: number, zone: string): number {
  return Math.floor(wallOf(t, zone) / DAY_MS);
}

/** The day of the week of a local calendar day. */
export function weekdayOf(day: number): Weekday {
  // 1970-01-01 was a Thursday.
  return WEEKDAYS[(((day + 3) % 7) + 7) % 7] as Weekday;
}

/** `YYYY-MM-DD` of a local calendar day. */
export function isoDateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The sessions on a local calendar day (none on a holiday), earliest first. */
export function intervalsOn(day: number, window: DeployWindow): SessionInterval[] {
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
    .sort((first, second) => first.start - second.start);
}

/** The sessions from the day before `t`'s local day to `daysAfter` days after it, earliest first. */
export function intervalsAround(t: number, window: DeployWindow, daysAfter: number): SessionInterval[] {
  const today = localDayOf(t, window.timeZone);
  const list: SessionInterval[] = [];
  for (let day = today - 1; day <= today + daysAfter; day++) list.push(...intervalsOn(day, window));
  return list.sort((first, second) => first.start - second.start);
}

/** The session that `t` falls in, if any. */
export function containing(t: number, intervals: readonly SessionInterval[]): SessionInterval | undefined {
  return intervals.find((interval) => interval.start <= t && t < interval.end);
}

/** Whether the market of `window` trades at instant `at` (always, for a 24/7 venue). */
export function isMarketOpen(at: Date, window: DeployWindow): boolean {
  if (window.alwaysOpen) return true;
  const t = assertValidDate(at);
  return containing(t, intervalsAround(t, window, 1)) !== undefined;
}
