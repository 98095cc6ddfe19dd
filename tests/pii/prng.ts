// Seeded pseudo-random numbers for the corpus and tuning generators (mulberry32), so the
// generated files are byte-for-byte reproducible.

/** A deterministic random source. */
export class Prng {
  #state: number;

  /** Seeds the generator. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** `n` characters drawn from `alphabet`. */
  chars(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  /** `n` decimal digits. */
  digits(n: number): string {
    return this.chars("0123456789", n);
  }
}

/** Common alphabets. */
export const ALPHABETS = {
  hex: "0123456789abcdef",
  HEX: "0123456789ABCDEF",
  base62: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
  base64: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
  base64url: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  lowerDigits: "abcdefghijklmnopqrstuvwxyz0123456789",
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lower: "abcdefghijklmnopqrstuvwxyz",
} as const;

/** Everyday words for identifiers, prose and passwords. */
export const WORDS = [
  "account",
  "admin",
  "alpha",
  "apple",
  "backup",
  "batch",
  "blue",
  "build",
  "cache",
  "client",
  "cloud",
  "config",
  "connection",
  "customer",
  "data",
  "database",
  "default",
  "delta",
  "dev",
  "dragon",
  "east",
  "event",
  "export",
  "file",
  "first",
  "garden",
  "green",
  "group",
  "guest",
  "home",
  "import",
  "index",
  "invoice",
  "job",
  "legacy",
  "local",
  "main",
  "master",
  "monkey",
  "north",
  "order",
  "orange",
  "primary",
  "project",
  "public",
  "queue",
  "report",
  "river",
  "sales",
  "secondary",
  "server",
  "service",
  "session",
  "shadow",
  "silver",
  "staging",
  "storage",
  "summer",
  "sunshine",
  "system",
  "team",
  "test",
  "tiger",
  "user",
  "value",
  "winter",
  "worker",
  "yellow",
]; // deno-fmt-ignore
