// Tunes the thresholds of keyword-adjacent secret detection on generated data.
//
//   deno run -A tests/pii/tune_entropy.ts
//
// Positives are values that follow `token=`, `api_key:`, `password:` in real configs:
// random tokens in the usual alphabets and lengths, and human-made passwords. Negatives
// are what else follows those keywords: identifiers, environment references,
// placeholders, schema words, paths, URLs, numbers. A grid search picks, per keyword
// class, the (min length, min entropy, min class-transition rate) that maximises F1
// (ties: higher precision, then the loosest thresholds). pii/looks_secret.ts holds the
// chosen values; tune_entropy_test.ts checks they still score on this data.

import { ALPHABETS, Prng, WORDS } from "./prng.ts";
import { passesThresholds, secretFeatures, type SecretThresholds } from "../../pii/mod.ts";

/** A labelled value. */
export interface Sample {
  value: string;
  secret: boolean;
}

const SEED = 20261121;

function ident(r: Prng, parts: number): string[] {
  const words: string[] = [];
  for (let i = 0; i < parts; i++) words.push(r.pick(WORDS));
  return words;
}

function camel(words: string[]): string {
  return words.map((w, i) => i === 0 ? w : w[0].toUpperCase() + w.slice(1)).join("");
}

/** Samples for token-like keywords (key, token, secret, bearer, auth). */
export function tokenSamples(seed = SEED): Sample[] {
  const r = new Prng(seed);
  const out: Sample[] = [];
  const { base62, base64, base64url, hex, HEX, lowerDigits } = ALPHABETS;
  for (let i = 0; i < 400; i++) {
    const kind = i % 8;
    let v: string;
    if (kind === 0) v = r.chars(hex, r.pick([32, 40, 64]));
    else if (kind === 1) v = r.chars(base62, r.int(16, 48));
    else if (kind === 2) v = r.chars(base64, r.int(5, 11) * 4 - 2) + "==";
    else if (kind === 3) v = r.chars(base64url, r.int(22, 43));
    else if (kind === 4) v = r.chars(lowerDigits, r.int(20, 40));
    else if (kind === 5) v = r.chars(HEX, r.pick([32, 40]));
    else if (kind === 6) {
      v = r.pick(["tok_", "key-", "live_", "pat-"]) + r.chars(base62, r.int(20, 32));
    } else v = r.chars(base62, 8) + "." + r.chars(base64url, r.int(16, 32));
    out.push({ value: v, secret: true });
  }
  const fixed = [
    "your-api-key-here",
    "YOUR_API_KEY",
    "<your-token>",
    "${API_KEY}",
    "$GITHUB_TOKEN",
    "process.env.API_KEY",
    "os.environ['KEY']",
    "xxxxxxxxxxxxxxxxxxxxxxxx",
    "************************",
    "REDACTED",
    "changeme",
    "null",
    "undefined",
    "true",
    "false",
    "application/json",
    "/etc/secrets/api.key",
    "~/.ssh/id_ed25519.pub",
    "https://example.com/oauth/token",
    "credentials.json",
    "settings.secret_key",
    "Authorization",
    "keyboard-shortcuts",
    "primary_key",
    "foreign_key_constraint",
    "sort_key_ascending",
    "token_bucket_rate_limiter",
    "1234567890123456",
    "2024-01-15T10:00:00Z",
    "v1.24.3-beta.2",
    "en-US",
    "max_tokens_per_request",
    "ACCESS_KEY_ID_PLACEHOLDER",
  ]; // deno-fmt-ignore
  for (const v of fixed) out.push({ value: v, secret: false });
  for (let i = 0; i < 400 - fixed.length; i++) {
    const kind = i % 7;
    const words = ident(r, r.int(2, 5));
    let v: string;
    if (kind === 0) v = words.join("_");
    else if (kind === 1) v = camel(words);
    else if (kind === 2) v = words.join("-");
    else if (kind === 3) v = words.join("_").toUpperCase();
    else if (kind === 4) v = "/" + words.join("/") + r.pick([".json", ".pem", ".key", ""]);
    else if (kind === 5) v = words.join(".") + "." + r.pick(["secret", "token", "key"]);
    else v = camel(words) + r.pick(["Token", "Key", "Secret", "Id", "V2", "2"]);
    out.push({ value: v, secret: false });
  }
  return out;
}

/** Samples for password-like keywords (password, passwd, pwd, passphrase). */
export function passwordSamples(seed = SEED + 1): Sample[] {
  const r = new Prng(seed);
  const out: Sample[] = [];
  const symbols = "!@#$%^&*?-_+=";
  for (let i = 0; i < 300; i++) {
    const kind = i % 5;
    let v: string;
    const w = r.pick(WORDS);
    const cap = w[0].toUpperCase() + w.slice(1);
    if (kind === 0) v = cap + r.digits(r.int(2, 4)) + r.pick([...symbols]);
    else if (kind === 1) v = r.chars(ALPHABETS.base62 + symbols, r.int(8, 20));
    else if (kind === 2) v = w + r.digits(r.int(1, 4));
    else if (kind === 3) {
      v = w.replace(/a/g, "@").replace(/o/g, "0").replace(/e/g, "3") + r.pick([...symbols]) +
        r.digits(2);
    } else v = cap + r.pick([...symbols]) + r.pick(WORDS) + r.digits(r.int(1, 3));
    out.push({ value: v, secret: true });
  }
  const fixed = [
    "required",
    "string",
    "optional",
    "********",
    "${DB_PASSWORD}",
    "$PGPASSWORD",
    "<password>",
    "changeme",
    "hidden",
    "true",
    "false",
    "null",
    "none",
    "reset",
    "forgotten",
    "incorrect",
    "expired",
    "minLength",
    "hashed",
    "bcrypt",
    "sha256",
    "PASSWORD_HASH",
    "password_reset_token",
    "process.env.DB_PASS",
    "REDACTED",
    "xxxxxxxx",
    "[hidden]",
    "see-vault",
    "NotSet",
    "empty",
  ]; // deno-fmt-ignore
  for (const v of fixed) out.push({ value: v, secret: false });
  for (let i = 0; i < 300 - fixed.length; i++) {
    const words = ident(r, r.int(1, 3));
    const kind = i % 4;
    const v = kind === 0
      ? words.join("_")
      : kind === 1
      ? camel(words)
      : kind === 2
      ? words.join("-")
      : words.join("_").toUpperCase();
    out.push({ value: v, secret: false });
  }
  return out;
}

/** Precision, recall and F1 of thresholds `t` on `samples`. */
export function score(samples: Sample[], t: SecretThresholds) {
  return scoreMeasured(measure(samples), t);
}

type Measured = { secret: boolean; f: ReturnType<typeof secretFeatures> }[];

function measure(samples: Sample[]): Measured {
  return samples.map((s) => ({ secret: s.secret, f: secretFeatures(s.value) }));
}

function scoreMeasured(samples: Measured, t: SecretThresholds) {
  let tp = 0, fp = 0, fn = 0;
  for (const s of samples) {
    const predicted = passesThresholds(s.f, t);
    if (predicted && s.secret) tp++;
    else if (predicted) fp++;
    else if (s.secret) fn++;
  }
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : 2 * precision * recall / (precision + recall);
  return { precision, recall, f1 };
}

/** Grid search for the best thresholds on `samples` (ties: higher precision, then looser). */
export function tune(raw: Sample[], lengths: number[]) {
  const samples = measure(raw);
  let best: { t: SecretThresholds; precision: number; recall: number; f1: number } | undefined;
  for (const minLength of lengths) {
    for (let e = 20; e <= 45; e++) {
      for (let v = 15; v <= 45; v += 5) {
        for (let d = 0; d <= 60; d += 5) {
          const t = {
            minLength,
            minEntropy: e / 10,
            maxVowelRatio: v / 100,
            minDigitRatio: d / 100,
          };
          const s = scoreMeasured(samples, t);
          const better = !best || s.f1 > best.f1 + 1e-9 ||
            (Math.abs(s.f1 - best.f1) <= 1e-9 && s.precision > best.precision + 1e-9);
          if (better) best = { t, ...s };
        }
      }
    }
  }
  return best!;
}

if (import.meta.main) {
  const tokens = tune(tokenSamples(), [12, 16, 20]);
  const passwords = tune(passwordSamples(), [6, 8]);
  console.log(
    "| class | samples | min length | min entropy | max vowel ratio | min digit ratio | precision | recall | F1 |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const rows = [["token", tokens, tokenSamples().length], [
    "password",
    passwords,
    passwordSamples().length,
  ]] as const;
  for (const [name, b, n] of rows) {
    const t = b.t;
    console.log(
      `| ${name} | ${n} | ${t.minLength} | ${
        t.minEntropy.toFixed(1)
      } | ${t.maxVowelRatio} | ${t.minDigitRatio} | ${b.precision.toFixed(3)} | ${
        b.recall.toFixed(3)
      } | ${b.f1.toFixed(3)} |`,
    );
  }
}
