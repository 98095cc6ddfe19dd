/**
 * Who decided, as the audit records it.
 *
 * @module
 */

/**
 * The `decidedBy` of an approver's API key: `key:` and the first 16 hex digits of its
 * `sha256:` hash (enough to tell keys apart, not the hash the config holds); `local` without
 * auth (`keyId` is `""`).
 */
export function approverFingerprint(keyId: string): string {
  if (keyId === "") return "local";
  const hex = keyId.startsWith("sha256:") ? keyId.slice(7) : keyId;
  return `key:sha256:${hex.slice(0, 16)}`;
}
