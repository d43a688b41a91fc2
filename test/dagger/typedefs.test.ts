/**
 * The module's typedefs, as the Dagger SDK's own introspector reads them
 * offline, against what docs/dagger-module.md documents.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { kebab, type ScannedModule, scanModule, typeName } from "../helpers/dagger-scan.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** The function table of docs/dagger-module.md: function → { args: "--name Type (default …|optional)", returns }. */
function documentedFunctions(): Map<string, { args: string[]; returns: string }> {
  const doc = readFileSync(resolve(ROOT, "docs/dagger-module.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Functions"), doc.indexOf("## The staging and production functions"));
  const rows = section.split("\n").filter((line) => /^\| `[a-z-]+` +\|/.test(line));
  return new Map(
    rows.map((row) => {
      const [name, args, returns] = row
        .split("|")
        .slice(1, 4)
        .map((cell) => cell.trim());
      const list = args === "—" ? [] : (args as string).split(/, (?=`)/).map((a) => a.replace(/`/g, ""));
      return [(name as string).replace(/`/g, ""), { args: list, returns: (returns as string).replace(/`/g, "") }];
    }),
  );
}

describe("typedefs of the root module (SDK introspector, offline)", () => {
  let module: ScannedModule;
  beforeAll(async () => {
    module = await scanModule(resolve(ROOT, "src"), "shriven-pipeline");
  });

  it("exposes the ShrivenPipeline object with a description", () => {
    expect(module.name).toBe("ShrivenPipeline");
    expect(Object.keys(module.objects)).toEqual(["ShrivenPipeline"]);
    expect(module.objects.ShrivenPipeline?.description).toMatch(/ShrivenQuant delivery pipeline/);
  });

  it("has exactly the functions, arguments, types, optionality, defaults and returns the README documents", () => {
    const methods = module.objects.ShrivenPipeline?.methods ?? {};
    const scanned = new Map(
      Object.values(methods).map((fn) => [
        kebab(fn.name),
        {
          args: Object.values(fn.arguments).map((arg) => {
            const note = arg.defaultPath !== undefined ? ` (default ${arg.defaultPath})` : arg.isOptional ? " (optional)" : "";
            return `--${kebab(arg.name)} ${typeName(arg.type)}${note}`;
          }),
          returns: typeName(fn.returnType),
        },
      ]),
    );
    expect(scanned).toEqual(documentedFunctions());
  });

  it("gives every function a doc comment with an example dagger call, and every argument a description", () => {
    for (const fn of Object.values(module.objects.ShrivenPipeline?.methods ?? {})) {
      expect(fn.description).toMatch(new RegExp(`Example: dagger call ${kebab(fn.name)}\\b`));
      for (const arg of Object.values(fn.arguments)) expect(arg.description, `${fn.name}(${arg.name})`).not.toBe("");
    }
  });

  it("takes the workspace as a Directory that ignores target, .git and node_modules (staging and production keep .git)", () => {
    for (const fn of Object.values(module.objects.ShrivenPipeline?.methods ?? {})) {
      const source = fn.arguments.source;
      if (source === undefined) continue;
      expect(source.type).toEqual({ kind: "OBJECT_KIND", name: "Directory" });
      const needsHistory = fn.name === "staging" || fn.name === "production";
      expect(source.ignore).toEqual(needsHistory ? ["target", "node_modules"] : ["target", ".git", "node_modules"]);
    }
  });

  it("takes secrets only as Secret, never as strings (a public key is a File)", () => {
    for (const fn of Object.values(module.objects.ShrivenPipeline?.methods ?? {})) {
      for (const arg of Object.values(fn.arguments)) {
        if (/token|secret|password|(?<!public)key/i.test(arg.name)) expect(arg.type).toEqual({ kind: "OBJECT_KIND", name: "Secret" });
      }
    }
  });
});

describe("typedefs of the composition module dagger/tests", () => {
  it("exposes Tests with functions that use the root module", async () => {
    const module = await scanModule(resolve(ROOT, "dagger/tests/src"), "tests");
    expect(module.name).toBe("Tests");
    const methods = module.objects.Tests?.methods ?? {};
    expect(Object.keys(methods)).toEqual(["devOnExample", "reportOnExample", "toolchainVersions"]);
    expect(methods.devOnExample?.arguments.workspace).toMatchObject({
      type: { name: "Directory" },
      defaultPath: "/examples/trading-engine",
    });
    expect(typeName(methods.devOnExample?.returnType as never)).toBe("String");
    expect(typeName(methods.reportOnExample?.returnType as never)).toBe("Directory");
    for (const fn of Object.values(methods)) expect(fn.description).toMatch(/Example: dagger -m dagger\/tests call [a-z-]+/);
    const config = JSON.parse(readFileSync(resolve(ROOT, "dagger/tests/dagger.json"), "utf8"));
    expect(config.dependencies).toEqual([{ name: "shriven-pipeline", source: "../.." }]);
    expect(config.engineVersion).toBe(JSON.parse(readFileSync(resolve(ROOT, "dagger.json"), "utf8")).engineVersion);
  });
});
