/**
 * Runs the Dagger TypeScript SDK's own introspector offline, as the engine's
 * runtime does: every .ts file under a module's src/ plus the generated
 * client (`client.gen.ts`). The npm package ships that client only as
 * declarations, which the introspector skips, so a copy named client.gen.ts
 * stands in for it.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const SDK = resolve(import.meta.dirname, "../../node_modules/@dagger.io/dagger/dist/src");

/** What the introspector says about one argument. */
export interface ScannedArgument {
  readonly name: string;
  readonly description: string;
  readonly type: ScannedType;
  readonly isOptional: boolean;
  readonly defaultPath?: string;
  readonly ignore?: string[];
  readonly defaultValue?: unknown;
}

/** A type in the introspector's terms. */
export interface ScannedType {
  readonly kind: string;
  readonly name?: string;
  readonly typeDef?: ScannedType;
}

/** What the introspector says about one function. */
export interface ScannedFunction {
  readonly name: string;
  readonly description: string;
  readonly arguments: Record<string, ScannedArgument>;
  readonly returnType: ScannedType;
  readonly cache?: string;
}

/** The parts of a scanned module the tests read. */
export interface ScannedModule {
  readonly name: string;
  readonly description: string;
  readonly objects: Record<string, { name: string; description: string; methods: Record<string, ScannedFunction> }>;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Introspects the module whose sources are in `srcDir`, without loading (running) them. */
export async function scanModule(srcDir: string, moduleName: string): Promise<ScannedModule> {
  const clientDir = mkdtempSync(join(tmpdir(), "shriven-client-gen-"));
  try {
    copyFileSync(join(SDK, "api/client.gen.d.ts"), join(clientDir, "client.gen.ts"));
    const { scan } = (await import(pathToFileURL(join(SDK, "module/introspector/index.js")).href)) as {
      scan: (files: string[], name: string, load: boolean) => Promise<unknown>;
    };
    const scanned = await scan([...tsFiles(srcDir), join(clientDir, "client.gen.ts")], moduleName, false);
    return JSON.parse(JSON.stringify(scanned)) as ScannedModule;
  } finally {
    rmSync(clientDir, { recursive: true, force: true });
  }
}

/** A type as the README writes it: `String`, `Int`, `Directory`, `[String]`. */
export function typeName(type: ScannedType): string {
  switch (type.kind) {
    case "STRING_KIND":
      return "String";
    case "INTEGER_KIND":
      return "Int";
    case "BOOLEAN_KIND":
      return "Boolean";
    case "LIST_KIND":
      return `[${typeName(type.typeDef as ScannedType)}]`;
    default:
      return type.name ?? type.kind;
  }
}

/** camelCase → kebab-case, as the Dagger CLI names functions and flags. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
