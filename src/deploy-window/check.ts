/**
 * The deploy window gate: a trading system is deployed only while its market is
 * CLOSED. Everything here is pure: the instant to judge is always passed in.
 */
import { containing, intervalsAround, intervalsOn, isoDateOf, localDayOf, type SessionInterval, weekdayOf } from "./market-calendar.js";
import type { DeployWindow, Weekday } from "./policy.js";
import { assertValidDate, formatLocalAndUtc } from "./wall-clock.js";

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

const WEEKDAY_NAMES: Readonly<Record<Weekday, string>> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

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
        `the next deploy window opens at ${formatLocalAndUtc(opens, zone)}`,
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
        reason: `market closed (${label(window)}${zone}: ${why}); the deploy window closes when the market opens at ${formatLocalAndUtc(closes, zone)}`,
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
  const last = sessions.reduce<SessionInterval | undefined>(
    (latest, interval) => (latest === undefined || interval.end > latest.end ? interval : latest),
    undefined,
  );
  if (first === undefined || last === undefined) return `${weekday}, no session`;
  if (t < first.start) return `${weekday}, before ${first.session.open}`;
  if (t >= last.end) return `${weekday}, after ${last.session.close}`;
  return `${weekday}, between sessions`;
}
