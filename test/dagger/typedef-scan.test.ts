/**
 * The module's whole typedef scan (objects, functions, arguments, types,
 * defaults, cache policies, descriptions), as the SDK's introspector reads
 * `src/`, against the scan recorded before the issue-15 restructuring of
 * `src/`: moving code between files must not change what the engine registers.
 * After a deliberate change of the module's face, regenerate the fixture from
 * the scan and review the diff.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { scanModule } from "../helpers/dagger-scan.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RECORDED = resolve(ROOT, "test/fixtures/dagger-typedefs/scan.json");

describe("typedef scan of src/", () => {
  it("is identical to the recorded scan", async () => {
    const scanned = await scanModule(resolve(ROOT, "src"), "shriven-pipeline");
    expect(JSON.parse(JSON.stringify(scanned))).toEqual(JSON.parse(readFileSync(RECORDED, "utf8")));
  });
});
