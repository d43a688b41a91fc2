/**
 * Exec failures the Dagger SDK throws as an `ExecError`, recognised without
 * importing that class. Inside the engine's TypeScript runtime,
 * `@dagger.io/dagger` is the runtime's bundled SDK library, whose index
 * exports only the module API and the generated client (dagger/dagger
 * `sdk/typescript/runtime/tsutils/module/index.ts`): `import { ExecError }`
 * from it fails to load the whole module there, although it works against
 * the npm package.
 */

/** The exit code and output of an exec the engine reported as failed. */
export interface ExecFailure {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The exec failure `error` carries, or undefined when it is another error. */
export function execFailure(error: unknown): ExecFailure | undefined {
  if (!(error instanceof Error) || error.name !== "ExecError") return undefined;
  const { exitCode, stdout, stderr } = error as Error & { exitCode?: unknown; stdout?: unknown; stderr?: unknown };
  if (typeof exitCode !== "number") return undefined;
  return { exitCode, stdout: typeof stdout === "string" ? stdout : "", stderr: typeof stderr === "string" ? stderr : "" };
}
