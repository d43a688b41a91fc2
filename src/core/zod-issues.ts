import { z } from "zod";

/** Turns zod issues into one line each: `dotted.key.path: message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => `${path === "" ? "" : `${path}.`}${key}: unknown key; ${issue.message}`);
    }
    return [`${path === "" ? "(top level)" : path}: ${issue.message}`];
  });
}

/** A strict object whose unknown-key error lists the keys it does know. */
export function closedObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `expected one of: ${known}` : undefined),
  });
}
