// Differential test: the compiled phone validator (pii/phone_validator.ts) against
// libphonenumber-js itself, on 320,000 generated numbers (seeded), in the
// shapes the numeric detector produces and in every other shape the validator claims to
// handle: with and without `+`, every country's and non-geographic calling code, national
// prefixes, IDD prefixes, separators, 6–17 digit national numbers, random digits and
// near-valid numbers sampled from the metadata's own patterns and example numbers.

import { Metadata } from "libphonenumber-js";
// The example numbers ship with the same package (one mobile number per country).
import examples from "npm:libphonenumber-js@1.13.16/examples.mobile.json";
import { findPii } from "../../pii/mod.ts";
import {
  libphonenumberNationalNumber,
  phoneValidatorCounts,
  validNationalNumber,
  validNationalNumberOfDigits,
} from "../../pii/phone_validator.ts";
import { assert, assertEquals } from "../assert.ts";
import { Prng } from "./prng.ts";

// --- a sampler for the metadata's regular expressions -------------------------------------
// The patterns use digits, `\d`, `[...]` with ranges, `(?:...)`, `|`, `?` and `{n}`,
// `{n,m}`; anything else makes `parse` throw, which the coverage check below would show.

type Node =
  | { kind: "alt"; options: Node[][] }
  | { kind: "chars"; chars: string }
  | { kind: "repeat"; node: Node; min: number; max: number };

function parsePattern(source: string): Node {
  let i = 0;
  const alt = (): Node => {
    const options: Node[][] = [seq()];
    while (source[i] === "|") {
      i++;
      options.push(seq());
    }
    return { kind: "alt", options };
  };
  const seq = (): Node[] => {
    const items: Node[] = [];
    while (i < source.length && source[i] !== "|" && source[i] !== ")") {
      items.push(quantified(atom()));
    }
    return items;
  };
  const atom = (): Node => {
    const c = source[i++];
    if (c === "(") {
      if (source.slice(i, i + 2) !== "?:") throw new Error(`group at ${i} in ${source}`);
      i += 2;
      const node = alt();
      if (source[i++] !== ")") throw new Error(`unclosed group in ${source}`);
      return node;
    }
    if (c === "[") {
      let chars = "";
      while (source[i] !== "]") {
        let from = source[i++];
        if (from === "\\" && source[i] === "d") {
          i++;
          chars += "0123456789";
          continue;
        }
        if (source[i] === "-" && source[i + 1] !== "]") {
          const to = source[i + 1];
          i += 2;
          for (let d = from.charCodeAt(0); d <= to.charCodeAt(0); d++) {
            chars += String.fromCharCode(d);
          }
          continue;
        }
        if (from === "\\") from = source[i++];
        chars += from;
      }
      i++;
      return { kind: "chars", chars };
    }
    if (c === "\\" && source[i] === "d") {
      i++;
      return { kind: "chars", chars: "0123456789" };
    }
    if (/[0-9]/.test(c)) return { kind: "chars", chars: c };
    throw new Error(`unexpected ${c} at ${i - 1} in ${source}`);
  };
  const quantified = (node: Node): Node => {
    if (source[i] === "?") {
      i++;
      return { kind: "repeat", node, min: 0, max: 1 };
    }
    if (source[i] === "{") {
      const end = source.indexOf("}", i);
      const [a, b] = source.slice(i + 1, end).split(",");
      i = end + 1;
      const min = Number(a);
      const max = b === undefined ? min : b === "" ? min + 4 : Number(b);
      return { kind: "repeat", node, min, max };
    }
    return node;
  };
  const node = alt();
  if (i !== source.length) throw new Error(`trailing input in ${source}`);
  return node;
}

function sample(node: Node, rnd: Prng): string {
  switch (node.kind) {
    case "chars":
      return node.chars[rnd.int(0, node.chars.length - 1)];
    case "repeat": {
      let s = "";
      for (let n = rnd.int(node.min, node.max); n > 0; n--) s += sample(node.node, rnd);
      return s;
    }
    case "alt":
      return rnd.pick(node.options).map((n) => sample(n, rnd)).join("");
  }
}

// --- the metadata, as the generator sees it ----------------------------------------------

interface LibPlan {
  callingCode(): string;
  IDDPrefix(): string | 0 | undefined;
  nationalPrefix(): string | 0 | undefined;
  nationalNumberPattern(): string;
  leadingDigits(): string | 0 | undefined;
  type(type: string): { pattern(): string } | undefined;
}

interface Country {
  code: string;
  callingCode: string;
  idd: Node;
  nationalPrefix: string;
  /** National number pattern, type patterns and leading digits, parsed. */
  patterns: Node[];
  leadingDigits: Node | undefined;
  example: string | undefined;
}

const TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "TOLL_FREE",
  "PREMIUM_RATE",
  "PERSONAL_NUMBER",
  "VOICEMAIL",
  "UAN",
  "PAGER",
  "VOIP",
  "SHARED_COST",
];

function loadCountries(): { countries: Country[]; nonGeographic: Country[] } {
  const metadata = new Metadata() as unknown as {
    metadata: { countries: Record<string, unknown>; nonGeographic: Record<string, unknown> };
    numberingPlan: LibPlan;
    selectNumberingPlan(code: string): void;
  };
  const read = (code: string, key: string): Country => {
    metadata.selectNumberingPlan(key);
    const plan = metadata.numberingPlan;
    const patterns = [plan.nationalNumberPattern()];
    for (const type of TYPES) {
      const pattern = plan.type(type)?.pattern();
      if (pattern) patterns.push(pattern);
    }
    const leading = plan.leadingDigits();
    return {
      code,
      callingCode: plan.callingCode(),
      idd: parsePattern(plan.IDDPrefix() || "00"), // non-geographic entities have none
      nationalPrefix: plan.nationalPrefix() || "",
      patterns: patterns.map(parsePattern),
      leadingDigits: leading ? parsePattern(leading) : undefined,
      example: (examples as Record<string, string>)[code],
    };
  };
  return {
    countries: Object.keys(metadata.metadata.countries).map((c) => read(c, c)),
    nonGeographic: Object.keys(metadata.metadata.nonGeographic).map((cc) => read("001", cc)),
  };
}

const { countries, nonGeographic } = loadCountries();
const DETECTOR_REGIONS = ["US", "GB", "DE", "FR"];

// --- generators ----------------------------------------------------------------------------

/** A national number for `country`: sampled, example, leading digits + tail, or random. */
function nationalNumber(country: Country, rnd: Prng): string {
  const r = rnd.next();
  let n: string;
  if (r < 0.45) n = sample(rnd.pick(country.patterns), rnd);
  else if (r < 0.6 && country.example !== undefined) n = country.example;
  else if (r < 0.7 && country.leadingDigits !== undefined) {
    n = sample(country.leadingDigits, rnd);
    n += rnd.digits(Math.max(0, rnd.int(6, 12) - n.length));
  } else n = rnd.digits(rnd.int(6, 17));
  return rnd.next() < 0.4 ? nearMiss(n, rnd) : n;
}

/** One digit changed, dropped, added or inserted. */
function nearMiss(n: string, rnd: Prng): string {
  const at = rnd.int(0, Math.max(0, n.length - 1));
  switch (rnd.int(0, 3)) {
    case 0:
      return n.slice(0, at) + rnd.digits(1) + n.slice(at + 1);
    case 1:
      return n.slice(0, -1);
    case 2:
      return n + rnd.digits(1);
    default:
      return n.slice(0, at) + rnd.digits(1) + n.slice(at);
  }
}

/** Separators and parentheses between the digits, as people write numbers. */
function decorate(text: string, rnd: Prng): string {
  const r = rnd.next();
  if (r < 0.7) return text;
  const plus = text.startsWith("+") ? "+" : "";
  const digits = text.slice(plus.length);
  if (r < 0.97) {
    let out = "";
    const sep = rnd.pick([" ", "-", ".", "\u00a0", " - "]);
    for (let i = 0; i < digits.length; i++) {
      if (i > 0 && rnd.next() < 0.25) out += sep;
      out += digits[i];
    }
    if (rnd.next() < 0.3 && out.length > 4) out = "(" + out.slice(0, 3) + ") " + out.slice(3);
    if (rnd.next() < 0.1) out = rnd.pick([" ", "(", "-", "."]) + out + rnd.pick([" ", ")", "."]);
    return plus + out;
  }
  // Outside the fast path's alphabet: extensions, other digits, URIs, stray `+`.
  switch (rnd.int(0, 4)) {
    case 0:
      return text + " ext. " + rnd.digits(rnd.int(1, 4));
    case 1:
      return text.replace(/[0-9]/, (d) => String.fromCharCode(0xff10 + Number(d)));
    case 2:
      return "tel:" + text;
    case 3:
      return text + "x" + rnd.digits(2);
    default:
      return digits.slice(0, 3) + "+" + digits.slice(3);
  }
}

type Case = [text: string, region: string | undefined];

/** Every shape the validator handles, for any country. */
function generalCase(rnd: Prng): Case {
  const country = rnd.next() < 0.04 ? rnd.pick(nonGeographic) : rnd.pick(countries);
  const national = nationalNumber(country, rnd);
  const geographic = country.code !== "001";
  const region = (): string | undefined => {
    const r = rnd.next();
    if (r < 0.5 && geographic) return country.code;
    if (r < 0.75) return rnd.pick(DETECTOR_REGIONS);
    if (r < 0.95) return rnd.pick(countries).code;
    return rnd.pick([undefined, "XX", "001"]);
  };
  let text: string;
  let home: string | undefined;
  switch (rnd.int(0, 6)) {
    case 0:
      text = "+" + country.callingCode + national;
      home = rnd.next() < 0.5 ? undefined : region();
      break;
    case 1: // an international number written with its national prefix
      text = "+" + country.callingCode + country.nationalPrefix + national;
      break;
    case 2:
      text = (rnd.next() < 0.6 ? country.nationalPrefix : "") + national;
      home = region();
      break;
    case 3: // the calling code without `+`
      text = country.callingCode + national;
      home = region();
      break;
    case 4: { // an IDD prefix of the default country
      const from = rnd.pick(countries);
      home = from.code;
      text = sample(from.idd, rnd) + country.callingCode + national;
      break;
    }
    case 5:
      text = rnd.digits(rnd.int(1, 3)) + national;
      home = region();
      break;
    default:
      text = (rnd.next() < 0.5 ? "+" : "") + rnd.digits(rnd.int(2, 19));
      home = region();
  }
  return [decorate(text, rnd), home];
}

/** What pii/detect_numbers.ts asks: `+` numbers, NANP numbers for US, trunk-0 numbers. */
function detectorCase(rnd: Prng): Case {
  const nanp = countries.filter((c) => c.callingCode === "1");
  switch (rnd.int(0, 5)) {
    case 0:
      return ["+" + rnd.digits(rnd.int(8, 15)), undefined];
    case 1: {
      const country = rnd.next() < 0.1 ? rnd.pick(nonGeographic) : rnd.pick(countries);
      return ["+" + country.callingCode + nationalNumber(country, rnd), undefined];
    }
    case 2: {
      const n = rnd.next() < 0.5
        ? rnd.digits(1).replace("0", "2") + rnd.digits(9)
        : "1" + rnd.digits(10);
      return [n, "US"];
    }
    case 3: {
      const national = nationalNumber(rnd.pick(nanp), rnd);
      return [(rnd.next() < 0.3 ? "1" : "") + national, "US"];
    }
    case 4:
      return ["0" + rnd.digits(rnd.int(9, 10)), rnd.pick(DETECTOR_REGIONS.slice(1))];
    default: {
      const country = rnd.pick(countries.filter((c) => ["GB", "DE", "FR"].includes(c.code)));
      const prefix = rnd.next() < 0.1 ? "00" + rnd.pick(["44", "49", "33", "1"]) : "0";
      return [prefix + nationalNumber(country, rnd), rnd.pick(DETECTOR_REGIONS.slice(1))];
    }
  }
}

interface Outcome {
  /** libphonenumber's national number per case (undefined: not valid). */
  expected: (string | undefined)[];
  valid: number;
  mismatches: string[];
}

function compare(cases: Case[]): Outcome {
  const outcome: Outcome = { expected: [], valid: 0, mismatches: [] };
  for (const [text, region] of cases) {
    const expected = libphonenumberNationalNumber(text, region);
    const actual = validNationalNumber(text, region);
    outcome.expected.push(expected);
    if (expected !== undefined) outcome.valid++;
    if (actual !== expected && outcome.mismatches.length < 10) {
      outcome.mismatches.push(
        `${JSON.stringify(text)} region ${region}: got ${actual}, libphonenumber ${expected}`,
      );
    }
  }
  return outcome;
}

Deno.test("phone validator: same verdict as libphonenumber on 200,000 numbers of every shape", () => {
  const rnd = new Prng(0x9e3779b9);
  const cases = Array.from({ length: 200_000 }, () => generalCase(rnd));
  const outcome = compare(cases);
  assertEquals(outcome.mismatches, []);
  // Not vacuous: a good share is valid, under most calling codes.
  assert(outcome.valid > cases.length * 0.1, `only ${outcome.valid} valid numbers`);
  const callingCodes = new Set<string>();
  cases.forEach(([text], i) => {
    if (outcome.expected[i] === undefined || !text.startsWith("+")) return;
    const digits = text.replace(/[^0-9]/g, "");
    callingCodes.add(digits.slice(0, digits.length - outcome.expected[i]!.length));
  });
  assert(callingCodes.size > 180, `valid numbers under only ${callingCodes.size} calling codes`);
});

Deno.test("phone validator: the detector's calls agree on 100,000 numbers, none falls back", () => {
  const rnd = new Prng(20261129);
  const cases = Array.from({ length: 100_000 }, () => detectorCase(rnd));
  const before = phoneValidatorCounts();
  const outcome = compare(cases);
  const after = phoneValidatorCounts();
  assertEquals(outcome.mismatches, []);
  assert(outcome.valid > cases.length * 0.15, `only ${outcome.valid} valid numbers`);
  assertEquals(after.fallback - before.fallback, 0, "the detector's shapes fell back");
  assertEquals(after.fast - before.fast, cases.length);
  // The entry the detector calls, with the digits and the `+` apart.
  const mismatches: string[] = [];
  cases.forEach(([text, region], i) => {
    const plus = text.startsWith("+");
    const actual = validNationalNumberOfDigits(plus ? text.slice(1) : text, plus, region);
    if (actual !== outcome.expected[i] && mismatches.length < 10) {
      mismatches.push(`${text} ${region}: ${actual}, libphonenumber ${outcome.expected[i]}`);
    }
  });
  assertEquals(mismatches, []);
  assertEquals(phoneValidatorCounts().fallback, after.fallback);
});

Deno.test("phone validator: one national number under every calling code in turn", () => {
  // Consecutive calls that differ only in the calling code (the validator keeps a
  // one-entry memo of the country chosen for a national number).
  const rnd = new Prng(44);
  const cases: Case[] = [];
  for (let i = 0; i < 40; i++) {
    const national = nationalNumber(rnd.pick(countries), rnd);
    for (const country of [...countries, ...nonGeographic]) {
      cases.push(["+" + country.callingCode + national, undefined]);
      if (country.code !== "001") cases.push([national, country.code]);
    }
  }
  const outcome = compare(cases);
  assertEquals(outcome.mismatches, []);
  assert(outcome.valid > 100, `only ${outcome.valid} valid numbers`);
});

Deno.test("phone validator: known verdicts", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["+44 20 7946 0958", undefined, "2079460958"],
    ["020 7946 0958", "GB", "2079460958"],
    ["0044 20 7946 0958", "GB", "2079460958"], // IDD prefix of the default country
    ["(415) 555-2671", "US", "4155552671"],
    ["14155552671", "US", "4155552671"], // calling code without `+`
    ["+1 268 464 1234", undefined, "2684641234"], // Antigua: leading digits under +1
    ["+1 555 555 2671", undefined, undefined],
    ["+800 1234 5678", undefined, "12345678"], // non-geographic
    ["030 1234567", "DE", "301234567"],
    ["06 12 34 56 78", "FR", "612345678"],
    ["+0 123 456", undefined, undefined],
    ["12", "US", undefined],
    ["+1 415 555 2671 ext. 7", undefined, "4155552671"], // fallback
  ];
  for (const [text, region, expected] of cases) {
    assertEquals(libphonenumberNationalNumber(text, region), expected, text);
    assertEquals(validNationalNumber(text, region), expected, text);
  }
});

Deno.test("phone validator: the numeric detector validates phone numbers on the fast path", () => {
  const rnd = new Prng(7);
  const parts: string[] = [];
  const group = (n: number) => String(rnd.int(2, 9)) + rnd.digits(n - 1);
  for (let i = 0; i < 300; i++) {
    const nanp = `${group(3)} ${group(3)} ${rnd.digits(4)}`;
    const gb = `+44 ${rnd.digits(2)} ${rnd.digits(4)} ${rnd.digits(4)}`;
    const trunk = `0${rnd.digits(2)} ${rnd.digits(4)} ${rnd.digits(4)}`;
    parts.push(`call ${nanp}, ${gb}; ${trunk}.`);
  }
  const before = phoneValidatorCounts();
  const found = findPii(parts.join("\n"), ["phone"]);
  const after = phoneValidatorCounts();
  assert(found.length > 300, `only ${found.length} phone numbers found`);
  assert(after.fast - before.fast >= 850, `${after.fast - before.fast} fast validations`);
  assertEquals(after.fallback - before.fallback, 0);
});
