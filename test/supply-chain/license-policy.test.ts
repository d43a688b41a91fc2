import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { readCargoMetadata } from "../../src/supply-chain/cargo-metadata.js";
import {
  DEFAULT_LICENSE_POLICY,
  evaluateLicense,
  type LicensePolicy,
  licensePolicyFrom,
  licensePolicySchema,
} from "../../src/supply-chain/license-policy.js";
import { configError } from "../helpers/config-error.js";

/** A policy from a `[licenses]` table, validated as the config loader would. */
function policy(table: unknown): LicensePolicy {
  return licensePolicyFrom(licensePolicySchema.parse(table));
}

function verdict(license: string | undefined, using: LicensePolicy = DEFAULT_LICENSE_POLICY, crate = "some-crate", version = "1.0.0") {
  return evaluateLicense({ crate, version, license }, using);
}

const GNU_EXCEPTION = policy({
  exceptions: [{ crate: "gnu-thing", allow: ["GPL-2.0-or-later"], reason: "build-time tool, never shipped" }],
});

const GPL_ALLOWED = policy({
  allow: ["MIT", "Apache-2.0", "GPL-3.0-only", "LGPL-2.1-or-later"],
  allow_gpl_family: true,
});

const GPL_LISTED_BUT_BANNED = policy({ allow: ["MIT", "GPL-3.0-only"] });

describe("evaluateLicense with the default policy", () => {
  it.each([
    // [license, accepted, text the reason must contain]
    ["MIT", true, "MIT is in the allow list"],
    ["MIT/Apache-2.0", true, "MIT is in the allow list"],
    ["Apache-2.0/MIT", true, "Apache-2.0 is in the allow list"],
    ["MIT / Apache-2.0", true, "MIT is in the allow list"],
    ["GPL-3.0-only/MIT", true, "MIT is in the allow list"],
    ["GPL-3.0-only/LGPL-2.1-only", false, "LGPL-2.1-only is in the GPL family"],
    ["MIT or Apache-2.0", true, "MIT is in the allow list"],
    ["(MIT OR Apache-2.0) AND (BSD-3-Clause OR GPL-3.0-only)", true, "MIT is in the allow list; BSD-3-Clause is in the allow list"],
    ["(MIT OR Apache-2.0) AND (GPL-2.0-only OR GPL-3.0-only)", false, "GPL-2.0-only is in the GPL family"],
    ["((MIT AND Zlib) OR GPL-2.0-only)", true, "MIT is in the allow list; Zlib is in the allow list"],
    ["((MIT AND LicenseRef-Foo) OR GPL-2.0-only)", false, "LicenseRef-Foo is not in the allow list"],
    ["MIT AND Zlib AND ISC", true, "ISC is in the allow list"],
    ["MIT AND MPL-2.0", true, "MPL-2.0 is in the allow list"],
    ["Unicode-3.0 AND (MIT OR Apache-2.0)", true, "Unicode-3.0 is in the allow list"],
    ["Apache-2.0 WITH LLVM-exception", true, "Apache-2.0 WITH LLVM-exception is in the allow list"],
    ["Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT", true, "Apache-2.0 WITH LLVM-exception is in the allow list"],
    ["GPL-2.0-only WITH Classpath-exception-2.0", false, "GPL-2.0-only WITH Classpath-exception-2.0 is in the GPL family, which is denied"],
    ["Apache-2.0 WITH Swift-exception", false, 'must be allowed as the exact pair "Apache-2.0 WITH Swift-exception"'],
    ["MIT WITH LLVM-exception", false, "MIT WITH LLVM-exception is not in the allow list"],
    ["GPL-2.0+", false, "GPL-2.0+ is in the GPL family"],
    ["GPL-2.0", false, "GPL-2.0 is in the GPL family"],
    ["GPL-3.0-only", false, "GPL-3.0-only is in the GPL family, which is denied (allow it for this crate in [[licenses.exceptions]])"],
    ["LGPL-2.1-or-later", false, "LGPL-2.1-or-later is in the GPL family"],
    ["LGPL-3.0-only", false, "LGPL-3.0-only is in the GPL family"],
    ["AGPL-3.0-only", false, "AGPL-3.0-only is in the GPL family"],
    ["AGPL-3.0-or-later OR Apache-2.0", true, "Apache-2.0 is in the allow list"],
    ["MITT", false, '"MITT" is not an SPDX licence or exception id'],
    ["Apache2", false, '"Apache2" is not an SPDX licence or exception id'],
    ["MIT OR Apache2", false, '"Apache2" is not an SPDX licence or exception id'],
    ["mit", false, "ids are case-sensitive"],
    ["LicenseRef-Foo", false, "LicenseRef-Foo is not in the allow list"],
    ["LicenseRef-Proprietary OR GPL-3.0-only", false, "LicenseRef-Proprietary is not in the allow list; GPL-3.0-only is in the GPL family"],
    ["MIT AND", false, "the expression ends where a licence id was expected"],
    ["(MIT OR Apache-2.0", false, "Expected `)`"],
    ["MIT, Apache-2.0", false, 'unexpected "," in "MIT,"'],
    ["MIT OR OR Apache-2.0", false, "is not a valid SPDX expression: Expected expression"],
    ["MIT Apache-2.0", false, "is not a valid SPDX expression: Syntax error"],
    ["", false, "no licence declared; clarify it in [[licenses.clarify]]"],
    ["   ", false, "no licence declared"],
  ] as const)("%j → accepted %s", (license, accepted, reason) => {
    const result = verdict(license);
    expect(result.accepted).toBe(accepted);
    expect(result.reason).toContain(reason);
  });

  it("rewrites legacy slashes into OR in the evaluated expression", () => {
    expect(verdict("MIT / Apache-2.0").expression).toBe("MIT OR Apache-2.0");
    expect(verdict("Apache-2.0/MIT").expression).toBe("Apache-2.0 OR MIT");
  });

  it("names the expression and every denied id, once each, when rejecting", () => {
    const result = verdict("(GPL-3.0-only OR LicenseRef-Foo) AND (GPL-3.0-only OR AGPL-3.0-only)");
    expect(result.reason).toMatch(/^"\(GPL-3\.0-only OR LicenseRef-Foo\) AND \(GPL-3\.0-only OR AGPL-3\.0-only\)" is not accepted: /);
    expect(result.reason.match(/(?<!A)GPL-3\.0-only is in the GPL family/g)).toHaveLength(1);
    expect(result.reason).toContain("LicenseRef-Foo is not in the allow list");
    expect(result.reason).toContain("AGPL-3.0-only is in the GPL family");
  });

  it("names the unparsable expression", () => {
    expect(verdict("MITT OR MIT").reason).toMatch(/^"MITT OR MIT" is not a valid SPDX expression: /);
  });

  it("returns no expression when no licence is declared", () => {
    expect(verdict(undefined)).toEqual({
      accepted: false,
      expression: undefined,
      reason: "no licence declared; clarify it in [[licenses.clarify]]",
    });
  });

  it("names the licence file of a crate that declares only a file", () => {
    const result = evaluateLicense(
      { crate: "ring", version: "0.16.20", license: undefined, licenseFile: "/cargo/ring-0.16.20/LICENSE" },
      DEFAULT_LICENSE_POLICY,
    );
    expect(result.accepted).toBe(false);
    expect(result.reason).toBe("no licence declared (license_file: /cargo/ring-0.16.20/LICENSE); clarify it in [[licenses.clarify]]");
  });
});

describe("evaluateLicense with per-crate exceptions", () => {
  it("allows exactly the excepted id for that crate", () => {
    const result = verdict("GPL-2.0-or-later", GNU_EXCEPTION, "gnu-thing");
    expect(result.accepted).toBe(true);
    expect(result.reason).toContain(
      "GPL-2.0-or-later is allowed for gnu-thing by [[licenses.exceptions]] (build-time tool, never shipped)",
    );
  });

  it("matches GNU ids literally: an exception for GPL-2.0-or-later does not cover GPL-3.0-only or GPL-2.0+", () => {
    const gpl3 = verdict("GPL-3.0-only", GNU_EXCEPTION, "gnu-thing");
    expect(gpl3.accepted).toBe(false);
    expect(gpl3.reason).toContain("GPL-3.0-only is in the GPL family, which is denied");
    expect(gpl3.reason).toContain("gnu-thing's exceptions allow only GPL-2.0-or-later");
    expect(verdict("GPL-2.0+", GNU_EXCEPTION, "gnu-thing").accepted).toBe(false);
    expect(verdict("GPL-2.0-only", GNU_EXCEPTION, "gnu-thing").accepted).toBe(false);
  });

  it("combines the exception with OR and AND like any allowed id", () => {
    expect(verdict("GPL-3.0-only OR GPL-2.0-or-later", GNU_EXCEPTION, "gnu-thing").accepted).toBe(true);
    expect(verdict("GPL-2.0-or-later AND MIT", GNU_EXCEPTION, "gnu-thing").accepted).toBe(true);
    expect(verdict("GPL-2.0-or-later AND GPL-3.0-only", GNU_EXCEPTION, "gnu-thing").accepted).toBe(false);
  });

  it("applies the exception to that crate only", () => {
    const other = verdict("GPL-2.0-or-later", GNU_EXCEPTION, "other-crate");
    expect(other.accepted).toBe(false);
    expect(other.reason).toContain(
      "GPL-2.0-or-later is in the GPL family, which is denied (allow it for this crate in [[licenses.exceptions]])",
    );
    expect(other.reason).not.toContain("exceptions allow only");
  });

  it("allows a WITH pair for one crate when the exception lists the exact pair", () => {
    const withPair = policy({
      exceptions: [{ crate: "jni-thing", allow: ["GPL-2.0-only WITH Classpath-exception-2.0"], reason: "linking exception" }],
    });
    expect(verdict("GPL-2.0-only WITH Classpath-exception-2.0", withPair, "jni-thing").accepted).toBe(true);
    expect(verdict("GPL-2.0-only", withPair, "jni-thing").accepted).toBe(false);
    expect(verdict("GPL-2.0-only WITH Classpath-exception-2.0", withPair, "other").accepted).toBe(false);
  });

  it("lets a non-GPL exception extend the allow list for the crate", () => {
    const proprietary = policy({
      exceptions: [{ crate: "vendor-sdk", allow: ["LicenseRef-Proprietary"], reason: "licensed from the vendor" }],
    });
    expect(verdict("LicenseRef-Proprietary", proprietary, "vendor-sdk").accepted).toBe(true);
    expect(verdict("LicenseRef-Proprietary", proprietary, "other").reason).toContain("LicenseRef-Proprietary is not in the allow list");
  });
});

describe("evaluateLicense and the GPL family", () => {
  it("denies a GPL id even when it is in the allow list", () => {
    const result = verdict("GPL-3.0-only", GPL_LISTED_BUT_BANNED);
    expect(result.accepted).toBe(false);
    expect(result.reason).toContain("GPL-3.0-only is in the GPL family, which is denied");
  });

  it("allows listed GPL-family ids when allow_gpl_family = true", () => {
    expect(verdict("GPL-3.0-only", GPL_ALLOWED).accepted).toBe(true);
    expect(verdict("LGPL-2.1-or-later", GPL_ALLOWED).accepted).toBe(true);
  });

  it("still requires GPL-family ids to be in the allow list when allow_gpl_family = true", () => {
    const result = verdict("GPL-2.0-only", GPL_ALLOWED);
    expect(result.accepted).toBe(false);
    expect(result.reason).toContain("GPL-2.0-only is not in the allow list");
    expect(verdict("GPL-3.0-or-later", GPL_ALLOWED).accepted).toBe(false);
  });
});

describe("evaluateLicense with an own allow list", () => {
  it("replaces the default list", () => {
    const onlyMit = policy({ allow: ["MIT"] });
    expect(verdict("MIT", onlyMit).accepted).toBe(true);
    expect(verdict("Apache-2.0", onlyMit).reason).toContain("Apache-2.0 is not in the allow list");
  });

  it("matches WITH pairs regardless of spacing and the case of WITH", () => {
    const swift = policy({ allow: ["Apache-2.0  with Swift-exception"] });
    expect(verdict("Apache-2.0 WITH Swift-exception", swift).accepted).toBe(true);
    expect(verdict("Apache-2.0", swift).accepted).toBe(false);
  });

  it("allows a listed LicenseRef", () => {
    expect(verdict("LicenseRef-Foo", policy({ allow: ["LicenseRef-Foo"] })).accepted).toBe(true);
  });
});

describe("evaluateLicense with clarifications", () => {
  const clarified = policy({
    clarify: [
      { crate: "ring", version: "0.16.20", expression: "MIT AND ISC AND OpenSSL", reason: "see ring's LICENSE" },
      { crate: "unlicensed", expression: "MIT/Apache-2.0", reason: "README says so, upstream issue #12" },
      { crate: "relabelled", expression: "Apache-2.0", reason: "relicensed in 2.0, manifest not updated" },
    ],
  });

  it("accepts a crate without a licence when a clarification supplies one", () => {
    const result = verdict(undefined, clarified, "unlicensed", "0.3.1");
    expect(result).toEqual({
      accepted: true,
      expression: "MIT OR Apache-2.0",
      reason:
        'clarified by [[licenses.clarify]] as "MIT/Apache-2.0" (README says so, upstream issue #12); accepted: MIT is in the allow list',
    });
  });

  it("replaces the declared licence with the clarified expression", () => {
    const result = verdict("GPL-3.0-only", clarified, "relabelled");
    expect(result.accepted).toBe(true);
    expect(result.expression).toBe("Apache-2.0");
  });

  it("evaluates the clarified expression against the policy", () => {
    const result = verdict(undefined, clarified, "ring", "0.16.20");
    expect(result.accepted).toBe(false);
    expect(result.reason).toContain("clarified by [[licenses.clarify]]");
    expect(result.reason).toContain("OpenSSL is not in the allow list");
  });

  it("ignores a clarification for another version", () => {
    const result = evaluateLicense({ crate: "ring", version: "0.17.8", license: undefined, licenseFile: "/x/LICENSE" }, clarified);
    expect(result.accepted).toBe(false);
    expect(result.reason).toBe(
      "no licence declared (license_file: /x/LICENSE); clarify it in [[licenses.clarify]] (its [[licenses.clarify]] entries apply to version 0.16.20 only)",
    );
  });

  it("ignores a clarification for another crate", () => {
    expect(verdict(undefined, clarified, "other").reason).toBe("no licence declared; clarify it in [[licenses.clarify]]");
  });
});

describe("evaluateLicense and workspace members", () => {
  const member = { crate: "shriven-core", version: "0.1.0", license: undefined, isWorkspaceMember: true };

  it("checks workspace members by default", () => {
    expect(evaluateLicense(member, DEFAULT_LICENSE_POLICY).accepted).toBe(false);
  });

  it("skips them with ignore_workspace_members = true, and only them", () => {
    const ignoring = policy({ ignore_workspace_members: true });
    expect(evaluateLicense(member, ignoring)).toMatchObject({
      accepted: true,
      reason: expect.stringContaining("ignore_workspace_members"),
    });
    expect(evaluateLicense({ ...member, isWorkspaceMember: false }, ignoring).accepted).toBe(false);
  });
});

describe("licensePolicySchema", () => {
  function problems(table: unknown): string[] {
    const parsed = licensePolicySchema.safeParse(table);
    expect(parsed.success).toBe(false);
    return (parsed.error?.issues ?? []).map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  }

  it("gives the documented defaults for a missing or empty table", () => {
    expect(licensePolicyFrom(undefined)).toEqual(DEFAULT_LICENSE_POLICY);
    expect(policy({})).toEqual(DEFAULT_LICENSE_POLICY);
    expect(DEFAULT_LICENSE_POLICY).toMatchObject({ allowGplFamily: false, exceptions: [], clarify: [], ignoreWorkspaceMembers: false });
    expect(DEFAULT_LICENSE_POLICY.allow).toEqual(
      expect.arrayContaining(["MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "MPL-2.0"]),
    );
    expect(DEFAULT_LICENSE_POLICY.allow.some((id) => id.includes("GPL"))).toBe(false);
  });

  it("reads a [licenses] table from TOML", () => {
    const toml = parseToml(
      [
        "[licenses]",
        'allow = ["MIT", "Apache-2.0"]',
        "allow_gpl_family = false",
        "ignore_workspace_members = true",
        "[[licenses.exceptions]]",
        'crate = "gnu-thing"',
        'allow = ["GPL-2.0-or-later"]',
        'reason = "build tool"',
        "[[licenses.clarify]]",
        'crate = "ring"',
        'version = "0.16.20"',
        'expression = "MIT AND ISC AND OpenSSL"',
        'reason = "see LICENSE"',
      ].join("\n"),
    );
    expect(policy(toml.licenses)).toEqual({
      allow: ["MIT", "Apache-2.0"],
      allowGplFamily: false,
      exceptions: [{ crate: "gnu-thing", allow: ["GPL-2.0-or-later"], reason: "build tool" }],
      clarify: [{ crate: "ring", version: "0.16.20", expression: "MIT AND ISC AND OpenSSL", reason: "see LICENSE" }],
      ignoreWorkspaceMembers: true,
    });
  });

  it("rejects an unknown key and lists the known ones", () => {
    expect(problems({ alow: ["MIT"] })).toEqual([
      ": expected one of: allow, allow_gpl_family, exceptions, clarify, ignore_workspace_members",
    ]);
    expect(problems({ exceptions: [{ crate: "a", allow: ["MIT"], reason: "r", version: "1.0.0" }] })[0]).toContain("exceptions.0: ");
  });

  it("rejects an exception without a reason, or with a blank one", () => {
    expect(problems({ exceptions: [{ crate: "a", allow: ["GPL-2.0-only"] }] })).toEqual([
      "exceptions.0.reason: missing: every entry needs a reason saying why it is acceptable",
    ]);
    expect(problems({ exceptions: [{ crate: "a", allow: ["GPL-2.0-only"], reason: "  " }] })).toEqual([
      "exceptions.0.reason: expected a non-empty reason (say why this is acceptable)",
    ]);
  });

  it("rejects a clarification without a reason", () => {
    expect(problems({ clarify: [{ crate: "a", expression: "MIT" }] })[0]).toMatch(/^clarify\.0\.reason: missing/);
  });

  it.each([
    ["an unknown id in allow", { allow: ["Apache2"] }, 'allow.0: "Apache2" is not a valid SPDX licence'],
    ["an expression in allow", { allow: ["MIT OR Apache-2.0"] }, 'allow.0: "MIT OR Apache-2.0" is an expression'],
    ["allow as a string", { allow: "MIT" }, "allow: expected an array of SPDX licence ids"],
    [
      "an empty exception allow list",
      { exceptions: [{ crate: "a", allow: [], reason: "r" }] },
      "exceptions.0.allow: expected at least one",
    ],
    ["a bad crate name", { exceptions: [{ crate: "a b", allow: ["MIT"], reason: "r" }] }, "exceptions.0.crate: expected a crate name"],
    [
      "an unparsable clarification",
      { clarify: [{ crate: "a", expression: "MIT AND", reason: "r" }] },
      'clarify.0.expression: "MIT AND" is not a valid',
    ],
    [
      "a version range in a clarification",
      { clarify: [{ crate: "a", version: "^1", expression: "MIT", reason: "r" }] },
      "clarify.0.version: expected an exact version",
    ],
    ["a non-boolean allow_gpl_family", { allow_gpl_family: "yes" }, "allow_gpl_family: expected true or false"],
  ])("rejects %s", (_, table, expected) => {
    expect(problems(table).join("\n")).toContain(expected);
  });
});

const METADATA = {
  packages: [
    {
      name: "shriven-core",
      version: "0.1.0",
      id: "path+file:///work/shriven/crates/core#shriven-core@0.1.0",
      license: "MIT",
      license_file: null,
      description: "Core types",
      source: null,
      dependencies: [{ name: "serde", source: "registry+https://github.com/rust-lang/crates.io-index", req: "^1", kind: null }],
      targets: [{ kind: ["lib"], crate_types: ["lib"], name: "shriven_core", src_path: "/work/shriven/crates/core/src/lib.rs" }],
      features: {},
      manifest_path: "/work/shriven/crates/core/Cargo.toml",
      metadata: null,
      publish: [],
      authors: [],
      edition: "2021",
      rust_version: "1.80",
    },
    {
      name: "serde",
      version: "1.0.219",
      id: "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219",
      license: "MIT OR Apache-2.0",
      license_file: null,
      source: "registry+https://github.com/rust-lang/crates.io-index",
      dependencies: [],
      targets: [],
      features: { default: ["std"], std: [] },
      manifest_path: "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.219/Cargo.toml",
      edition: "2018",
    },
    {
      name: "ring",
      version: "0.16.20",
      id: "registry+https://github.com/rust-lang/crates.io-index#ring@0.16.20",
      license: null,
      license_file: "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ring-0.16.20/LICENSE",
      source: "registry+https://github.com/rust-lang/crates.io-index",
      manifest_path: "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ring-0.16.20/Cargo.toml",
    },
  ],
  workspace_members: ["path+file:///work/shriven/crates/core#shriven-core@0.1.0"],
  workspace_default_members: ["path+file:///work/shriven/crates/core#shriven-core@0.1.0"],
  resolve: { nodes: [], root: null },
  target_directory: "/work/shriven/target",
  version: 1,
  workspace_root: "/work/shriven",
  metadata: null,
};

const ORIGIN = "cargo metadata --format-version 1";

/** METADATA with one change applied to a deep copy. */
function metadataWith(change: (m: Record<string, unknown> & { packages: Record<string, unknown>[] }) => void): string {
  const copy = structuredClone(METADATA) as unknown as Record<string, unknown> & { packages: Record<string, unknown>[] };
  change(copy);
  return JSON.stringify(copy);
}

describe("readCargoMetadata", () => {
  it("reads the packages, their licences and which are workspace members", () => {
    expect(readCargoMetadata(JSON.stringify(METADATA, null, 2), ORIGIN)).toEqual([
      {
        id: "path+file:///work/shriven/crates/core#shriven-core@0.1.0",
        name: "shriven-core",
        version: "0.1.0",
        license: "MIT",
        licenseFile: undefined,
        source: undefined,
        isWorkspaceMember: true,
      },
      {
        id: "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219",
        name: "serde",
        version: "1.0.219",
        license: "MIT OR Apache-2.0",
        licenseFile: undefined,
        source: "registry+https://github.com/rust-lang/crates.io-index",
        isWorkspaceMember: false,
      },
      {
        id: "registry+https://github.com/rust-lang/crates.io-index#ring@0.16.20",
        name: "ring",
        version: "0.16.20",
        license: undefined,
        licenseFile: "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ring-0.16.20/LICENSE",
        source: "registry+https://github.com/rust-lang/crates.io-index",
        isWorkspaceMember: false,
      },
    ]);
  });

  it("feeds evaluateLicense", () => {
    const verdicts = readCargoMetadata(JSON.stringify(METADATA), ORIGIN).map((p) =>
      evaluateLicense({ crate: p.name, version: p.version, license: p.license, licenseFile: p.licenseFile }, DEFAULT_LICENSE_POLICY),
    );
    expect(verdicts.map((v) => v.accepted)).toEqual([true, true, false]);
    expect(verdicts[2]?.reason).toContain(
      "license_file: /home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/ring-0.16.20/LICENSE",
    );
  });

  it.each([
    ["not JSON", "error: could not find `Cargo.toml` in `/work` or any parent directory", "not valid JSON"],
    ["truncated output", JSON.stringify(METADATA).slice(0, 300), "not valid JSON (truncated output?)"],
    ["empty output", "", "empty output: expected the JSON of cargo metadata --format-version 1"],
    [
      "an array at the top level",
      "[]",
      "(top level): expected an object (the output of cargo metadata --format-version 1), found an array",
    ],
    ["null at the top level", "null", "(top level): expected an object"],
    [
      "packages not an array",
      metadataWith((m) => {
        m.packages = {} as never;
      }),
      "packages: expected an array of packages, found an object",
    ],
    [
      "a package that is a string",
      metadataWith((m) => {
        m.packages[1] = "serde" as never;
      }),
      "packages.1: expected an object, found a string",
    ],
    [
      "a package without a name",
      metadataWith((m) => {
        delete m.packages[1]?.name;
      }),
      "packages.1.name: missing (expected a string)",
    ],
    [
      "a version that is a number",
      metadataWith((m) => {
        (m.packages[1] as Record<string, unknown>).version = 1;
      }),
      "packages.1.version: expected a string, found a number (package serde)",
    ],
    [
      "a licence that is an array",
      metadataWith((m) => {
        (m.packages[0] as Record<string, unknown>).license = ["MIT"];
      }),
      "packages.0.license: expected a string or null, found an array (package shriven-core)",
    ],
    [
      "a missing license_file",
      metadataWith((m) => {
        delete m.packages[2]?.license_file;
      }),
      "packages.2.license_file: missing (expected a string or null) (package ring)",
    ],
    [
      "a missing manifest_path",
      metadataWith((m) => {
        delete m.packages[0]?.manifest_path;
      }),
      "packages.0.manifest_path: missing (expected a string)",
    ],
    [
      "workspace_members missing",
      metadataWith((m) => {
        delete m.workspace_members;
      }),
      "workspace_members: missing (expected an array of package ids)",
    ],
    [
      "a workspace member that is not a string",
      metadataWith((m) => {
        m.workspace_members = [7];
      }),
      "workspace_members.0: expected a string, found a number",
    ],
  ])("rejects %s, naming the origin and the field", (_, json, expected) => {
    const error = configError(() => readCargoMetadata(json, ORIGIN));
    expect(error.source).toBe(ORIGIN);
    expect(error.message.startsWith(`${ORIGIN}:`)).toBe(true);
    expect(error.problems.join("\n")).toContain(expected);
  });
});
