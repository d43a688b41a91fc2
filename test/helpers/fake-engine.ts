/**
 * A GraphQL endpoint on 127.0.0.1 that stands where the Dagger engine would:
 * the real SDK sends it the exact queries a module function builds; it
 * records them and answers each selection with plausible data (ids, exit
 * codes, file contents), so functions run end to end without an engine.
 *
 * It also plays the engine's side of the module function-call protocol the
 * SDK's entrypoint speaks (dagger/dagger `sdk/typescript/src/module/entrypoint/
 * entrypoint.ts`): a client registered with {@link FakeEngine.client} is a
 * function call, and `currentModule { name }`, `currentFunctionCall { parentName
 * name parent inputArgs }`, `returnValue` and `returnError` answer and record
 * for it, as the engine does for the container it starts per call.
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
  /**
   * Functions of installed dependency modules, by the root field the generated client selects
   * (`shrivenPipeline { dev(source: …) }`): called with the function's name and arguments, resolves to
   * its return value (a scalar, or the id of a returned object) — as the engine does by starting that
   * module's runtime.
   */
  readonly dependencies?: Readonly<Record<string, (fn: string, args: Readonly<Record<string, unknown>>) => Promise<unknown>>>;
}

/** The function call a client of the engine is running (what `currentFunctionCall` answers). */
export interface FunctionCallContext {
  /** The module's name as in its dagger.json (`currentModule { name }`). */
  readonly module: string;
  /** The object the function belongs to (`parentName`); "" asks the module to register its typedefs. */
  readonly parentName: string;
  /** The function's name, as registered (camelCase). */
  readonly name: string;
  /** The parent object's state (`parent`, JSON). */
  readonly parent?: Readonly<Record<string, unknown>>;
  /** Input arguments by name, as JSON-able values (an object argument is its id). */
  readonly args?: Readonly<Record<string, unknown>>;
}

/** What a function call sent back through `returnValue` or `returnError`. */
export interface FunctionCallReturn {
  /** The JSON the function returned (`returnValue(value:)`), parsed. */
  readonly value?: unknown;
  /** The error it returned (`returnError(error:)`): the message and the values attached with `withValue`. */
  readonly error?: { readonly message: string; readonly values: Readonly<Record<string, unknown>> };
}

/** A client of the fake engine: where and with what token to connect. */
export interface EngineClient {
  readonly port: number;
  readonly token: string;
}

/** One step of the path from the query root to a field. */
export interface PathStep {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** Exit codes 128–191 make the engine fail the exec instead of returning "any". */
const SIGNAL_EXIT = (code: number) => code >= 128 && code <= 191;

/** Fields of the function-call protocol whose answer depends on the calling client. */
const CALL_FIELDS = new Set(["currentModule", "currentFunctionCall", "loadFunctionCallArgValueFromID"]);

export class FakeEngine {
  readonly token = `fake-session-${process.pid}`;
  readonly queries: string[] = [];
  /** Exec queries held back by `execDelayMs` and not yet answered. */
  pending = 0;
  behaviour: FakeEngineBehaviour = {};
  private server: Server | undefined;
  private ids = 0;
  /** Every id this engine handed out, and the selection path of the object it stands for. */
  private readonly objects = new Map<string, readonly PathStep[]>();
  /** Clients by token, with the function call each runs (none: a plain session). */
  private readonly calls = new Map<string, FunctionCallContext | undefined>();
  /** What each function call returned, by client token. */
  private readonly returns = new Map<string, FunctionCallReturn>();

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
    // The SDK keeps its connection alive between queries, and a module may think for seconds between two
    // (the entrypoint introspects its sources): close idle connections only long after, as the engine does,
    // never under a client about to reuse one.
    this.server.keepAliveTimeout = 600_000;
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    process.env.DAGGER_SESSION_PORT = String(this.port);
    process.env.DAGGER_SESSION_TOKEN = this.token;
  }

  async stop(): Promise<void> {
    delete process.env.DAGGER_SESSION_PORT;
    delete process.env.DAGGER_SESSION_TOKEN;
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The port the engine listens on. */
  get port(): number {
    if (this.server === undefined) throw new Error("fake engine: not started");
    return (this.server.address() as AddressInfo).port;
  }

  /** Forgets recorded queries and sets how to answer. */
  reset(behaviour: FakeEngineBehaviour = {}): void {
    this.queries.length = 0;
    this.behaviour = behaviour;
  }

  /**
   * A new client running `call` (or, without one, a plain session): the port and token to hand to the
   * process the engine would start for it (`DAGGER_SESSION_PORT`, `DAGGER_SESSION_TOKEN`).
   */
  client(call?: FunctionCallContext): EngineClient {
    const token = `fake-call-${++this.ids}-${process.pid}`;
    this.calls.set(token, call);
    return { port: this.port, token };
  }

  /** What the function call of `client` returned, if it has. */
  returned(client: EngineClient): FunctionCallReturn | undefined {
    return this.returns.get(client.token);
  }

  /** The selection path behind an id this engine handed out (how the object was built). */
  objectPath(id: string): readonly PathStep[] | undefined {
    return this.objects.get(id);
  }

  /** Every recorded query joined, for searching. */
  allQueries(): string {
    return this.queries.join("\n");
  }

  private async handle(request: IncomingMessage): Promise<[number, unknown]> {
    const basic = (token: string) => `Basic ${Buffer.from(`${token}:`).toString("base64")}`;
    const token = [this.token, ...this.calls.keys()].find((t) => request.headers.authorization === basic(t));
    if (token === undefined) return [401, { errors: [{ message: "bad session token" }] }];
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
      return [200, { data: await this.answer(operation.selectionSet, [], token) }];
    } catch (error) {
      if (error instanceof FakeExecError) return [200, { data: null, errors: [{ message: error.message, extensions: error.extensions }] }];
      throw error;
    }
  }

  private async answer(selectionSet: SelectionSetNode, path: PathStep[], token: string): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = {};
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        Object.assign(data, await this.answer(selection.selectionSet, path, token));
        continue;
      }
      if (selection.kind !== Kind.FIELD) continue;
      const key = selection.alias?.value ?? selection.name.value;
      data[key] = await this.field(selection, path, token);
    }
    return data;
  }

  private async field(selection: FieldNode, path: PathStep[], token: string): Promise<unknown> {
    const name = selection.name.value;
    const args = argumentsOf(selection);
    const dependency = path.length === 0 ? this.behaviour.dependencies?.[name] : undefined;
    if (dependency !== undefined) return this.dependencyCall(dependency, selection, token);
    // `node(id:) { ... on T { … } }` loads an object by id, like `loadTFromID(id:)`.
    const inline = selection.selectionSet?.selections.find((s) => s.kind === Kind.INLINE_FRAGMENT);
    const stepName =
      name === "node" && inline?.kind === Kind.INLINE_FRAGMENT ? `load${inline.typeCondition?.name.value ?? ""}FromID` : name;
    const step: PathStep = { name: stepName, args };
    if (name === "inputArgs" && path.at(-1)?.name === "currentFunctionCall") {
      const call = this.calls.get(token);
      return Object.keys(call?.args ?? {}).map((arg) => ({ id: `arg:${arg}` }));
    }
    if (selection.selectionSet === undefined) return this.leaf(step, path, token);
    return this.answer(selection.selectionSet, [...path, step], token);
  }

  /**
   * Answers `dependency { fn(args) }` by calling the dependency's function; when `fn` returns an object,
   * what the query selects on it is answered on the object its id stands for.
   */
  private async dependencyCall(
    dependency: NonNullable<FakeEngineBehaviour["dependencies"]>[string],
    selection: FieldNode,
    token: string,
  ): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = {};
    for (const fn of selection.selectionSet?.selections ?? []) {
      if (fn.kind !== Kind.FIELD) continue;
      const value = await dependency(fn.name.value, argumentsOf(fn));
      data[fn.alias?.value ?? fn.name.value] =
        fn.selectionSet === undefined
          ? value
          : await this.answer(fn.selectionSet, [{ name: "loadObjectFromID", args: { id: value } }], token);
    }
    return data;
  }

  private leaf(field: PathStep, path: PathStep[], token: string): unknown {
    const nearest = (name: string) => [...path].reverse().find((p) => p.name === name);
    const parent = path.at(-1)?.name;
    if (parent !== undefined && CALL_FIELDS.has(parent)) return this.callLeaf(field, path, token);
    switch (field.name) {
      case "id":
      case "sync": {
        // An object loaded from an id keeps that id, as in the engine.
        const loaded = path.at(-1);
        if (loaded !== undefined && /^load\w+FromID$/.test(loaded.name)) return loaded.args.id;
        const id = `fake-id-${++this.ids}`;
        this.objects.set(id, [...path]);
        return id;
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

  /** The function-call protocol: what the calling client's function call is, and what it returns. */
  private callLeaf(field: PathStep, path: PathStep[], token: string): unknown {
    const parent = path.at(-1) as PathStep;
    const call = this.calls.get(token);
    if (call === undefined) throw new Error(`fake engine: ${parent.name} asked outside a function call`);
    if (parent.name === "currentModule") {
      if (field.name === "name") return call.module;
      throw new Error(`fake engine: currentModule.${field.name} is not played`);
    }
    if (parent.name === "loadFunctionCallArgValueFromID") {
      const name = String(parent.args.id).replace(/^arg:/, "");
      if (field.name === "name") return name;
      if (field.name === "value") return JSON.stringify(call.args?.[name] ?? null);
      if (field.name === "id") return parent.args.id;
      throw new Error(`fake engine: argument ${field.name} is not played`);
    }
    switch (field.name) {
      case "parentName":
        return call.parentName;
      case "name":
        return call.name;
      case "parent":
        return JSON.stringify(call.parent ?? {});
      case "returnValue":
        this.returns.set(token, { value: JSON.parse(String(field.args.value)) });
        return null;
      case "returnError":
        this.returns.set(token, { error: this.errorFrom(String(field.args.error)) });
        return null;
      default:
        throw new Error(`fake engine: currentFunctionCall.${field.name} is not played`);
    }
  }

  /** The message and values of an `error(message:) { withValue(name:, value:) … }` object, from its id. */
  private errorFrom(id: string): NonNullable<FunctionCallReturn["error"]> {
    const steps = this.objects.get(id) ?? [];
    const created = steps.find((s) => s.name === "error");
    if (created === undefined) throw new Error(`fake engine: ${id} is not an error object`);
    const values = Object.fromEntries(
      steps.filter((s) => s.name === "withValue").map((s) => [String(s.args.name), JSON.parse(String(s.args.value)) as unknown]),
    );
    return { message: String(created.args.message), values };
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
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
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
