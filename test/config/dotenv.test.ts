import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../src/config/dotenv.js";
import { configError } from "../helpers/config-error.js";

function problems(text: string): string[] {
  const error = configError(() => parseEnvFile(text, "x.env"));
  expect(error.source).toBe("x.env");
  return [...error.problems];
}

describe("parseEnvFile", () => {
  it("reads assignments, comments, export, quotes and escapes", () => {
    const text = [
      "# profile",
      "",
      "ENVIRONMENT=test",
      "export TRADING_MODE=paper   # trailing comment",
      "MAX_POSITION_SIZE='1000'",
      'NOTE="a\\tb\\n\\"c\\" #not a comment"',
      "EMPTY=",
      "  SPACED = value  ",
    ].join("\n");
    expect(parseEnvFile(text, "p.env")).toEqual([
      { key: "ENVIRONMENT", value: "test", line: 3 },
      { key: "TRADING_MODE", value: "paper", line: 4 },
      { key: "MAX_POSITION_SIZE", value: "1000", line: 5 },
      { key: "NOTE", value: 'a\tb\n"c" #not a comment', line: 6 },
      { key: "EMPTY", value: "", line: 7 },
      { key: "SPACED", value: "value", line: 8 },
    ]);
  });

  it("accepts CRLF line ends and a byte-order mark", () => {
    expect(parseEnvFile("\uFEFFA=1\r\nB=2\r\n", "w.env")).toEqual([
      { key: "A", value: "1", line: 1 },
      { key: "B", value: "2", line: 2 },
    ]);
  });

  it.each([
    ["a line without =", "A=1\nJUSTTEXT\n", 'line 2: expected KEY=VALUE, found no "="'],
    ["a bad variable name", "1ABC=2", 'line 1: "1ABC" is not a valid variable name'],
    ["a name with a dash", "MAX-POSITION=2", 'line 1: "MAX-POSITION" is not a valid variable name'],
    ["an unclosed double quote", 'A="abc', 'line 1: A: missing closing "'],
    ["an unclosed single quote", "A='abc", "line 1: A: missing closing '"],
    ["an unknown escape", 'A="\\q"', "line 1: A: unknown escape \\q"],
    ["text after the closing quote", 'A="x" y', "line 1: A: unexpected text after the closing quote"],
    ["a stray quote in an unquoted value", 'A=ab"c', "line 1: A: unquoted value contains a quote character"],
    ["a duplicate key", "A=1\nB=2\nA=3", "line 3: A is already set on line 1"],
  ])("rejects %s with the line number", (_, text, expected) => {
    expect(problems(text).join("\n")).toContain(expected);
  });

  it("reports every bad line, not only the first", () => {
    expect(problems("A\nB\nC=1\nD")).toHaveLength(3);
  });

  it("rejects binary content", () => {
    expect(problems("A=1\0\n")[0]).toContain("NUL byte");
  });

  it("never echoes a value in an error", () => {
    const secret = "sk_live_4f9a8b7c6d5e4f3a2b1c"; // shriven-pipeline: allow-secret (a made-up value to prove errors never echo it)
    const all = [
      ...problems(`${secret}\n`),
      ...problems(`KEY="${secret}`),
      ...problems(`KEY="${secret}" ${secret}`),
      ...problems(`KEY=${secret}"`),
    ].join("\n");
    expect(all).not.toContain(secret);
    expect(all).not.toContain(secret.slice(0, 12));
  });
});
