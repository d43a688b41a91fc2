/**
 * The top-level usage (`shriven-pipeline --help`), generated from the
 * commands' declarations: each command's name and operands in a column, its
 * summary wrapped beside them, its usage lines under it; then the sections
 * commands add (run's options), the options of the CLI itself and the exit
 * codes.
 */
import type { CliCommand } from "./command.js";

/** The widest line the list of commands wraps a summary to. */
const LINE_WIDTH = 112;

/** Columns between the end of the widest name and the summaries. */
const GAP = 2;

const HEADER = `Usage: shriven-pipeline <command> [options]

Commands:
`;

const FOOTER = `Other options:
  -h, --help         Show this help
  -v, --version      Show the version

Exit codes: 0 gates passed, 1 a gate failed, 2 usage or configuration error, 130 interrupted.
`;

/** A row of the list of commands. */
interface Row {
  readonly label: string;
  readonly summary: string;
  readonly usage: readonly string[];
}

/** The `help` pseudo-command's row, listed after the commands. */
const HELP_ROW: Row = { label: "help", summary: "Show this help", usage: [] };

/** The usage text for `commands`, in their order. */
export function renderUsage(commands: readonly CliCommand[]): string {
  const rows: Row[] = [
    ...commands.map((command) => ({
      label: command.operands === undefined ? command.name : `${command.name} ${command.operands}`,
      summary: command.summary,
      usage: command.usage,
    })),
    HELP_ROW,
  ];
  const column = Math.max(...rows.map((row) => row.label.length)) + GAP;
  const indent = " ".repeat(2 + column);
  const lines = rows.flatMap((row) => {
    const [first = "", ...rest] = wrap(row.summary, LINE_WIDTH - indent.length);
    return [`  ${row.label.padEnd(column)}${first}`, ...[...rest, ...row.usage].map((line) => `${indent}${line}`)];
  });
  const sections = commands.flatMap((command) => command.usageSections ?? []).map((section) => `${section}\n`);
  return `${HEADER}${lines.join("\n")}\n\n${sections.join("")}${FOOTER}`;
}

/** `text` broken at spaces into lines of at most `width` characters (a longer word stands on its own line). */
function wrap(text: string, width: number): string[] {
  const [first = "", ...words] = text.split(" ");
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    if (line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = `${line} ${word}`;
  }
  return [...lines, line];
}
