/**
 * A GraphQL endpoint on 127.0.0.1 that stands where the Dagger engine would:
 * the real SDK sends it the exact queries a module function builds; it
 * records them and answers each selection with plausible data (ids, exit
 * codes, file contents), so functions run end to end without an engine.
 */
import { cpSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type FieldNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  type ValueNode,
  valueFromASTUntyped,
} from "graphql";

/** What a `withExec` answers. */
export interface ExecAnswer {
  readonly exitCode: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** How the fake engine answers. */
export interface FakeEngineBehaviour {
  /**
   * Answer for an exec (argv as the module sent it, and the variables set with `withEnvVariable` on the
   * way to it); default: exit 0, no output.
   */
  readonly exec?: (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer;
  /** Top-level entries of any directory loaded from an id. */
  readonly entries?: readonly string[];
  /** File contents by path, for `file(path:) { contents }`. */
  readonly files?: Readonly<Record<string, string>>;
  /** What any `glob` answers. */
  readonly glob?: readonly string[];
  /** Local folders that stand for `git(url).head().tree()`; exporting such a tree copies the folder. */
  readonly gitTrees?: Readonly<Record<string, string>>;
  /** Local folders that stand for directories loaded by id; exporting one copies the folder. */
  readonly directories?: Readonly<Record<string, string>>;
  /** A local folder that stands for the runner's produced files (`directory(path: "/shriven-outputs")`) when exported. */
  readonly outputs?: string;
  /**
   * A local file that stands for `file(path)` of a container when exported (given the path and the argv of
   * the last exec before it); exporting it copies the file. Undefined: not a file this engine has.
   */
  readonly containerFiles?: (path: string, argv: readonly string[]) => string | undefined;
  /** Plaintext of secrets loaded by id (`loadSecretFromID(id) { plaintext }`). */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Milliseconds to wait before answering a query that asks for an exit code. */
  readonly execDelayMs?: number;
}

/** One step of the path from the query root to a field. */
interface PathStep {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** Ports 128–191 make the engine fail the exec instead of returning "any". */
const SIGNAL_EXIT = (code: number) => code >= 128 && code <= 191;

export class FakeEngine {
  readonly token = `fake-session-${process.pid}`;
  readonly queries: string[] = [];
  /** Exec queries held back by `execDelayMs` and not yet answered. */
  pending = 0;
  behaviour: FakeEngineBehaviour = {};
  private server: Server | undefined;
  private ids = 0;

  /** Starts listening on 127.0.0.1 and points the SDK at it (DAGGER_SESSION_PORT/TOKEN). */
  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      // Every request gets an answer: a fault in the fake is a GraphQL error, never a hang.
      void this.handle(request)
        .catch((error: Error): [number, unknown] => [200, { data: null, errors: [{ message: `fake engine: ${error.message}` }] }])
        .then(([status, body]) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(body));
        });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    process.env.DAGGER_SESSION_PORT = String((this.server.address() as AddressInfo).port);
    process.env.DAGGER_SESSION_TOKEN = this.token;
  }

  async stop(): Promise<void> {
    delete process.env.DAGGER_SESSION_PORT;
    delete process.env.DAGGER_SESSION_TOKEN;
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Forgets recorded queries and sets how to answer. */
  reset(behaviour: FakeEngineBehaviour = {}): void {
    this.queries.length = 0;
    this.behaviour = behaviour;
  }

  /** Every recorded query joined, for searching. */
  allQueries(): string {
    return this.queries.join("\n");
  }

  private async handle(request: IncomingMessage): Promise<[number, unknown]> {
    const expected = `Basic ${Buffer.from(`${this.token}:`).toString("base64")}`;
    if (request.headers.authorization !== expected) return [401, { errors: [{ message: "bad session token" }] }];
    let text = "";
    for await (const chunk of request) text += chunk;
    const { query } = JSON.parse(text) as { query: string };
    this.queries.push(query);
    const operation = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
    if (this.behaviour.execDelayMs !== undefined && query.includes("exitCode")) {
      this.pending++;
      await new Promise((resolve) => setTimeout(resolve, this.behaviour.execDelayMs));
      this.pending--;
    }
    try {
      return [200, { data: this.answer(operation.selectionSet, []) }];
    } catch (error) {
      if (error instanceof FakeExecError) return [200, { data: null, errors: [{ message: error.message, extensions: error.extensions }] }];
      throw error;
    }
  }

  private answer(selectionSet: SelectionSetNode, path: PathStep[]): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const selection of selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      const step: PathStep = { name: selection.name.value, args: argumentsOf(selection) };
      const key = selection.alias?.value ?? selection.name.value;
      data[key] = selection.selectionSet === undefined ? this.leaf(step, path) : this.answer(selection.selectionSet, [...path, step]);
    }
    return data;
  }

  private leaf(field: PathStep, path: PathStep[]): unknown {
    const nearest = (name: string) => [...path].reverse().find((p) => p.name === name);
    switch (field.name) {
      case "id":
      case "sync": {
        // An object loaded from an id keeps that id, as in the engine.
        const loaded = path.at(-1);
        if (loaded !== undefined && /^load\w+FromID$/.test(loaded.name)) return loaded.args.id;
        return `fake-id-${++this.ids}`;
      }
      case "exitCode":
      case "stdout":
      case "stderr": {
        const exec = nearest("withExec");
        const argv = (exec?.args.args as string[] | undefined) ?? [];
        const env = Object.fromEntries(
          path.filter((p) => p.name === "withEnvVariable").map((p) => [String(p.args.name), String(p.args.value)]),
        );
        const answer = this.behaviour.exec?.(argv, env) ?? { exitCode: 0 };
        if (SIGNAL_EXIT(answer.exitCode)) throw new FakeExecError(argv, answer);
        return field.name === "exitCode" ? answer.exitCode : (answer[field.name] ?? "");
      }
      case "entries":
        return this.behaviour.entries ?? [];
      case "export": {
        const url = String(nearest("git")?.args.url ?? "");
        const loadedId = String(nearest("loadDirectoryFromID")?.args.id ?? "");
        const outputs = nearest("directory")?.args.path === "/shriven-outputs" ? this.behaviour.outputs : undefined;
        const tree = this.behaviour.gitTrees?.[url] ?? this.behaviour.directories?.[loadedId] ?? outputs;
        if (tree !== undefined) {
          cpSync(tree, String(field.args.path), { recursive: true });
          return field.args.path;
        }
        const filePath = nearest("file")?.args.path;
        const afterExec = (nearest("withExec")?.args.args as string[] | undefined) ?? [];
        const local = filePath === undefined ? undefined : this.behaviour.containerFiles?.(String(filePath), afterExec);
        if (local === undefined) throw new Error(`fake engine: cannot export ${JSON.stringify(path.map((p) => p.name))}`);
        cpSync(local, String(field.args.path));
        return field.args.path;
      }
      case "glob":
        return this.behaviour.glob ?? [];
      case "plaintext": {
        const id = String(nearest("loadSecretFromID")?.args.id ?? "");
        const plaintext = this.behaviour.secrets?.[id];
        if (plaintext === undefined) throw new Error(`fake engine: no secret ${id}`);
        return plaintext;
      }
      case "contents":
      case "name": {
        const filePath = String(nearest("file")?.args.path ?? "");
        if (field.name === "name") return filePath.split("/").pop() ?? "";
        const contents = this.behaviour.files?.[filePath];
        if (contents === undefined) throw new Error(`fake engine: no file ${filePath}`);
        return contents;
      }
      default:
        return null;
    }
  }
}

/** The engine's answer to an exec killed by a signal: a GraphQL error the SDK turns into ExecError. */
class FakeExecError extends Error {
  readonly extensions: Record<string, unknown>;
  constructor(argv: readonly string[], answer: ExecAnswer) {
    super(`process "${argv.join(" ")}" did not complete successfully: exit code: ${answer.exitCode}`);
    this.extensions = {
      _type: "EXEC_ERROR",
      cmd: argv,
      exitCode: answer.exitCode,
      stdout: answer.stdout ?? "",
      stderr: answer.stderr ?? "",
    };
  }
}

function argumentsOf(field: FieldNode): Record<string, unknown> {
  return Object.fromEntries((field.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value as ValueNode)]));
}

/** Every call of field `name` in a query, with its arguments, in order. */
export function fieldCalls(query: string, name: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const walk = (selectionSet: SelectionSetNode | undefined): void => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind !== Kind.FIELD) continue;
      if (selection.name.value === name) found.push(argumentsOf(selection));
      walk(selection.selectionSet);
    }
  };
  for (const definition of parse(query).definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) walk(definition.selectionSet);
  }
  return found;
}

/** The argv of every `withExec` in a query, in order. */
export function execArgvs(query: string): string[][] {
  return fieldCalls(query, "withExec").map((call) => call.args as string[]);
}
