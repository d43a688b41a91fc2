/**
 * RFC 3339 date-times: parsing with every field's range checked, the UTC form
 * this project writes, and a sortable key of strict UTC timestamps.
 */

/** A parsed RFC 3339 date-time. */
export interface Rfc3339Time {
  readonly date: Date;
  /** Whether the offset was `Z` (UTC), as in-toto Timestamps require. */
  readonly utc: boolean;
}

/**
 * Parses an RFC 3339 `date-time` (RFC 3339 section 5.6), checking each field's
 * range (RFC 3339 section 5.7) and the day of the month. `T` and `Z` may be
 * lowercase (section 5.6, NOTE). Returns `undefined` when `text` is not one.
 */
export function parseRfc3339(text: string): Rfc3339Time | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] === undefined ? 0 : Number(`0${match[7]}`);
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  // Section 5.7: hour 00-23, minute 00-59, second 00-60 (60 only for a leap second).
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (match[9] !== undefined) {
    const offsetHour = Number(match[10]);
    const offsetMinute = Number(match[11]);
    if (offsetHour > 23 || offsetMinute > 59) return undefined;
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, Math.min(second, 59), Math.floor(fraction * 1000));
  return { date, utc: match[9] === undefined };
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** RFC 3339 UTC, without milliseconds when they are zero (`2026-01-02T03:04:05Z`). */
export function rfc3339Utc(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/**
 * A sortable key of an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, so string order is time
 * order), or undefined when `text` is not one (or names no real instant: 31 April, hour 24, a leap second).
 */
export function timestampKey(text: string): string | undefined {
  if (!RFC3339_UTC.test(text) || parseRfc3339(text) === undefined || Number(text.slice(17, 19)) > 59) return undefined;
  const fraction = text.length > 20 ? text.slice(20, -1) : "";
  return `${text.slice(0, 19)}.${fraction.padEnd(9, "0")}`;
}
