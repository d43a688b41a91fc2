/** SSH public host keys: the algorithms a pin may name, their key blobs and OpenSSH's SHA256 fingerprints. */
import { createHash } from "node:crypto";

/** Host key algorithms a pin may name. */
export const KEY_TYPES: ReadonlySet<string> = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
]);

/** The decoded key, if `data` is canonical base64 of an SSH public key blob of that type. */
export function keyBlob(type: string, data: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return undefined;
  const blob = Buffer.from(data, "base64");
  if (blob.toString("base64") !== data || blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1") === type ? blob : undefined;
}

/** OpenSSH's SHA256 fingerprint: base64 of the key blob's SHA-256, without padding. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
