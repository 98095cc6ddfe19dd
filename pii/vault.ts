// The tokenisation vault: stable placeholders for values within a session, with a
// time-to-live and caps on entries and bytes, and a store of vaults grouped by tenant with
// per-tenant caps, so that no tenant can evict, slow down or see another tenant's vaults.

import { type PiiType, PLACEHOLDER_LABELS } from "./types.ts";

/**
 * Options of a {@linkcode Vault}.
 *
 * Sizes are counted in UTF-8 bytes of the strings a mapping holds: its lookup key
 * (type + NUL + value), its value and its placeholder. The engine's own overhead per mapping
 * (objects, two Map slots; a few hundred bytes) is not counted; `maxEntries` bounds it.
 */
export interface VaultOptions {
  /** How long a mapping lives after its last use, in ms (default 1 hour). */
  ttlMs?: number;
  /** Most mappings kept; the least recently used go first (default 10,000). */
  maxEntries?: number;
  /** Most bytes (UTF-8, see above) kept; the least recently used go first (default 2 MiB). */
  maxBytes?: number;
  /**
   * Largest value (UTF-8 bytes) that gets a placeholder (default 8 KiB: a PEM private key
   * of RSA-8192 fits). A larger value is still redacted, but masked as `[REDACTED_EMAIL]`
   * etc. and never stored, so it cannot pin memory and cannot be restored.
   */
  maxValueBytes?: number;
  /**
   * The vault's tag, which every placeholder it makes carries (`[EMAIL_1_<tag>]`): seven
   * letters of {@linkcode PLACEHOLDER_TAG}'s alphabet. Default: drawn at random, so that two
   * vaults (a session's vault and the one that replaces it after expiry, eviction or a
   * restart) never issue the same placeholder. Set it only to continue a vault kept elsewhere.
   */
  tag?: string;
  /** Clock, injectable for tests (default `Date.now`). */
  now?: () => number;
}

/** Letters a vault tag is made of: lower case, without `i`, `l` and `o` (read as digits). */
const TAG_ALPHABET = "abcdefghjkmnpqrstuvwxyz";
/** Letters in a vault tag: 23^7 ≈ 3.4 × 10^9 tags. */
const TAG_LENGTH = 7;

/**
 * A vault tag as {@linkcode VaultOptions.tag} describes it; anchored, for validation.
 */
export const PLACEHOLDER_TAG = new RegExp(`^[${TAG_ALPHABET}]{${TAG_LENGTH}}$`);

/**
 * The tag of vaults whose placeholders are only ever shown, never restored (tool listings):
 * {@linkcode newVaultTag} never draws it, so such a placeholder copied into a tool call's
 * arguments is refused rather than taken for a session's.
 */
export const DISPLAY_TAG = "schemas";

/**
 * A fresh random vault tag (`crypto.getRandomValues`; rejection sampling, so every tag is
 * equally likely), never {@linkcode DISPLAY_TAG}. Two given vaults share one with probability
 * 1 in 23^7 ≈ 3.4 × 10^9.
 */
export function newVaultTag(): string {
  let tag = "";
  const bytes = new Uint8Array(16);
  while (tag.length < TAG_LENGTH || tag === DISPLAY_TAG) {
    if (tag.length === TAG_LENGTH) tag = "";
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // 230 = 10 × 23: the bytes above it would favour the first letters.
      if (b < 230 && tag.length < TAG_LENGTH) tag += TAG_ALPHABET[b % TAG_ALPHABET.length];
    }
  }
  return tag;
}

/**
 * The parts of a placeholder `[LABEL_n_tag]`, or undefined for anything else (a mask, an
 * untagged `[LABEL_n]` of older versions). Linear; no backtracking.
 */
export function parsePlaceholder(
  placeholder: string,
): { label: string; number: number; tag: string } | undefined {
  const m = /^\[([A-Z]+)_([1-9][0-9]{0,14})_([a-z]{7})\]$/.exec(placeholder);
  if (m === null || !PLACEHOLDER_TAG.test(m[3])) return undefined;
  return { label: m[1], number: Number(m[2]), tag: m[3] };
}

/**
 * Where a value that got a placeholder came from, as far as the gateway can tell:
 * `agent`: the agent wrote it (it is in the code it sent), so showing it leaks nothing the
 * agent did not know; `upstream`: anything else (a tool's result, a file, a value the code
 * computed): the agent has only ever seen the placeholder, and the value is never shown
 * where the agent's placeholders are rendered for a person (the approval view).
 */
export type ValueOrigin = "agent" | "upstream";

/**
 * How a mapping learns its origin when it is made: a fixed {@linkcode ValueOrigin}, or a
 * function asked only when a value gets a new placeholder (or one of origin `upstream` is met
 * again: it may turn out to be in the agent's code after all), with the value found.
 */
export type OriginOf = ValueOrigin | ((value: string) => ValueOrigin);

/** One mapping as a shared store keeps it: see {@linkcode Vault.seed}. */
export interface VaultMapping {
  /** The PII type. */
  type: PiiType;
  /** The value as first seen. */
  value: string;
  /** Its placeholder, e.g. `[EMAIL_3_kqzmtwa]`. */
  placeholder: string;
  /** Where the value came from (see {@linkcode ValueOrigin}); absent: `upstream`. */
  origin?: ValueOrigin;
}

/** What a {@linkcode VaultStore} hears from the vaults it owns; called synchronously. */
interface VaultListener {
  /** The vault's entry count and byte count changed by these amounts. */
  resized(entries: number, bytes: number): void;
  /** A mapping was dropped by the vault's own caps (not by its TTL). */
  evicted(): void;
  /** A value above `maxValueBytes` was masked instead of stored. */
  oversized(): void;
}

interface Entry {
  type: PiiType;
  key: string;
  /** Bumped each time the entry moves to the back of `#byValue` (see `#oldest`). */
  seq: number;
  placeholder: string;
  value: string;
  bytes: number;
  expiresAt: number;
  origin: ValueOrigin;
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;
const KIB = 1024;
const MIB = 1024 * KIB;

/** Default caps of one vault (one session). */
const SESSION_DEFAULTS = { maxEntries: 10_000, maxBytes: 2 * MIB, maxValueBytes: 8 * KIB };
/** Default caps of one tenant in a {@linkcode VaultStore}. */
const TENANT_DEFAULTS = { maxSessions: 1_000, maxEntries: 100_000, maxBytes: 32 * MIB };
/**
 * Default caps of a whole {@linkcode VaultStore}, a last resort. Measured heap (V8): about
 * 1.75 bytes per accounted byte plus ~250 bytes per mapping, so at most ~115 MB here
 * (~60 MB per tenant, ~4.5 MB per session at their defaults).
 */
const STORE_DEFAULTS = { maxSessions: 10_000, maxEntries: 250_000, maxBytes: 64 * MIB };

/** Sets a vault's listener; only the store in this file may (see the static block). */
let listen: (vault: Vault, listener: VaultListener | undefined) => void;

/**
 * Maps values to placeholders such as `[EMAIL_1_kqzmtwa]` and back. The same value always
 * gets the same placeholder while its mapping lives; numbers are never reused within a vault,
 * and every placeholder carries the vault's tag (random, see {@linkcode newVaultTag}), so a
 * placeholder can never come to mean a different value: not after its mapping expired or was
 * evicted, nor in the new vault a session gets after its old one expired, was evicted or was
 * lost with a restart (that vault numbers from 1 again, under another tag). It simply stops
 * resolving.
 *
 * Caps: at most `maxEntries` mappings and `maxBytes` bytes; the least recently used
 * mappings make room for a new one. Values above `maxValueBytes` are masked, not stored.
 */
export class Vault {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxValueBytes: number;
  readonly #now: () => number;
  readonly #tag: string;
  readonly #byValue = new Map<string, Entry>();
  readonly #byPlaceholder = new Map<string, Entry>();
  readonly #counters = new Map<PiiType, number>();
  #bytes = 0;
  #nextSweep = 0;
  #listener: VaultListener | undefined;
  /** Mappings created since `seed` (only a seeded vault keeps this list). */
  #added: Entry[] | undefined;
  #seq = 0;
  #cursor: Iterator<Entry> | undefined;
  #head: Entry | undefined;
  #headSeq = 0;

  static {
    listen = (vault, listener) => {
      vault.#listener = listener;
    };
  }

  /**
   * Creates an empty vault.
   * @throws RangeError with `kind: "invalid_option"` for a cap or TTL that is not positive
   */
  constructor(options: VaultOptions = {}) {
    this.#ttlMs = positive(options.ttlMs, DEFAULT_TTL_MS, "ttlMs");
    this.#maxEntries = positive(options.maxEntries, SESSION_DEFAULTS.maxEntries, "maxEntries");
    this.#maxBytes = positive(options.maxBytes, SESSION_DEFAULTS.maxBytes, "maxBytes");
    this.#maxValueBytes = positive(
      options.maxValueBytes,
      SESSION_DEFAULTS.maxValueBytes,
      "maxValueBytes",
    );
    this.#now = options.now ?? Date.now;
    if (options.tag !== undefined && !PLACEHOLDER_TAG.test(options.tag)) {
      throw Object.assign(new RangeError("tag must be seven letters a-z but i, l and o"), {
        kind: "invalid_option",
      });
    }
    this.#tag = options.tag ?? newVaultTag();
  }

  /** The tag every placeholder of this vault carries (see {@linkcode VaultOptions.tag}). */
  get tag(): string {
    return this.#tag;
  }

  /**
   * The placeholder for `value` of `type`, allocating `[LABEL_n_tag]` on first sight. A value
   * above `maxValueBytes`, or one whose mapping alone would exceed `maxBytes`, gets the
   * mask `[REDACTED_LABEL]` instead and is not stored: redaction never depends on room.
   * `origin` says where the value came from (default `upstream`, the cautious one); a
   * mapping of origin `upstream` becomes `agent` when a later `origin` says so (never back:
   * once the agent wrote a value, it knows it). The change stays in this vault (a shared
   * store keeps the origin the mapping was first stored with).
   */
  placeholderFor(type: PiiType, value: string, origin: OriginOf = "upstream"): string {
    const now = this.#now();
    if (now >= this.#nextSweep) {
      this.#dropExpiredFront(now);
      this.#nextSweep = now + Math.min(1000, this.#ttlMs);
    }
    // UTF-8 needs at least one byte per UTF-16 code unit, so a long string is refused
    // before it is scanned.
    const valueBytes = value.length > this.#maxValueBytes
      ? Infinity
      : utf8Length(value, this.#maxValueBytes);
    if (valueBytes > this.#maxValueBytes) {
      this.#listener?.oversized();
      return `[REDACTED_${PLACEHOLDER_LABELS[type]}]`;
    }
    const key = type + "\u0000" + canonicalValue(type, value);
    const found = this.#byValue.get(key);
    if (found !== undefined && found.expiresAt > now) {
      found.expiresAt = now + this.#ttlMs;
      if (found.origin === "upstream" && origin !== "upstream") {
        found.origin = typeof origin === "function" ? origin(value) : origin;
      }
      // Re-insert to keep Map order = least recently used first.
      this.#byValue.delete(key);
      found.seq = ++this.#seq;
      // The stored key, not `key`: that one may hold on to the caller's text (see below).
      this.#byValue.set(found.key, found);
      return found.placeholder;
    }
    if (found !== undefined) this.#remove(found);
    const n = (this.#counters.get(type) ?? 0) + 1;
    const placeholder = `[${PLACEHOLDER_LABELS[type]}_${n}_${this.#tag}]`;
    // Key and placeholder are ASCII apart from the value.
    const bytes = 2 * valueBytes + type.length + 1 + placeholder.length;
    if (bytes > this.#maxBytes) {
      this.#listener?.oversized();
      return `[REDACTED_${PLACEHOLDER_LABELS[type]}]`;
    }
    this.#counters.set(type, n);
    // Room first, then insert: the vault never exceeds its caps, not even for a moment,
    // so a store watching it never evicts another session over a transient overshoot.
    while (this.#byValue.size + 1 > this.#maxEntries || this.#bytes + bytes > this.#maxBytes) {
      const oldest = this.#oldest();
      if (oldest === undefined) break;
      this.#remove(oldest);
      this.#listener?.evicted();
    }
    const seq = ++this.#seq;
    // A detector's value is a slice of the text it was found in, and V8 keeps a slice's
    // whole parent string alive: one stored address would pin the entire tool result
    // (3.4 MB per request here, 17 MB in the report) for the TTL, outside every cap. So
    // the vault keeps its own copy, and a key built from it.
    const own = copyString(value);
    const entry = {
      type,
      key: type + "\u0000" + copyString(canonicalValue(type, own)),
      seq,
      placeholder,
      value: own,
      bytes,
      expiresAt: now + this.#ttlMs,
      origin: typeof origin === "function" ? origin(value) : origin,
    };
    this.#byValue.set(entry.key, entry);
    this.#byPlaceholder.set(placeholder, entry);
    this.#bytes += bytes;
    this.#listener?.resized(1, bytes);
    if (this.#added !== undefined) {
      this.#added.push(entry);
      // Evicted entries leave the list now and then, so it stays within twice the caps.
      if (this.#added.length > 2 * this.#maxEntries) {
        this.#added = this.#added.filter((e) => this.#byPlaceholder.get(e.placeholder) === e);
      }
    }
    return placeholder;
  }

  /**
   * Loads mappings kept elsewhere (a shared store) into this vault, keeping their
   * placeholders, and continues numbering after `counters` (per label, e.g. `{ EMAIL: 7 }`)
   * and after every loaded placeholder, so a new placeholder never repeats an old one.
   * Mappings are loaded in order (least recently used first) under the vault's caps; a value
   * or placeholder of an unknown type, or a placeholder without this vault's tag (another
   * vault's, or an untagged one of older versions), is skipped: give the vault the store's tag
   * when creating it. From now on, mappings this vault creates are listed by
   * {@linkcode takeAdded}.
   */
  seed(mappings: VaultMapping[], counters: Record<string, number> = {}): void {
    this.#added ??= [];
    const now = this.#now();
    for (const [type, label] of Object.entries(PLACEHOLDER_LABELS) as [PiiType, string][]) {
      const n = counters[label];
      if (Number.isSafeInteger(n) && n > (this.#counters.get(type) ?? 0)) {
        this.#counters.set(type, n);
      }
    }
    for (const m of mappings) {
      const label = PLACEHOLDER_LABELS[m.type];
      const parts = label === undefined ? undefined : parsePlaceholder(m.placeholder);
      if (
        parts === undefined || parts.label !== label || parts.tag !== this.#tag ||
        typeof m.value !== "string"
      ) continue;
      const n = parts.number;
      if (n > (this.#counters.get(m.type) ?? 0)) this.#counters.set(m.type, n);
      const valueBytes = utf8Length(m.value, this.#maxValueBytes);
      if (valueBytes > this.#maxValueBytes) continue;
      const key = m.type + "\u0000" + canonicalValue(m.type, m.value);
      const old = this.#byValue.get(key) ?? this.#byPlaceholder.get(m.placeholder);
      if (old !== undefined) this.#remove(old);
      const bytes = 2 * valueBytes + m.type.length + 1 + m.placeholder.length;
      while (this.#byValue.size + 1 > this.#maxEntries || this.#bytes + bytes > this.#maxBytes) {
        const oldest = this.#oldest();
        if (oldest === undefined) break;
        this.#remove(oldest);
      }
      if (this.#bytes + bytes > this.#maxBytes) continue;
      const entry: Entry = {
        type: m.type,
        key,
        seq: ++this.#seq,
        placeholder: m.placeholder,
        value: m.value,
        bytes,
        expiresAt: now + this.#ttlMs,
        origin: m.origin === "agent" ? "agent" : "upstream",
      };
      this.#byValue.set(key, entry);
      this.#byPlaceholder.set(entry.placeholder, entry);
      this.#bytes += bytes;
      this.#listener?.resized(1, bytes);
    }
  }

  /**
   * The mappings created since {@linkcode seed} or the last call, still live; empty for a
   * vault that was never seeded. `canonical` is the form that decides the placeholder.
   */
  takeAdded(): Array<VaultMapping & { canonical: string; label: string }> {
    const added = this.#added ?? [];
    if (this.#added) this.#added = [];
    return added.filter((e) => this.#byPlaceholder.get(e.placeholder) === e).map((e) => ({
      type: e.type,
      value: e.value,
      placeholder: e.placeholder,
      // Absent means upstream (as a store's older mappings have it).
      ...(e.origin === "agent" ? { origin: "agent" as const } : {}),
      canonical: e.key.slice(e.type.length + 1),
      label: PLACEHOLDER_LABELS[e.type],
    }));
  }

  /**
   * Gives mappings the placeholders a shared store settled on (`old → new`); a mapping
   * renamed to `undefined` is dropped (the store refused it).
   */
  rename(renames: ReadonlyMap<string, string | undefined>): void {
    for (const [from, to] of renames) {
      const entry = this.#byPlaceholder.get(from);
      if (entry === undefined || from === to) continue;
      if (to === undefined) {
        this.#remove(entry);
        continue;
      }
      this.#byPlaceholder.delete(from);
      const other = this.#byPlaceholder.get(to);
      if (other !== undefined && other !== entry) this.#remove(other);
      entry.placeholder = to;
      this.#byPlaceholder.set(to, entry);
    }
  }

  /** The value behind `placeholder`, or undefined when unknown, expired or evicted. */
  lookup(placeholder: string): string | undefined {
    const entry = this.#byPlaceholder.get(placeholder);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Where the value behind `placeholder` came from (see {@linkcode ValueOrigin}), or
   * undefined when the placeholder is unknown, expired or evicted. Not a use of the mapping.
   */
  originOf(placeholder: string): ValueOrigin | undefined {
    const entry = this.#byPlaceholder.get(placeholder);
    if (entry === undefined || entry.expiresAt <= this.#now()) return undefined;
    return entry.origin;
  }

  /**
   * Value → placeholder of every live mapping of `origin`, as first seen (for finding those
   * values again where they are written out raw). O(mappings); not a use of them.
   */
  valuesOf(origin: ValueOrigin): Map<string, string> {
    const now = this.#now();
    const out = new Map<string, string>();
    for (const entry of this.#byValue.values()) {
      if (entry.origin === origin && entry.expiresAt > now) out.set(entry.value, entry.placeholder);
    }
    return out;
  }

  /** Number of live mappings (expired ones are dropped first). */
  get size(): number {
    this.#dropExpiredFront(this.#now());
    return this.#byValue.size;
  }

  /** Bytes held by live mappings, in UTF-8 (see {@linkcode VaultOptions}). */
  get bytes(): number {
    this.#dropExpiredFront(this.#now());
    return this.#bytes;
  }

  /** Drops expired mappings. */
  sweep(): void {
    const now = this.#now();
    for (const entry of [...this.#byValue.values()]) {
      if (entry.expiresAt <= now) this.#remove(entry);
    }
  }

  /**
   * Map order is least recently used first and each use extends the entry's life by the
   * same TTL, so expired entries sit at the front: dropping them there costs O(1)
   * amortised and keeps a long session's vault from holding dead values.
   */
  #dropExpiredFront(now: number): void {
    for (let entry = this.#oldest(); entry !== undefined; entry = this.#oldest()) {
      if (entry.expiresAt > now) break;
      this.#remove(entry);
    }
  }

  /**
   * The least recently used entry, in O(1) amortised. A fresh Map iterator would walk
   * every slot that earlier evictions left at the front (V8 compacts a Map only when it
   * rehashes), making each eviction O(capacity): 20 µs per new value at 10,000 entries.
   * So one iterator lives on and passes each slot once. The entry it last returned stays
   * the answer (`#head`) until it is removed or moved (its `seq` changes); every other
   * slot before the iterator is gone, since entries only leave the front or move back.
   */
  #oldest(): Entry | undefined {
    const head = this.#head;
    if (head !== undefined && head.seq === this.#headSeq && this.#byValue.get(head.key) === head) {
      return head;
    }
    this.#head = undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      this.#cursor ??= this.#byValue.values();
      const next = this.#cursor.next();
      if (!next.done) {
        this.#head = next.value;
        this.#headSeq = next.value.seq;
        return next.value;
      }
      // A finished iterator stays finished; entries added since need a new one.
      this.#cursor = undefined;
    }
    return undefined;
  }

  #remove(entry: Entry): void {
    if (this.#byValue.get(entry.key) !== entry) return;
    this.#byValue.delete(entry.key);
    if (this.#byPlaceholder.get(entry.placeholder) === entry) {
      this.#byPlaceholder.delete(entry.placeholder);
    }
    this.#bytes -= entry.bytes;
    this.#listener?.resized(-1, -entry.bytes);
  }
}

/**
 * The form of a value that decides its placeholder: one value, one placeholder, however it
 * is written. Card, IBAN, SSN and phone numbers lose their separators (spaces, dashes, dots,
 * slashes, brackets; a phone keeps its leading `+`), IBANs are upper-cased, an e-mail
 * address's domain is lower-cased (the local part may be case-sensitive). The vault keeps
 * the first form it saw; a tool that gets the value back gets that form. Linear.
 */
export function canonicalValue(type: PiiType, value: string): string {
  switch (type) {
    case "credit_card":
    case "ssn":
      return value.replace(/[\s\-./()]/g, "");
    case "iban":
      return value.replace(/[\s\-./()]/g, "").toUpperCase();
    case "phone": {
      const digits = value.replace(/[^\d+]/g, "");
      return digits.startsWith("+") ? "+" + digits.slice(1).replace(/\+/g, "") : digits;
    }
    case "email": {
      const at = value.lastIndexOf("@");
      return at < 0 ? value : value.slice(0, at) + value.slice(at).toLowerCase();
    }
    default:
      return value;
  }
}

/**
 * A copy of `s` that shares no memory with it (a slice of a large string would otherwise
 * keep that string alive). The JSON round trip is linear and exact, lone surrogates
 * included; values are at most `maxValueBytes` long.
 */
function copyString(s: string): string {
  return JSON.parse(JSON.stringify(s));
}

/**
 * UTF-8 length of `s`, counting a lone surrogate as the 3 bytes of U+FFFD (as
 * `TextEncoder` writes it). Stops early once past `limit`: one linear scan at most.
 */
function utf8Length(s: string, limit: number): number {
  let bytes = 0;
  for (let i = 0; i < s.length && bytes <= limit; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Which vault: the tenant, the identity of the API key that uses it, and the session id.
 * Vaults of different keys never mix, even with the same session id: a session id is not a
 * capability that another key of the tenant can use.
 */
export interface VaultRef {
  /** The tenant's id; must come from a bounded set (the configured tenants). */
  tenant: string;
  /**
   * An opaque identity of the API key, e.g. its `sha256:` hash (at most 256 UTF-16 code
   * units); `""` when there is no key (local use).
   */
  keyId: string;
  /** The session id chosen by the client (1 to 256 UTF-16 code units). */
  session: string;
}

/** Caps of each tenant in a {@linkcode VaultStore}. */
export interface VaultTenantLimits {
  /** Most live sessions of one tenant; its least recently used go first (default 1,000). */
  maxSessions?: number;
  /** Most mappings over all sessions of one tenant (default 100,000). */
  maxEntries?: number;
  /** Most bytes (UTF-8, see {@linkcode VaultOptions}) over all its sessions (default 32 MiB). */
  maxBytes?: number;
}

/** Caps of each session's vault in a {@linkcode VaultStore}. */
export interface VaultSessionLimits {
  /** Most mappings of one session (default 10,000). */
  maxEntries?: number;
  /** Most bytes of one session (default 2 MiB). */
  maxBytes?: number;
  /** Largest value stored (default 8 KiB); larger ones are masked, see {@linkcode VaultOptions}. */
  maxValueBytes?: number;
}

/**
 * Options of a {@linkcode VaultStore}. The top-level caps are for the whole store and are a
 * last resort: when one is exceeded, the tenant using the most of that resource loses its
 * least recently used session. Effective caps are clamped so that session ≤ tenant ≤ store.
 */
export interface VaultStoreOptions {
  /** Time-to-live of a session's vault after its last use, and of each mapping (ms). */
  ttlMs?: number;
  /** Most sessions in the store (default 10,000). */
  maxSessions?: number;
  /** Most mappings in the store (default 250,000). */
  maxEntries?: number;
  /** Most bytes in the store (UTF-8, see {@linkcode VaultOptions}; default 64 MiB). */
  maxBytes?: number;
  /** Caps of each tenant. */
  perTenant?: VaultTenantLimits;
  /** Caps of each session's vault. */
  perSession?: VaultSessionLimits;
  /** Clock, injectable for tests (default `Date.now`). */
  now?: () => number;
}

/** What one tenant holds in a {@linkcode VaultStore}, for metrics. */
export interface VaultTenantStats {
  /** The tenant's id. */
  tenant: string;
  /** Live sessions. */
  sessions: number;
  /** Mappings over its sessions. */
  entries: number;
  /** Bytes over its sessions (UTF-8, see {@linkcode VaultOptions}). */
  bytes: number;
  /** Sessions dropped for room (not by the TTL), counted since the store started. */
  evictedSessions: {
    /** By the tenant's own caps. */
    tenant: number;
    /** By the store's caps (this tenant used the most). */
    global: number;
  };
  /** Mappings dropped by a session's own caps, since the store started. */
  evictedEntries: number;
  /** Values masked because they were above `maxValueBytes`, since the store started. */
  oversizedValues: number;
}

/** A snapshot of a {@linkcode VaultStore}: totals and one row per tenant seen. */
export interface VaultStoreStats {
  /** Live sessions in the store. */
  sessions: number;
  /** Mappings in the store. */
  entries: number;
  /** Bytes in the store (UTF-8, see {@linkcode VaultOptions}). */
  bytes: number;
  /** Per tenant, in the order tenants were first seen. */
  tenants: VaultTenantStats[];
}

interface Session {
  key: string;
  tenant: TenantState;
  vault: Vault;
  entries: number;
  bytes: number;
  expiresAt: number;
}

interface TenantState {
  id: string;
  /** Least recently used first. */
  sessions: Map<string, Session>;
  entries: number;
  bytes: number;
  evictedByTenant: number;
  evictedByStore: number;
  evictedEntries: number;
  oversized: number;
}

type Limits = { maxSessions: number; maxEntries: number; maxBytes: number };

const MAX_ID_LENGTH = 256;

/**
 * One {@linkcode Vault} per (tenant, API key, session id), grouped by tenant. Sessions
 * are dropped after the TTL since their last use, or for room: a tenant over one of its
 * caps loses its own least recently used sessions; only when the whole store is over a cap
 * does the tenant using the most of it lose its least recently used session. A dropped
 * session's placeholders stop resolving (an execution still holding its vault keeps using
 * it until it ends, outside the counts), and never come to mean anything else: the session's
 * next vault numbers from 1 again, but under another tag.
 *
 * Cost: `get` is O(1) amortised plus O(tenants) for a sweep at most once a second and for
 * eviction by the store's caps; tenants are few (they come from the configuration).
 */
export class VaultStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #store: Limits;
  readonly #tenant: Limits;
  readonly #session: Required<VaultSessionLimits>;
  readonly #tenants = new Map<string, TenantState>();
  #sessions = 0;
  #entries = 0;
  #bytes = 0;
  #nextSweep = 0;

  /**
   * Creates an empty store.
   * @throws RangeError with `kind: "invalid_option"` for a cap or TTL that is not positive
   */
  constructor(options: VaultStoreOptions = {}) {
    this.#ttlMs = positive(options.ttlMs, DEFAULT_TTL_MS, "ttlMs");
    this.#now = options.now ?? Date.now;
    this.#store = {
      maxSessions: positive(options.maxSessions, STORE_DEFAULTS.maxSessions, "maxSessions"),
      maxEntries: positive(options.maxEntries, STORE_DEFAULTS.maxEntries, "maxEntries"),
      maxBytes: positive(options.maxBytes, STORE_DEFAULTS.maxBytes, "maxBytes"),
    };
    const t = options.perTenant ?? {};
    this.#tenant = {
      maxSessions: Math.min(
        positive(t.maxSessions, TENANT_DEFAULTS.maxSessions, "perTenant.maxSessions"),
        this.#store.maxSessions,
      ),
      maxEntries: Math.min(
        positive(t.maxEntries, TENANT_DEFAULTS.maxEntries, "perTenant.maxEntries"),
        this.#store.maxEntries,
      ),
      maxBytes: Math.min(
        positive(t.maxBytes, TENANT_DEFAULTS.maxBytes, "perTenant.maxBytes"),
        this.#store.maxBytes,
      ),
    };
    const s = options.perSession ?? {};
    const maxBytes = Math.min(
      positive(s.maxBytes, SESSION_DEFAULTS.maxBytes, "perSession.maxBytes"),
      this.#tenant.maxBytes,
    );
    this.#session = {
      maxEntries: Math.min(
        positive(s.maxEntries, SESSION_DEFAULTS.maxEntries, "perSession.maxEntries"),
        this.#tenant.maxEntries,
      ),
      maxBytes,
      maxValueBytes: Math.min(
        positive(s.maxValueBytes, SESSION_DEFAULTS.maxValueBytes, "perSession.maxValueBytes"),
        maxBytes,
      ),
    };
  }

  /**
   * The vault of `ref`, created when absent or expired; each call counts as a use.
   *
   * The string form is the older API: the whole string is the session id, in tenant `""`
   * with key `""`, so every such session shares one tenant's caps. Prefer a {@linkcode VaultRef}.
   * @throws TypeError with `kind: "invalid_session"` for an empty session id, or a session
   *   id or key identity longer than 256 UTF-16 code units
   */
  get(ref: VaultRef | string): Vault {
    const { tenant: tenantId, key } = this.#resolve(ref);
    const now = this.#now();
    this.#sweep(now);
    let tenant = this.#tenants.get(tenantId);
    if (tenant === undefined) {
      tenant = {
        id: tenantId,
        sessions: new Map(),
        entries: 0,
        bytes: 0,
        evictedByTenant: 0,
        evictedByStore: 0,
        evictedEntries: 0,
        oversized: 0,
      };
      this.#tenants.set(tenantId, tenant);
    }
    let session = tenant.sessions.get(key);
    if (session !== undefined && session.expiresAt <= now) {
      this.#drop(session);
      session = undefined;
    }
    if (session !== undefined) {
      // Re-insert to keep Map order = least recently used first.
      tenant.sessions.delete(key);
      tenant.sessions.set(key, session);
      session.expiresAt = now + this.#ttlMs;
      return session.vault;
    }
    session = this.#open(tenant, key, now);
    while (tenant.sessions.size > this.#tenant.maxSessions) {
      this.#evict(tenant.sessions.values().next().value!, "tenant");
    }
    while (
      this.#sessions > this.#store.maxSessions && this.#evictFromHeaviest((t) => t.sessions.size)
    );
    return session.vault;
  }

  /**
   * Drops the session of `ref` now (e.g. when its MCP session closes).
   * @returns whether there was a live session
   */
  delete(ref: VaultRef | string): boolean {
    const { tenant: tenantId, key } = this.#resolve(ref);
    const session = this.#tenants.get(tenantId)?.sessions.get(key);
    if (session === undefined) return false;
    const live = session.expiresAt > this.#now();
    this.#drop(session);
    return live;
  }

  /** Number of live sessions. */
  get size(): number {
    this.#sweep(this.#now(), true);
    return this.#sessions;
  }

  /**
   * Totals and per-tenant figures (sessions, mappings, bytes, eviction counters), for
   * metrics. Expired sessions and mappings are dropped first. O(tenants + sessions).
   */
  stats(): VaultStoreStats {
    this.#sweep(this.#now(), true);
    for (const tenant of this.#tenants.values()) {
      // Reading `bytes` drops each vault's expired mappings, which updates the counts.
      for (const session of tenant.sessions.values()) void session.vault.bytes;
    }
    return {
      sessions: this.#sessions,
      entries: this.#entries,
      bytes: this.#bytes,
      tenants: [...this.#tenants.values()].map((t) => ({
        tenant: t.id,
        sessions: t.sessions.size,
        entries: t.entries,
        bytes: t.bytes,
        evictedSessions: { tenant: t.evictedByTenant, global: t.evictedByStore },
        evictedEntries: t.evictedEntries,
        oversizedValues: t.oversized,
      })),
    };
  }

  #resolve(ref: VaultRef | string): { tenant: string; key: string } {
    const r = typeof ref === "string" ? { tenant: "", keyId: "", session: ref } : ref;
    if (
      r === null || typeof r !== "object" || typeof r.tenant !== "string" ||
      typeof r.keyId !== "string" || r.keyId.length > MAX_ID_LENGTH ||
      typeof r.session !== "string" || r.session.length === 0 ||
      r.session.length > MAX_ID_LENGTH
    ) {
      throw Object.assign(
        new TypeError(
          `session id must be a string of 1 to ${MAX_ID_LENGTH} characters, with a key identity`,
        ),
        { kind: "invalid_session" },
      );
    }
    // Length-prefixed, so no key identity and session id pair can collide with another.
    return { tenant: r.tenant, key: `${r.keyId.length}:${r.keyId}${r.session}` };
  }

  #open(tenant: TenantState, key: string, now: number): Session {
    const vault = new Vault({ ttlMs: this.#ttlMs, now: this.#now, ...this.#session });
    const session: Session = {
      key,
      tenant,
      vault,
      entries: 0,
      bytes: 0,
      expiresAt: now + this.#ttlMs,
    };
    tenant.sessions.set(key, session);
    this.#sessions++;
    listen(vault, {
      resized: (entries, bytes) => this.#resized(session, entries, bytes),
      evicted: () => tenant.evictedEntries++,
      oversized: () => tenant.oversized++,
    });
    return session;
  }

  #resized(session: Session, entries: number, bytes: number): void {
    const tenant = session.tenant;
    session.entries += entries;
    session.bytes += bytes;
    tenant.entries += entries;
    tenant.bytes += bytes;
    this.#entries += entries;
    this.#bytes += bytes;
    if (entries <= 0 && bytes <= 0) return;
    // The growing session fits the tenant's caps alone (session caps are clamped to
    // them), so evicting the tenant's other sessions, oldest first, always makes room.
    const t = this.#tenant;
    // Checked before iterating: this runs for every new mapping, and starting an iterator
    // walks the deleted slots at the front of the Map.
    if (tenant.entries > t.maxEntries || tenant.bytes > t.maxBytes) {
      for (const oldest of tenant.sessions.values()) {
        if (tenant.entries <= t.maxEntries && tenant.bytes <= t.maxBytes) break;
        if (oldest !== session) this.#evict(oldest, "tenant");
      }
    }
    const store = this.#store;
    while (this.#entries > store.maxEntries && this.#evictFromHeaviest((x) => x.entries));
    while (this.#bytes > store.maxBytes && this.#evictFromHeaviest((x) => x.bytes));
  }

  /** The store is over a cap: the tenant using the most of it loses its oldest session. */
  #evictFromHeaviest(use: (tenant: TenantState) => number): boolean {
    let heaviest: TenantState | undefined;
    for (const t of this.#tenants.values()) {
      if (t.sessions.size > 0 && (heaviest === undefined || use(t) > use(heaviest))) heaviest = t;
    }
    if (heaviest === undefined) return false;
    this.#evict(heaviest.sessions.values().next().value!, "global");
    return true;
  }

  #evict(session: Session, by: "tenant" | "global"): void {
    if (by === "tenant") session.tenant.evictedByTenant++;
    else session.tenant.evictedByStore++;
    this.#drop(session);
  }

  #drop(session: Session): void {
    const tenant = session.tenant;
    if (tenant.sessions.get(session.key) !== session) return;
    tenant.sessions.delete(session.key);
    // Detached: an execution still holding the vault may use it, but it no longer counts.
    listen(session.vault, undefined);
    tenant.entries -= session.entries;
    tenant.bytes -= session.bytes;
    this.#entries -= session.entries;
    this.#bytes -= session.bytes;
    this.#sessions--;
  }

  /**
   * Each tenant's sessions are least recently used first and share one TTL, so expired
   * ones sit at the front: O(tenants) plus O(1) per dropped session, at most once a second
   * unless `force`d.
   */
  #sweep(now: number, force = false): void {
    if (!force && now < this.#nextSweep) return;
    this.#nextSweep = now + Math.min(1000, this.#ttlMs);
    for (const tenant of this.#tenants.values()) {
      for (const session of tenant.sessions.values()) {
        if (session.expiresAt > now) break;
        this.#drop(session);
      }
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && value > 0)) {
    throw Object.assign(new RangeError(`${name} must be a positive number`), {
      kind: "invalid_option",
    });
  }
  return value;
}
