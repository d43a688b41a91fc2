/**
 * When the approval gate's wait timer starts: a time the pipeline records, never the tagger date (which the
 * tagger sets: a tag dated two days back would have "waited" already).
 */
import { rfc3339Utc } from "../core/rfc3339.js";

/** The times the wait may start from. */
export interface WaitStartInput {
  /** `--wait-starts-at`: a recorded time a trusted caller gives, such as the staging promotion record's. */
  readonly given?: Date;
  /** When GitHub created the tag-push run (the push event), read from GitHub's API. */
  readonly pushedAt?: Date;
  /** When this stage run started: the fallback when neither of the others is known. */
  readonly runStartedAt: Date;
}

/** The wait's start and where it came from. */
export interface WaitStart {
  readonly at: Date;
  readonly from: string;
}

/**
 * The latest of the recorded times given (`given`, `pushedAt`), so no input shortens the wait GitHub's record
 * of the push sets; else the run's start.
 * @throws RangeError for an invalid Date.
 */
export function waitStart(input: WaitStartInput): WaitStart {
  const recorded: WaitStart[] = [];
  if (input.given !== undefined) recorded.push({ at: input.given, from: `--wait-starts-at ${rfc3339Utc(input.given)}` });
  if (input.pushedAt !== undefined) recorded.push({ at: input.pushedAt, from: `the tag push (run created ${rfc3339Utc(input.pushedAt)})` });
  for (const { at } of [...recorded, { at: input.runStartedAt }]) {
    if (Number.isNaN(at.getTime())) throw new RangeError("waitStart: an invalid Date");
  }
  const latest = recorded.sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  return latest ?? { at: input.runStartedAt, from: `the start of this run (${rfc3339Utc(input.runStartedAt)})` };
}
