/**
 * Which keys production trusts for a promotion record: the key it pins and the key the test hosts pin (in CI
 * staging signs with the test environment's key, kept apart from production's), never any other.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey } from "../../src/adapters/minisign.js";
import type { HostCapabilities, StepContext } from "../../src/engine/step.js";
import { signPromotion, verifyPromotion } from "../../src/release/promotion.js";
import { trustedKeys } from "../../src/steps/production/promotion.js";
import { tempDir } from "../helpers/temp.js";

const key = () => loadSigningKey(randomBytes(32).toString("hex"), "RELEASE_SIGNING_KEY");
const commit = "e".repeat(40);
const recordSignedWith = (signer: ReturnType<typeof key>) =>
  signPromotion(
    {
      commit,
      promotedAt: "2026-12-01T10:00:00.000Z",
      artifacts: [{ binary: "shriven-quant", name: "shriven-quant-x86_64-unknown-linux-gnu", sha256: "b".repeat(64) }],
      reports: [],
      testHosts: ["test-1"],
    },
    signer,
    new Date("2026-12-01T10:00:00.000Z"),
  );

function setUp(testKey: string | undefined) {
  const workspace = tempDir();
  const production = key();
  const staging = key();
  mkdirSync(join(workspace, "keys"));
  writeFileSync(join(workspace, "keys/production.pub"), formatPublicKey(production));
  writeFileSync(join(workspace, "keys/test.pub"), formatPublicKey(staging));
  const inventory = (environment: string, publicKey: string | undefined) => ({
    environment,
    hosts: [{ name: `${environment}-1`, address: "10.0.0.1" }],
    ...(publicKey === undefined ? {} : { publicKey }),
  });
  const context = {
    policies: { deploy: { production: inventory("production", "keys/production.pub"), test: inventory("test", testKey) } },
    services: {},
  } as unknown as StepContext;
  const host = { workspace, inputs: {} } as unknown as HostCapabilities;
  return { keys: trustedKeys(context, host), production, staging };
}

describe("the keys a promotion record may be signed with", () => {
  it("production's pinned key and the key [deploy.test] pins (staging's in CI)", () => {
    const { keys, production, staging } = setUp("keys/test.pub");
    expect(keys).toHaveLength(2);
    expect(verifyPromotion(recordSignedWith(production), keys, commit).commit).toBe(commit);
    expect(verifyPromotion(recordSignedWith(staging), keys, commit).commit).toBe(commit);
    expect(() => verifyPromotion(recordSignedWith(key()), keys, commit)).toThrow(
      /is refused: its signature does not verify with the pinned release key/,
    );
  });

  it("only production's key when the test hosts pin none", () => {
    const { keys, production, staging } = setUp(undefined);
    expect(keys).toHaveLength(1);
    expect(verifyPromotion(recordSignedWith(production), keys, commit).commit).toBe(commit);
    expect(() => verifyPromotion(recordSignedWith(staging), keys, commit)).toThrow(/does not verify/);
  });
});
