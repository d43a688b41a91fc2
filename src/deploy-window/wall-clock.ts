/**
 * Local wall-clock arithmetic in an IANA time zone. A "wall" time is local
 * wall-clock time as if it were UTC ms.
 *
 * Time zones: local times are turned into instants with `Intl.DateTimeFormat`, so
 * daylight-saving switches are followed for any zone. A wall-clock time that occurs
 * twice (clocks go back) means its first occurrence; one that does not occur (clocks
 * go forward) means the moment the clocks jump past it.
 */

/** A minute, in ms. */
export const MINUTE_MS = 60_000;
/** A day of wall-clock time, in ms. */
export const DAY_MS = 86_400_000;

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
export function wallOf(t: number, zone: string): number {
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
export function instantOfWall(wall: number, zone: string): number {
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

/** The instant in the zone's local time and in UTC: `2026-11-27T15:30:00+05:30 (2026-11-27T10:00:00Z)`. */
export function formatLocalAndUtc(at: Date, zone: string): string {
  return `${formatLocalTime(at, zone)} (${formatUtc(at)})`;
}

/**
 * The instant of a Date to judge, in ms.
 * @throws RangeError when the Date is invalid.
 */
export function assertValidDate(at: Date): number {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError("the instant to judge is an invalid Date");
  return t;
}
