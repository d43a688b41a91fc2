/** The release a run built, for its deploy and publish steps. */
export interface BuiltRelease {
  readonly dir: string;
  readonly version: string;
  readonly commit: string;
  /** The signing key's id, as minisign prints it. */
  readonly keyId: string;
  /** Each binary built: cargo's name, the released file's name and its SHA-256. */
  readonly artifacts: readonly { readonly binary: string; readonly name: string; readonly sha256: string }[];
}
