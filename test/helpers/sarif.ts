/** Validation against the official SARIF 2.1.0 JSON schema (vendored in test/fixtures/sarif with its licence). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";

const SCHEMA = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/sarif/sarif-schema-2.1.0.json"), "utf8")) as object;

/**
 * The SARIF 2.1.0 schema (draft-07), compiled once. Its `language` pattern is not valid as a Unicode regular
 * expression, hence `unicodeRegExp: false`; ajv has no formats without ajv-formats, hence `validateFormats: false`.
 */
export const validateSarif = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, validateFormats: false }).compile(SCHEMA);
