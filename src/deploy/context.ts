/** What a deploy or rollback is given: the connection to the hosts, the inventory, the pinned key and the hooks. */
import type { SshSession } from "../adapters/ssh/session.js";
import type { DeployHost, Inventory } from "./policy.js";

/**
 * What deploys need from a connection to the hosts: the OpenSSH session on the
 * host (`SshSession`), or ssh run inside a container in the Dagger module.
 */
export type RemoteTransport = Pick<SshSession, "run" | "upload" | "download">;

/** Variables the service commands get (such as TRADING_MODE); names are checked, values passed as they are. */
export type ServiceEnv = Readonly<Record<string, string>>;

/** A lock another deploy holds on a host: its holder record, and its age by the host's clock. */
export interface HeldLock {
  readonly host: string;
  /** The holder record (JSON: who, at, action, version), or `(no holder recorded)`. */
  readonly holder: string;
  /** Seconds since the lock was taken, or undefined when the host could not say. */
  readonly ageSeconds: number | undefined;
  /** `[deploy.<env>] lock_stale_seconds`: older than this, the lock is stale. */
  readonly staleAfterSeconds: number;
}

/** Options shared by deploy and rollback. */
export interface DeployContext {
  readonly inventory: Inventory;
  readonly session: RemoteTransport;
  /** The pinned release public key (minisign .pub text). */
  readonly publicKeyText: string;
  readonly who: string;
  /** Break a lock another deploy left once it is older than the inventory's `lock_stale_seconds` (never a live one). */
  readonly breakLock?: boolean;
  readonly signal?: AbortSignal;
  /** Waits between health-check attempts; injectable so tests need not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Told each stale lock broken with `breakLock` (host, holder, age), so it can be reported and audit-logged. */
  readonly onLockBroken?: (lock: HeldLock) => void;
  /** Variables of the service's start, stop and health commands (the profile's TRADING_MODE in a stage run). */
  readonly serviceEnv?: ServiceEnv;
  /**
   * Public keys (minisign .pub text) besides the pinned one that a retained release may be signed with when
   * rolling back to it: those earlier local runs pinned for the same local targets. Never given for hosts.
   */
  readonly formerKeys?: readonly string[];
  /** Test hook: runs after the upload to a host, before its checksums are checked there. */
  readonly afterUpload?: (host: DeployHost, partialDir: string) => Promise<void>;
}

/** Label of the pinned key in messages when the inventory names no file (local targets pinning the run's key). */
export const PINNED_KEY = "the pinned release key";
