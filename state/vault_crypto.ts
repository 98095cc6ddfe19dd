/**
 * Encryption of vault values for Redis: AES-256-GCM (WebCrypto) with a fresh 96-bit IV per
 * value, bound to its tenant, session and type as additional data, so a ciphertext copied to
 * another session does not decrypt. Lookup keys are HMAC-SHA-256 of the value, so Redis can
 * find a value's placeholder without ever holding the value. Both keys are derived (HKDF) from
 * one 256-bit master key (`AIRLOCK_VAULT_KEY`).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The keys of a vault, derived from its master key. */
export interface VaultKeys {
  /** AES-256-GCM. */
  aes: CryptoKey;
  /** HMAC-SHA-256. */
  hmac: CryptoKey;
}

/**
 * Parses a master key: 64 hex digits or base64 (standard or URL-safe) of 32 bytes.
 * @throws TypeError with `kind: "invalid_vault_key"` naming the expected forms (never the key)
 */
export function parseVaultKey(text: string): Uint8Array {
  const t = text.trim();
  let bytes: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) {
    bytes = new Uint8Array(t.match(/../g)!.map((h) => parseInt(h, 16)));
  } else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b64 = t.replace(/-/g, "+").replace(/_/g, "/").padEnd(44, "=");
    try {
      bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      bytes = undefined;
    }
  }
  if (bytes === undefined || bytes.length !== 32) {
    throw Object.assign(
      new TypeError(
        "AIRLOCK_VAULT_KEY must be 32 random bytes as 64 hex digits or base64 " +
          "(e.g. `openssl rand -hex 32`)",
      ),
      { kind: "invalid_vault_key" },
    );
  }
  return bytes;
}

/**
 * Derives the AES and HMAC keys from a 32-byte master key. `salt` separates uses of one master
 * key (the vault's keys, the read cache's keys): keys of one use open nothing of another.
 */
export async function deriveVaultKeys(
  master: Uint8Array,
  salt = "airlock vault v1",
): Promise<VaultKeys> {
  const base = await crypto.subtle.importKey("raw", master as BufferSource, "HKDF", false, [
    "deriveKey",
  ]);
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: encoder.encode(salt),
    info: encoder.encode(info),
  });
  const aes = await crypto.subtle.deriveKey(
    hkdf("aes-256-gcm"),
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  const hmac = await crypto.subtle.deriveKey(
    hkdf("hmac-sha-256"),
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  return { aes, hmac };
}

/** Base64 of `iv ‖ ciphertext ‖ tag` for `value`, bound to `context`. */
export async function encryptValue(
  keys: VaultKeys,
  value: string,
  context: string,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      keys.aes,
      encoder.encode(value),
    ),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return toBase64(out);
}

/**
 * The value sealed by {@linkcode encryptValue} under the same `context`, or undefined when it
 * does not authenticate (another key, another session, tampered).
 */
export async function decryptValue(
  keys: VaultKeys,
  sealed: string,
  context: string,
): Promise<string | undefined> {
  try {
    const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
    if (bytes.length < 12 + 16) return undefined;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: encoder.encode(context) },
      keys.aes,
      bytes.subarray(12),
    );
    return decoder.decode(plain);
  } catch {
    return undefined;
  }
}

/** Hex HMAC-SHA-256 of `text` (a lookup key that reveals nothing without the vault key). */
export async function lookupKey(keys: VaultKeys, text: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", keys.hmac, encoder.encode(text)));
  return Array.from(mac.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
