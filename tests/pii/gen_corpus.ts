// Generates the labelled corpus tests/pii/corpus/generated.jsonl (deterministic: seeded
// PRNG, checksums computed). Regenerate with
//
//   deno run -A tests/pii/gen_corpus.ts
//
// Each line is `{ "text": string, "expect": [{ "type": PiiType, "value": string }] }`.
// Positives put one or more values of a type into varied sentences, log lines and JSON;
// negatives are look-alikes that must survive (UUIDs, digests, versions, dates, order
// numbers failing Luhn, ISBNs, prices, ports, paths, URLs, invalid checksums…).

import { parsePhoneNumberFromString } from "libphonenumber-js";
import { ALPHABETS, Prng, WORDS } from "./prng.ts";
import { ibanCheckDigits, luhnCheckDigit, luhnValid } from "../../pii/checksums.ts";
import type { PiiType } from "../../pii/mod.ts";

/** One corpus line. */
export interface CorpusLine {
  text: string;
  expect: { type: PiiType; value: string }[];
}

const SEED = 4_2024;
const PER_TYPE = 100;

const FIRST = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "niaj",
  "olivia",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "victor",
  "walter",
  "zoe",
  "Jean-Luc",
  "maria",
  "Søren",
]; // deno-fmt-ignore
const LAST = ["smith", "jones", "garcia", "nguyen", "mueller", "rossi", "dubois", "tanaka",
  "kowalski", "silva", "obrien", "johansson", "patel", "kim", "ivanova"]; // deno-fmt-ignore
const DOMAINS = ["example.com", "mail.example.org", "company.io", "acme-corp.co.uk", "uni.edu",
  "posteo.de", "example.fr", "startup.dev", "web.gov.au", "dept.state.ny.us"]; // deno-fmt-ignore

function contexts(r: Prng, v: string, templates: string[]): string {
  return r.pick(templates).replaceAll("{v}", v).replaceAll("{w}", r.pick(WORDS)).replaceAll(
    "{n}",
    String(r.int(2, 999)),
  );
}

const GENERAL = [
  "Please contact {v} about the {w} issue.",
  "{v}",
  "Customer record: {v} (created by {w})",
  '{"id": {n}, "contact": "{v}", "status": "active"}',
  "2024-05-07 12:04:11 INFO user={w} value={v} took {n}ms",
  "- {v}\n- second item",
  "Forwarded: see {v}.",
  "| {w} | {v} | ok |",
  "Hi team,\nthe value is {v}\nthanks",
  "[{w}] {v}; retry {n}",
]; // deno-fmt-ignore

// --- e-mail ------------------------------------------------------------------------

function email(r: Prng): string {
  const f = r.pick(FIRST).toLowerCase().replace("ø", "o");
  const l = r.pick(LAST);
  const local = r.pick([
    `${f}.${l}`, `${f}_${l}`, `${f[0]}${l}${r.int(1, 99)}`, `${f}+${r.pick(WORDS)}`, `${f}`,
    `${l}.${f}-${r.int(1, 9)}`,
  ]); // deno-fmt-ignore
  const addr = `${local}@${r.pick(DOMAINS)}`;
  return r.next() < 0.15 ? addr.toUpperCase() : addr;
}

function emailLine(r: Prng): CorpusLine {
  const v = email(r);
  const name = `${r.pick(FIRST)} ${r.pick(LAST)}`;
  const text = contexts(r, v, [
    ...GENERAL,
    `From: "${name}" <{v}>`,
    `To: ${name} <{v}>, cc: nobody`,
    "mailto:{v}?subject=hello",
    "Reply-To: <{v}>",
    "(email: {v})",
    "Write to {v}.",
    "EMAIL={v}",
  ]);
  return { text, expect: [{ type: "email", value: v }] };
}

// --- phone -------------------------------------------------------------------------

const US_AREAS = [
  "212",
  "415",
  "646",
  "312",
  "617",
  "206",
  "303",
  "512",
  "404",
  "305",
  "702",
  "213",
  "718",
  "202",
  "971",
]; // deno-fmt-ignore

function phone(r: Prng): { value: string; context: "intl" | "national" } {
  for (;;) {
    const kind = r.int(0, 13);
    const ex = String(r.int(2, 9)) + r.digits(2);
    const line = r.digits(4);
    const area = r.pick(US_AREAS);
    let v: string;
    let national = false;
    switch (kind) {
      case 0: v = `+1 ${area} ${ex} ${line}`; break;
      case 1: v = `+1-${area}-${ex}-${line}`; break;
      case 2: v = `+1 (${area}) ${ex}-${line}`; break;
      case 3: v = `(${area}) ${ex}-${line}`; national = true; break;
      case 4: v = `${area}-${ex}-${line}`; national = true; break;
      case 5: v = `${area}.${ex}.${line}`; national = true; break;
      case 6: v = `+44 20 7${r.digits(3)} ${r.digits(4)}`; break;
      case 7: v = `+44 7${r.pick(["911", "700", "400"])} ${r.digits(6)}`; break;
      case 8: v = `+49 30 ${r.digits(8)}`; break;
      case 9: v = `+33 ${r.int(1, 6)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`; break;
      case 10: v = `+91 ${r.int(7, 9)}${r.digits(4)} ${r.digits(5)}`; break;
      case 11: v = `+81 3-${r.digits(4)}-${r.digits(4)}`; break;
      case 12: v = `020 7${r.digits(3)} ${r.digits(4)}`; national = true; break;
      default: v = `+61 2 ${r.int(8, 9)}${r.digits(3)} ${r.digits(4)}`;
    } // deno-fmt-ignore
    const parsed = national
      ? parsePhoneNumberFromString(v, v.startsWith("0") ? "GB" : "US")
      : parsePhoneNumberFromString(v);
    if (parsed?.isValid()) return { value: v, context: national ? "national" : "intl" };
  }
}

function phoneLine(r: Prng): CorpusLine {
  const { value } = phone(r);
  const text = contexts(r, value, [
    ...GENERAL,
    "Call me at {v} after 5pm.",
    "Tel: {v}",
    "Mobile {v} / office ext. {n}",
    "phone_number: {v}",
    "Support line {v} is open 24/7.",
    "Contact: Jane ({v})",
  ]);
  return { text, expect: [{ type: "phone", value }] };
}

// --- SSN ---------------------------------------------------------------------------

function ssn(r: Prng): string {
  let area: number;
  do area = r.int(1, 899); while (area === 666);
  const a = String(area).padStart(3, "0");
  const g = String(r.int(1, 99)).padStart(2, "0");
  const s = String(r.int(1, 9999)).padStart(4, "0");
  return r.next() < 0.8 ? `${a}-${g}-${s}` : `${a} ${g} ${s}`;
}

function ssnLine(r: Prng): CorpusLine {
  const bare = r.next() < 0.12;
  let v = ssn(r);
  if (bare) v = v.replace(/[- ]/g, "");
  const templates = bare
    ? ["SSN: {v}", "ssn={v}", "Social Security Number {v} on file", '{"ssn": "{v}"}']
    : [...GENERAL, "SSN {v}", "Employee SSN: {v}.", "social security no. {v}", "TIN/SSN {v}"];
  return { text: contexts(r, v, templates), expect: [{ type: "ssn", value: v }] };
}

// --- payment cards -----------------------------------------------------------------

function cardDigits(r: Prng): string {
  const kind = r.int(0, 9);
  let prefix: string;
  let len: number;
  switch (kind) {
    case 0:
    case 1:
      prefix = "4";
      len = 16;
      break;
    case 2:
      prefix = "4";
      len = 13;
      break;
    case 3:
      prefix = String(r.int(51, 55));
      len = 16;
      break;
    case 4:
      prefix = String(r.int(2221, 2720));
      len = 16;
      break;
    case 5:
      prefix = r.pick(["34", "37"]);
      len = 15;
      break;
    case 6:
      prefix = "6011";
      len = 16;
      break;
    case 7:
      prefix = String(r.int(3528, 3589));
      len = 16;
      break;
    case 8:
      prefix = "36";
      len = 14;
      break;
    default:
      prefix = "62";
      len = r.pick([16, 19]);
  } // deno-fmt-ignore
  const partial = prefix + r.digits(len - prefix.length - 1);
  return partial + luhnCheckDigit(partial);
}

function formatCard(r: Prng, d: string): string {
  const style = r.int(0, 2);
  if (style === 0) return d;
  const sep = style === 1 ? " " : "-";
  if (d.length === 15) return [d.slice(0, 4), d.slice(4, 10), d.slice(10)].join(sep);
  if (d.length === 14) return [d.slice(0, 4), d.slice(4, 10), d.slice(10)].join(sep);
  return d.match(/.{1,4}/g)!.join(sep);
}

function cardLine(r: Prng): CorpusLine {
  const v = formatCard(r, cardDigits(r));
  const text = contexts(r, v, [
    ...GENERAL,
    "Card number {v} exp 04/27",
    "Paid with card {v}, CVV hidden.",
    "cc_number={v}&amount=12.50",
    "Visa/MC: {v}",
  ]);
  return { text, expect: [{ type: "credit_card", value: v }] };
}

// --- IBAN --------------------------------------------------------------------------

/** BBAN layouts: n digits, a upper-case letters, c alphanumerics. */
const BBAN: Record<string, string> = {
  DE: "18n",
  GB: "4a14n",
  FR: "10n11c2n",
  NL: "4a10n",
  ES: "20n",
  IT: "1a10n12c",
  CH: "5n12c",
  BE: "12n",
  AT: "16n",
  PL: "24n",
  SE: "20n",
  NO: "11n",
  IE: "4a14n",
  PT: "21n",
  DK: "14n",
  FI: "14n",
}; // deno-fmt-ignore

function bban(r: Prng, layout: string): string {
  let out = "";
  for (const [, n, k] of layout.matchAll(/(\d+)([anc])/g)) {
    const alphabet = k === "n" ? "0123456789" : k === "a" ? ALPHABETS.upper : "0123456789" + ALPHABETS.upper;
    out += r.chars(alphabet, Number(n));
  }
  return out;
}

function iban(r: Prng): string {
  const country = r.pick(Object.keys(BBAN));
  const b = bban(r, BBAN[country]);
  const compact = country + ibanCheckDigits(country, b) + b;
  return r.next() < 0.5 ? compact : compact.match(/.{1,4}/g)!.join(" ");
}

function ibanLine(r: Prng): CorpusLine {
  const v = iban(r);
  const text = contexts(r, v, [
    ...GENERAL,
    "IBAN: {v}",
    "Please transfer the amount to {v} (BIC DEUTDEFF).",
    "Bank account {v}",
    "iban={v}",
  ]);
  return { text, expect: [{ type: "iban", value: v }] };
}

// --- IP ----------------------------------------------------------------------------

/** A first octet of a host's address: 1–223, not loopback 127 (it identifies no one). */
function firstOctet(r: Prng): number {
  const a = r.int(1, 223);
  return a === 127 ? 128 : a;
}

function ip(r: Prng): string {
  const kind = r.int(0, 9);
  const h = () => r.chars(ALPHABETS.hex, r.int(1, 4)).replace(/^0+(?=.)/, "");
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return `${firstOctet(r)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    case 3:
      return `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    case 4:
      return `192.168.${r.int(0, 255)}.${r.int(1, 254)}`;
    case 5:
      return Array.from({ length: 8 }, h).join(":");
    case 6:
      return `2001:db8::${h()}:${h()}`;
    case 7:
      return `fe80::${h()}:${h()}:${h()}:${h()}`;
    case 8:
      return `::ffff:${firstOctet(r)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    default:
      return `2a00:${h()}:${h()}::${h()}`;
  } // deno-fmt-ignore
}

function ipLine(r: Prng): CorpusLine {
  const v = ip(r);
  const bracket = v.includes(":") && r.next() < 0.3;
  const templates = [
    ...GENERAL,
    "Connection from {v} refused",
    "client_ip={v} method=GET path=/api/v1/items",
    "Server {v} responded in {n} ms",
    "ssh admin@{v}",
  ];
  const text = bracket ? `GET http://[${v}]:8080/health 200` : contexts(r, v, templates);
  return { text, expect: [{ type: "ip", value: v }] };
}

// --- secrets -----------------------------------------------------------------------

function b64url(s: string): string {
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function password(r: Prng): string {
  const w = r.pick(WORDS);
  const cap = w[0].toUpperCase() + w.slice(1);
  const symbols = "!@#$%^&*?";
  return r.pick([
    cap + r.digits(r.int(2, 4)) + r.pick([...symbols]),
    r.chars(ALPHABETS.base62 + symbols, r.int(10, 20)),
    cap + r.pick([...symbols]) + r.pick(WORDS) + r.digits(2),
  ]);
}

function mixed(r: Prng, alphabet: string, n: number): string {
  // Real keys mix cases and digits; regenerate the rare draw that does not.
  for (;;) {
    const s = r.chars(alphabet, n);
    if (/[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s)) return s;
  }
}

function secret(r: Prng): { value: string; text: string } {
  const { base62, base64url } = ALPHABETS;
  const kind = r.int(0, 13);
  let v: string;
  let templates = GENERAL;
  switch (kind) {
    case 0:
      v = r.pick(["AKIA", "ASIA"]) + r.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
      break;
    case 1:
      v = r.pick(["ghp_", "gho_", "ghs_"]) + mixed(r, base62, 36);
      break;
    case 2:
      v = "github_pat_" + mixed(r, base62, 22) + "_" + mixed(r, base62, 59);
      break;
    case 3:
      v = `xox${r.pick(["b", "p"])}-${r.digits(12)}-${r.digits(12)}-${mixed(r, base62, 24)}`;
      break;
    case 4:
      v = r.pick(["sk_live_", "sk_test_", "rk_live_"]) + mixed(r, base62, 24);
      break;
    case 5:
      v = r.pick(["sk-", "sk-proj-"]) + mixed(r, base64url, 48);
      break;
    case 6:
      v = "AIza" + mixed(r, base64url, 35);
      break;
    case 7: {
      const header = b64url(JSON.stringify({ alg: r.pick(["HS256", "RS256"]), typ: "JWT" }));
      const payload = b64url(
        JSON.stringify({ sub: r.digits(8), name: r.pick(FIRST), iat: 1700000000 + r.int(0, 1e7) }),
      );
      v = `${header}.${payload}.${r.chars(base64url, 43)}`;
      break;
    }
    case 8: {
      const kindName = r.pick(["RSA ", "EC ", "OPENSSH ", ""]);
      const lines = Array.from({ length: r.int(2, 5) }, () => r.chars(ALPHABETS.base64, 64));
      v = `-----BEGIN ${kindName}PRIVATE KEY-----\n${
        lines.join("\n")
      }\n-----END ${kindName}PRIVATE KEY-----`;
      templates = [
        "{v}",
        "key file:\n{v}\n",
        '{"private_key": "{v}"}',
        "Use this:\n\n{v}\n\nthanks",
      ];
      break;
    }
    case 9:
    case 10: {
      v = r.pick([
        mixed(r, base62, r.int(20, 40)),
        r.chars(ALPHABETS.hex, r.pick([32, 40])),
        mixed(r, base64url, 32),
      ]);
      templates = [
        "api_key={v}",
        '"client_secret": "{v}"',
        "Authorization: Bearer {v}",
        "X-Auth-Token: {v}",
        "export SERVICE_TOKEN={v}",
        "secret_key = '{v}'",
        "apiKey: {v}",
        "curl -H 'Authorization: Bearer {v}' https://api.example.com",
      ];
      break;
    }
    default: {
      v = password(r);
      templates = [
        "password={v}",
        'DB_PASSWORD="{v}"',
        "password: {v}",
        '{"user": "{w}", "password": "{v}"}',
        "mysql -u root --password={v} db",
        "passwd: {v}",
        "smtp_pass = {v}",
      ];
    }
  } // deno-fmt-ignore
  return { value: v, text: contexts(r, v, templates) };
}

function secretLine(r: Prng): CorpusLine {
  const { value, text } = secret(r);
  return { text, expect: [{ type: "secret", value }] };
}

// --- several values in one line ------------------------------------------------------

function mixedLine(r: Prng): CorpusLine {
  const e = email(r);
  const p = phone(r).value;
  const c = formatCard(r, cardDigits(r));
  const i = ip(r);
  return {
    text: `Order ${r.digits(6)} by ${e}, phone ${p}; paid with ${c} from ${i} on 2024-03-0${
      r.int(1, 9)
    }.`,
    expect: [
      { type: "email", value: e },
      { type: "phone", value: p },
      { type: "credit_card", value: c },
      { type: "ip", value: i },
    ],
  };
}

// --- negatives (look-alikes) ---------------------------------------------------------

function uuid(r: Prng): string {
  const h = ALPHABETS.hex;
  return `${r.chars(h, 8)}-${r.chars(h, 4)}-4${r.chars(h, 3)}-${r.pick(["8", "9", "a", "b"])}${
    r.chars(h, 3)
  }-${r.chars(h, 12)}`;
}

function failingLuhn(r: Prng, len: number, prefix: string): string {
  for (;;) {
    const d = prefix + r.digits(len - prefix.length);
    if (!luhnValid(d)) return d;
  }
}

function isbn13(r: Prng): string {
  const body = "978" + r.digits(9);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  const check = (10 - (sum % 10)) % 10;
  const d = body + check;
  return `${d.slice(0, 3)}-${d.slice(3, 4)}-${d.slice(4, 6)}-${d.slice(6, 12)}-${d.slice(12)}`;
}

function badIban(r: Prng): string {
  const country = r.pick(Object.keys(BBAN));
  const b = bban(r, BBAN[country]);
  const good = ibanCheckDigits(country, b);
  const bad = String((Number(good) + r.int(1, 50)) % 97 + 2).padStart(2, "0");
  return country + (bad === good ? "00" : bad) + b;
}

function negative(r: Prng, i: number): string {
  const h = ALPHABETS.hex;
  const kinds: (() => string)[] = [
    () => `request_id=${uuid(r)} status=200`,
    () => `Trace ${uuid(r)} finished`,
    () => `commit ${r.chars(h, 40)}`,
    () => `Merged ${r.chars(h, 7)} into main`,
    () => `sha256:${r.chars(h, 64)}`,
    () => `md5sum ${r.chars(h, 32)}  archive.tar.gz`,
    () => `version ${r.int(1, 20)}.${r.int(0, 9)}.${r.int(0, 30)}`,
    () => `Chrome/${r.int(100, 130)}.0.${r.int(1000, 6999)}.${r.int(10, 250)} Safari/537.36`,
    () =>
      `Windows version ${r.int(6, 10)}.${r.int(0, 3)}.${r.int(10000, 22631)}.${r.int(100, 4000)}`,
    () => `released v${r.int(0, 9)}.${r.int(0, 40)}.${r.int(0, 9)}-rc.${r.int(1, 5)}`,
    () =>
      `Date: 20${r.int(10, 29)}-${String(r.int(1, 12)).padStart(2, "0")}-${
        String(r.int(1, 28)).padStart(2, "0")
      }`,
    () =>
      `due ${String(r.int(1, 28)).padStart(2, "0")}/${String(r.int(1, 12)).padStart(2, "0")}/20${
        r.int(10, 29)
      }`,
    () =>
      `at 20${r.int(10, 29)}-0${r.int(1, 9)}-1${r.int(0, 9)}T${r.int(10, 23)}:${r.int(10, 59)}:${
        r.int(10, 59)
      }.${r.digits(3)}Z`,
    () => `${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)} worker started`,
    () => `epoch ${r.int(1500000000, 1800000000)}`,
    () => `created_at_ms=${r.int(1500000000, 1800000000)}${r.digits(3)}`,
    () => `Order number ${failingLuhn(r, 16, "4")}`,
    () => `order #${failingLuhn(r, 16, r.pick(["51", "37", "6011"]))} shipped`,
    () => `Invoice ${failingLuhn(r, 16, "4").match(/.{4}/g)!.join("-")} (ref)`,
    () => `ISBN ${isbn13(r)}`,
    () => `ISBN-10: 0-${r.digits(3)}-${r.digits(5)}-${r.int(0, 9)}`,
    () => `Total: $${r.int(1, 999)},${r.digits(3)}.${r.digits(2)}`,
    () => `Preis: ${r.int(1, 999)}.${r.digits(3)},${r.digits(2)} €`,
    () => `USD ${r.int(1, 99)},${r.digits(3)},${r.digits(3)}.${r.digits(2)}`,
    () => `listening on localhost:${r.int(1024, 65535)}`,
    () => `http://127.0.0.1.nip.io:${r.int(1024, 65535)}/`,
    () => `connect to db:${r.int(1000, 9999)} failed`,
    () => `/var/log/${r.pick(WORDS)}/access.log.${r.int(1, 9)}`,
    () => `C:\\Users\\${r.pick(FIRST)}\\Documents\\report_${r.digits(8)}.xlsx`,
    () =>
      `https://example.com/${r.pick(WORDS)}/${r.digits(6)}?page=${r.int(1, 99)}#s${r.int(1, 9)}`,
    () => `https://github.com/acme/${r.pick(WORDS)}/commit/${r.chars(h, 40)}`,
    () => `See https://docs.example.org/v${r.int(1, 5)}/api/${r.pick(WORDS)}.html`,
    () =>
      `SSN placeholder ${r.pick(["000", "666", String(r.int(900, 999))])}-${
        r.digits(2).replace(/^00/, "12")
      }-${r.int(1000, 9999)}`,
    () => `ID ${String(r.int(1, 899)).padStart(3, "0")}-00-${r.int(1000, 9999)}`,
    () => `ID ${String(r.int(1, 665)).padStart(3, "0")}-${r.int(10, 99)}-0000`,
    () => `IBAN-like ${badIban(r)} (bad checksum)`,
    () => `MAC ${Array.from({ length: 6 }, () => r.chars("0123456789ABCDEF", 2)).join(":")}`,
    () => `OID 1.3.6.1.4.1.${r.int(1000, 60000)}.${r.int(1, 9)}`,
    () =>
      `value ${r.int(256, 999)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)} out of range`,
    () =>
      `api_key=${
        r.pick(["YOUR_API_KEY", "<api-key>", "${API_KEY}", "changeme", "xxxxxxxxxxxxxxxx"])
      }`,
    () => `password: ${r.pick(["********", "required", "<hidden>", "${DB_PASSWORD}", "string"])}`,
    () =>
      `const ${r.pick(["tokenizer", "keyboard", "secretary", "passenger"])} = new ${
        r.pick(WORDS)
      }Service();`,
    () => `pip install scikit-learn; import sk-learn-${r.pick(WORDS)}`,
    () => `token_count: ${r.int(1, 99999)}`,
    () => `primary_key: ${r.pick(WORDS)}_${r.pick(WORDS)}_id`,
    () => `Follow @${r.pick(FIRST).toLowerCase()} and use icon@2x.png`,
    () => `npm i @${r.pick(WORDS)}/${r.pick(WORDS)}@${r.int(1, 9)}.${r.int(0, 9)}.${r.int(0, 9)}`,
    () => `git clone git@github.com:acme/${r.pick(WORDS)}.git`,
    () => `ssh ${r.pick(WORDS)}@localhost -p ${r.int(1024, 9999)}`,
    () => `std::vector<int> and ${r.pick(WORDS)}::${r.pick(WORDS)}()`,
    () => `tracking 1Z${r.chars(ALPHABETS.upper + "0123456789", 16)}`,
    () => `Room ${r.int(100, 999)}, floor ${r.int(1, 40)}, ext. ${r.digits(4)}`,
    () => `Population ${r.int(1, 999)} ${r.digits(3)} ${r.digits(3)}`,
    () => `Score ${r.int(0, 100)}/${r.int(100, 200)} in ${r.int(1, 60)}m${r.int(0, 59)}s`,
    () => `lat ${r.int(-89, 89)}.${r.digits(6)}, lon ${r.int(-179, 179)}.${r.digits(6)}`,
    () => `pi = 3.${r.digits(15)}`,
    () => `build ${r.digits(10)} queued`,
    () => `user id ${r.digits(9)} logged in`,
    () => `${r.pick(WORDS)}-${r.digits(4)}-${r.digits(4)}-${r.digits(4)}`,
  ]; // deno-fmt-ignore
  return kinds[i % kinds.length]();
}

/** The generated corpus lines, in file order. */
export function generateCorpus(): CorpusLine[] {
  const r = new Prng(SEED);
  const lines: CorpusLine[] = [];
  const makers = [emailLine, phoneLine, ssnLine, cardLine, ibanLine, ipLine, secretLine];
  for (const make of makers) for (let i = 0; i < PER_TYPE; i++) lines.push(make(r));
  for (let i = 0; i < 30; i++) lines.push(mixedLine(r));
  for (let i = 0; i < 600; i++) lines.push({ text: negative(r, i), expect: [] });
  return lines;
}

/** The corpus serialised as JSON lines. */
export function corpusText(): string {
  return generateCorpus().map((l) => JSON.stringify(l)).join("\n") + "\n";
}

if (import.meta.main) {
  const path = new URL("./corpus/generated.jsonl", import.meta.url);
  await Deno.writeTextFile(path, corpusText());
  console.log(`wrote ${generateCorpus().length} lines to ${path.pathname}`);
}
