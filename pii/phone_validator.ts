// Phone-number validity with libphonenumber-js's verdict, without its per-call cost.
//
// `parsePhoneNumberFromString(text, region)?.isValid()` costs 10–30 µs: every step builds a
// fresh `Metadata` object and a fresh `RegExp` from the metadata strings, and a number under
// a shared calling code (+1: 25 countries) is tried against each country's type patterns in
// turn. This module runs the same algorithm (parse.js, extractCountryCallingCode.js,
// extractNationalNumber.js, getCountryByNationalNumber.js, isValid.js of the pinned
// version) over data compiled once from the same metadata (`metadata.min.json`, what the
// package's default entry point uses): anchored regular expressions per numbering plan,
// one regular expression per plan and length for "valid for some number type", and one
// per shared calling code and length that picks the country the way the library's loop
// does (first country in metadata order whose leading digits or type patterns match).
//
// Only input made of ASCII digits, one leading `+` and the separators ` -.()` (and
// no-break space) takes the fast path; anything else (other scripts' digits, letters,
// extensions, RFC 3966 URIs) is handed to libphonenumber itself, and counted, so that
// correctness never depends on this module's coverage. tests/pii/phone_validator_test.ts
// compares both on a few hundred thousand generated numbers.

import { type CountryCode, Metadata, parsePhoneNumberFromString } from "libphonenumber-js";

/** What {@linkcode phoneValidatorCounts} reports. */
export interface PhoneValidatorCounts {
  /** Calls answered by the compiled validator. */
  fast: number;
  /** Calls handed to libphonenumber (input outside the fast path's alphabet). */
  fallback: number;
}

const counts: PhoneValidatorCounts = { fast: 0, fallback: 0 };

/** How many calls took the fast path and how many fell back to libphonenumber, so far. */
export function phoneValidatorCounts(): PhoneValidatorCounts {
  return { ...counts };
}

/**
 * The national (significant) number of `text` when libphonenumber-js judges it a valid
 * phone number, else `undefined`: exactly
 * `parsePhoneNumberFromString(text, defaultCountry)` followed by `isValid()` and
 * `.nationalNumber`, with the package's default (min) metadata.
 *
 * `text` is a phone number as written (`+44 20 7946 0958`, `(415) 555-2671`, digits only);
 * `defaultCountry` is an ISO 3166-1 alpha-2 code used for numbers without `+` (an unknown
 * code is ignored, as libphonenumber ignores it). Never throws. Well under a microsecond
 * on the fast path (input longer than 250 UTF-16 code units is rejected at
 * once, as libphonenumber rejects it).
 */
export function validNationalNumber(text: string, defaultCountry?: string): string | undefined {
  const compiled = getCompiled();
  const digits = compiled === undefined ? FALLBACK : normalize(text);
  if (digits === FALLBACK) {
    counts.fallback++;
    return libphonenumberNationalNumber(text, defaultCountry);
  }
  counts.fast++;
  if (digits === undefined) return undefined;
  return validate(compiled!, digits, normalizedPlus, defaultCountry);
}

/**
 * {@linkcode validNationalNumber} for a number already reduced to its digits, as the
 * numeric detector builds it: `digits` are ASCII digits only (anything else gives an
 * unspecified answer), written after a `+` when `international` is true. Saves joining
 * `"+" + digits` and reading it again for separators.
 */
export function validNationalNumberOfDigits(
  digits: string,
  international: boolean,
  defaultCountry?: string,
): string | undefined {
  const compiled = getCompiled();
  if (compiled === undefined) {
    counts.fallback++;
    return libphonenumberNationalNumber((international ? "+" : "") + digits, defaultCountry);
  }
  counts.fast++;
  // The length cap and the viability check of `normalize`.
  if (digits.length + (international ? 1 : 0) > MAX_INPUT_LENGTH) return undefined;
  if (digits.length < 3 && (digits.length !== 2 || international)) return undefined;
  return validate(compiled, digits, international, defaultCountry);
}

/** libphonenumber's own answer (the reference, and the fallback). */
export function libphonenumberNationalNumber(
  text: string,
  defaultCountry?: string,
): string | undefined {
  const parsed = parsePhoneNumberFromString(text, defaultCountry as CountryCode | undefined);
  return parsed !== undefined && parsed.isValid() ? parsed.nationalNumber : undefined;
}

// --- input --------------------------------------------------------------------------------

const FALLBACK = "fallback";
/** libphonenumber's MAX_INPUT_STRING_LENGTH: longer text is not parsed at all. */
const MAX_INPUT_LENGTH = 250;

/** Whether the number {@linkcode normalize} returned last had a leading `+`. */
let normalizedPlus = false;

/**
 * The digits of `text` (what libphonenumber's extraction, viability check and
 * `parseIncompletePhoneNumber` leave of it, without the `+`, which goes to
 * {@linkcode normalizedPlus}), `undefined` when libphonenumber rejects it before looking
 * at metadata, or {@linkcode FALLBACK} when `text` has characters this function does not
 * model.
 */
function normalize(text: string): string | undefined | typeof FALLBACK {
  const n = text.length;
  if (n > MAX_INPUT_LENGTH) return undefined;
  // The common case: digits, perhaps after one `+`.
  let i = n > 0 && text.charCodeAt(0) === 43 ? 1 : 0;
  const plus = i === 1;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (i === n) {
    const digits = plus ? n - 1 : n;
    normalizedPlus = plus;
    // The viability check: three digits, or exactly two without a `+`.
    if (digits < 3 && (digits !== 2 || plus)) return undefined;
    return plus ? text.slice(1) : text;
  }
  let digits = "";
  let started = false;
  let withPlus = false;
  let first = -1;
  let last = -1;
  for (i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      started = true;
      digits += text[i];
      if (first < 0) first = i;
      last = i;
    } else if (c === 43 /* + */) {
      // A `+` starts the number only before any digit; anywhere else the viability
      // pattern fails (`+` is not punctuation), so the text is not a phone number.
      if (started) return undefined;
      started = true;
      withPlus = true;
    } else if (c === 32 || c === 45 || c === 46 || c === 40 || c === 41 || c === 160) {
      // ` -.()` and no-break space: the extraction cuts them off at both ends, and
      // parseIncompletePhoneNumber drops them in between.
    } else return FALLBACK;
  }
  // What the extraction leaves must be `[+]?(?:[punct]*[digit]){3,}[punct|digit]*`, or
  // exactly two digits with nothing between them.
  if (digits.length < 3 && (digits.length !== 2 || withPlus || last - first !== 1)) {
    return undefined;
  }
  normalizedPlus = withPlus;
  return digits;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// --- compiled metadata ----------------------------------------------------------------------

/** The ten number types of the metadata, in the order getNumberType.js tries them. */
const NUMBER_TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
] as const;

/** The accessors of libphonenumber-js's (untyped) `NumberingPlan` and `Type` objects. */
interface LibNumberingPlan {
  callingCode(): string;
  IDDPrefix(): string | undefined;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | 0 | undefined;
  nationalPrefixTransformRule(): string | 0 | undefined;
  leadingDigits(): string | 0 | undefined;
  hasTypes(): boolean;
  type(type: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

/** The parts of libphonenumber-js's `Metadata` class this module reads. */
interface LibMetadata {
  metadata: {
    countries: Record<string, unknown>;
    country_calling_codes: Record<string, string[]>;
    nonGeographic?: Record<string, unknown>;
  };
  numberingPlan?: LibNumberingPlan;
  selectNumberingPlan(countryOrCallingCode: string): void;
  hasCallingCode(callingCode: string): boolean | undefined;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
}

/** One numbering plan (a country, or a non-geographic calling code), compiled. */
interface Plan {
  /** ISO 3166-1 alpha-2 code; undefined for a non-geographic entity. */
  country: string | undefined;
  callingCode: string;
  /** The IDD prefix when it is a plain digit string (`00`, `011`): a `startsWith`. */
  iddLiteral: string | undefined;
  /** `^(?:idd_prefix)` otherwise (the library's `search(idd) === 0`). */
  idd: RegExp | undefined;
  /** `^(?:national_prefix_for_parsing)` (the library falls back to the national prefix). */
  prefixForParsing: RegExp | undefined;
  /**
   * The same prefix when it is plain digit strings (`0`, `1`, `0|180020`): tried in
   * order with `startsWith`, as the alternation tries them (no match object to build).
   */
  prefixLiterals: string[] | undefined;
  transformRule: string | undefined;
  /** `^(?:national_number_pattern)$`. */
  nationalNumber: RegExp;
  nationalNumberSource: string;
  /** Possible lengths of a national number, ascending. */
  lengths: readonly number[] | undefined;
  /** `^(?:leading_digits)`: the library's `search(leadingDigits) === 0`. */
  leadingDigits: RegExp | undefined;
  /** Whether the plan carries type patterns (isValid then asks getNumberType). */
  typed: boolean;
  /** Type patterns with their possible lengths (the plan's when the type has none). */
  types: { pattern: string; lengths: readonly number[] | undefined }[];
  /** Per length: `^(?=(?:nnp)$)(?:type patterns of that length)$`, or null (none). */
  typeByLength: (RegExp | null | undefined)[];
  /**
   * In a shared calling code, a country that the selector tries on its type patterns
   * (typed, no leading digits): the selector's answer is then also its validity.
   */
  selectedByType: boolean;
}

/** A calling code and the countries that share it. */
interface CallingCode {
  code: string;
  /** The plan used when only the calling code is known: the main country's, or the entity's. */
  plan: Plan;
  /** The countries, main one first (metadata order); undefined for a non-geographic code. */
  countries: readonly Plan[] | undefined;
  /** For several countries, per national number length: the country selector. */
  selectors: (Selector | undefined)[];
}

/** getCountryByNationalNumber's loop as expressions (see {@linkcode selectCountry}). */
interface Selector {
  /** The first country, when tried on its own (it has no marker group). */
  first: Plan | undefined;
  firstRegex: RegExp | null;
  /** The other countries' alternatives without markers: most numbers match none. */
  test: RegExp | null;
  /** The same with a marker group per alternative. */
  regex: RegExp | null;
  /** The country of each marker group, in group order. */
  countries: Plan[];
}

interface Compiled {
  /** Plans by ISO country code. */
  countries: Map<string, Plan>;
  /** Calling codes by numeric value (calling codes never start with 0). */
  callingCodes: (CallingCode | undefined)[];
  /** The calling code of each plan. */
  codeOf: Map<Plan, CallingCode>;
}

let compiled: Compiled | undefined | null = null;

/**
 * The compiled metadata, built on first use; `undefined` when it cannot be exact (or the
 * library's internals are not what this module reads): every call then falls back.
 */
function getCompiled(): Compiled | undefined {
  if (compiled === null) {
    try {
      compiled = compile();
    } catch {
      compiled = undefined;
    }
  }
  return compiled;
}

/** Capture groups in a pattern (combined expressions find countries by group number). */
function groupCount(source: string): number {
  return new RegExp("(?:" + source + ")|").exec("")!.length - 1;
}

function compile(): Compiled | undefined {
  const metadata = new Metadata() as unknown as LibMetadata;
  const json = metadata.metadata;
  let exact = true;
  const plan = (lib: LibNumberingPlan, country: string | undefined): Plan => {
    const idd = lib.IDDPrefix();
    const prefix = lib.nationalPrefixForParsing();
    const rule = lib.nationalPrefixTransformRule();
    const leading = lib.leadingDigits();
    const nnp = lib.nationalNumberPattern();
    const types: Plan["types"] = [];
    if (lib.hasTypes()) {
      for (const name of NUMBER_TYPES) {
        const type = lib.type(name);
        // isNumberTypeEqualTo: a type without a pattern ("" = same as fixed line) never matches.
        if (type === undefined || !type.pattern()) continue;
        types.push({ pattern: type.pattern(), lengths: type.possibleLengths() });
      }
    }
    // A capture group inside a pattern would shift the selector's marker groups.
    for (const source of [nnp, leading || "", ...types.map((t) => t.pattern)]) {
      if (groupCount(source) !== 0) exact = false;
    }
    const literal = idd !== undefined && /^[0-9]+$/.test(idd);
    return {
      country,
      callingCode: lib.callingCode(),
      iddLiteral: literal ? idd : undefined,
      idd: idd && !literal ? new RegExp("^(?:" + idd + ")") : undefined,
      prefixForParsing: prefix ? new RegExp("^(?:" + prefix + ")") : undefined,
      prefixLiterals: prefix && /^[0-9]+(?:\|[0-9]+)*$/.test(prefix)
        ? prefix.split("|")
        : undefined,
      transformRule: rule || undefined,
      nationalNumber: new RegExp("^(?:" + nnp + ")$"),
      nationalNumberSource: nnp,
      lengths: lib.possibleLengths(),
      leadingDigits: leading ? new RegExp("^(?:" + leading + ")") : undefined,
      typed: lib.hasTypes(),
      types,
      typeByLength: [],
      selectedByType: false,
    };
  };
  const countries = new Map<string, Plan>();
  for (const country of Object.keys(json.countries)) {
    metadata.selectNumberingPlan(country);
    countries.set(country, plan(metadata.numberingPlan!, country));
  }
  const callingCodes: (CallingCode | undefined)[] = [];
  const codeOf = new Map<Plan, CallingCode>();
  const codes = [
    ...Object.keys(json.country_calling_codes),
    ...Object.keys(json.nonGeographic ?? {}),
  ];
  for (const code of codes) {
    if (!metadata.hasCallingCode(code) || !/^[1-9][0-9]{0,2}$/.test(code)) continue;
    const list = metadata.getCountryCodesForCallingCode(code)?.map((c) => countries.get(c)!);
    let main: Plan;
    if (list !== undefined) main = list[0];
    else {
      metadata.selectNumberingPlan(code);
      main = plan(metadata.numberingPlan!, undefined);
    }
    const entry: CallingCode = { code, plan: main, countries: list, selectors: [] };
    callingCodes[Number(code)] = entry;
    for (const p of list ?? [main]) {
      codeOf.set(p, entry);
      p.selectedByType = list !== undefined && list.length > 1 && p.typed &&
        p.leadingDigits === undefined;
    }
  }
  // Every country's own calling code must be one of the codes above.
  for (const p of countries.values()) if (!codeOf.has(p)) exact = false;
  return exact ? { countries, callingCodes, codeOf } : undefined;
}

// --- the algorithm (libphonenumber-js parse + isValid, for digit strings) -------------------

/**
 * parse.js with `v2`, then isValid.js, for `number` (ASCII digits, viable) written
 * after a `+` when `international`: the national (significant) number when valid.
 */
function validate(
  c: Compiled,
  number: string,
  international: boolean,
  region: string | undefined,
): string | undefined {
  const national = parse(c, number, international, region);
  // The memo serves one call only; it must not keep a slice of the caller's text alive.
  memoCode = undefined;
  memoNational = "";
  memoCountry = undefined;
  return national;
}

function parse(
  c: Compiled,
  number: string,
  international: boolean,
  region: string | undefined,
): string | undefined {
  // parsePhoneNumber_.js: an unsupported default country is dropped.
  const home = region === undefined ? undefined : c.countries.get(region);
  // extractCountryCallingCode.js
  let code: CallingCode | undefined;
  let rest = number;
  if (!international && home !== undefined) {
    // stripIddPrefix.js: an IDD prefix followed by a digit other than 0 makes the
    // number international.
    let idd = -1;
    if (home.iddLiteral !== undefined) {
      if (number.startsWith(home.iddLiteral)) idd = home.iddLiteral.length;
    } else if (home.idd !== undefined) {
      const m = home.idd.exec(number);
      if (m !== null) idd = m[0].length;
    }
    if (idd > 0 && idd < number.length && number.charCodeAt(idd) !== 48) {
      number = number.slice(idd);
      international = true;
    } else if (callingCodeWithoutPlus(c, number, home)) {
      // extractCountryCallingCodeFromInternationalNumberWithoutPlusSign.js
      code = c.codeOf.get(home)!;
      rest = number.slice(home.callingCode.length);
    }
  }
  if (international) {
    if (number.charCodeAt(0) === 48) return undefined; // calling codes never start with 0
    // The shortest of the first one to three digits that is a calling code (no calling
    // code is a prefix of another).
    let value = 0;
    for (let i = 0; i < 3 && i < number.length; i++) {
      value = value * 10 + number.charCodeAt(i) - 48;
      code = c.callingCodes[value];
      if (code !== undefined) {
        rest = number.slice(i + 1);
        break;
      }
    }
    if (code === undefined) return undefined;
  }
  // parse.js parsePhoneNumber()
  let country: Plan | undefined;
  let plan: Plan;
  if (code !== undefined) plan = code.plan;
  else if (home !== undefined) {
    country = plan = home;
    code = c.codeOf.get(home)!;
  } else return undefined; // national number and no default country
  if (rest === "") return undefined; // no national number: TOO_SHORT
  const national = extractNationalNumber(c, rest, plan);
  const exact = selectCountry(code, national);
  if (exact !== undefined) country = exact;
  // parse.js: a national (significant) number has 2 to 17 digits.
  if (national.length < 2 || national.length > 17) return undefined;
  // isValid.js: the country's plan, or the calling code's.
  const valid = country ?? code.plan;
  let ok: boolean;
  if (!valid.typed) ok = valid.nationalNumber.test(national);
  else if (valid.selectedByType) {
    // `valid` shares `code` with other countries, so the selector has just tried its
    // type patterns on `national`: they matched if and only if it was chosen.
    ok = exact === valid;
  } else ok = typeValid(valid, national);
  return ok ? national : undefined;
}

/**
 * extractCountryCallingCodeFromInternationalNumberWithoutPlusSign.js: whether `number`
 * starts with the default country's calling code and is better read without it.
 */
function callingCodeWithoutPlus(c: Compiled, number: string, home: Plan): boolean {
  const code = home.callingCode;
  if (!number.startsWith(code)) return false;
  const national = extractNationalNumber(c, number, home);
  if (lengthCheck(national.length, home.lengths) === TOO_LONG) return true;
  if (home.nationalNumber.test(national)) return false;
  const shorterNational = extractNationalNumber(c, number.slice(code.length), home);
  return home.nationalNumber.test(shorterNational);
}

/** extractNationalNumber.js: `number` without its national prefix, when it should go. */
function extractNationalNumber(c: Compiled, number: string, plan: Plan): string {
  const stripped = stripNationalPrefix(number, plan);
  if (stripped === number) return number;
  // shouldHaveExtractedNationalPrefix(): not when that turns a viable number into a
  // non-viable one.
  if (plan.nationalNumber.test(number) && !plan.nationalNumber.test(stripped)) return number;
  if (plan.lengths) {
    const country = selectCountry(c.codeOf.get(plan)!, stripped);
    const lengths = country !== undefined ? country.lengths : plan.lengths;
    const check = lengthCheck(stripped.length, lengths);
    if (check === TOO_SHORT || check === INVALID_LENGTH) return number;
  }
  return stripped;
}

/** extractNationalNumberFromPossiblyIncompleteNumber.js, national number only. */
function stripNationalPrefix(number: string, plan: Plan): string {
  const pattern = plan.prefixForParsing;
  if (!number || pattern === undefined) return number;
  const literals = plan.prefixLiterals;
  if (literals !== undefined) {
    // No groups: everything the alternation matched is the prefix.
    for (const literal of literals) {
      if (number.startsWith(literal)) return number.slice(literal.length);
    }
    return number;
  }
  const m = pattern.exec(number);
  if (m === null) return number;
  const groups = m.length - 1;
  // The library looks at the *last* group to decide whether groups were captured.
  const captured = groups > 0 && !!m[groups];
  if (plan.transformRule !== undefined && captured) {
    return number.replace(pattern, plan.transformRule);
  }
  return number.slice(m[0].length);
}

const IS_POSSIBLE = 0;
const TOO_SHORT = 1;
const TOO_LONG = 2;
const INVALID_LENGTH = 3;

/** checkNumberLength.js with no type: the same four outcomes, in the same order. */
function lengthCheck(length: number, lengths: readonly number[] | undefined): number {
  if (!lengths) return IS_POSSIBLE;
  const min = lengths[0];
  if (min === length) return IS_POSSIBLE;
  if (min > length) return TOO_SHORT;
  if (lengths[lengths.length - 1] < length) return TOO_LONG;
  return lengths.indexOf(length, 1) >= 0 ? IS_POSSIBLE : INVALID_LENGTH;
}

/** getNumberType(...) !== undefined: the national number pattern and a type pattern match. */
function typeValid(plan: Plan, national: string): boolean {
  const regex = typeRegex(plan, national.length);
  return regex !== null && regex.test(national);
}

/**
 * Per-length expressions are cached for every length a number can have (input is capped
 * at {@linkcode MAX_INPUT_LENGTH}), so no call compiles one twice: at most a few thousand
 * small expressions in all, built only for lengths that occur.
 */
const MAX_CACHED_LENGTH = MAX_INPUT_LENGTH;

/** The source of "a type of `plan` matches a national number of `length`", or null. */
function typeSource(plan: Plan, length: number): string | null {
  const parts: string[] = [];
  for (const type of plan.types) {
    // isNumberTypeEqualTo: the type's possible lengths are checked before its pattern.
    if (type.lengths && type.lengths.indexOf(length) < 0) continue;
    parts.push("(?:" + type.pattern + ")");
  }
  if (parts.length === 0) return null;
  return "(?=(?:" + plan.nationalNumberSource + ")$)(?:" + parts.join("|") + ")$";
}

function typeRegex(plan: Plan, length: number): RegExp | null {
  let regex = length <= MAX_CACHED_LENGTH ? plan.typeByLength[length] : undefined;
  if (regex === undefined) {
    const source = typeSource(plan, length);
    regex = source === null ? null : new RegExp("^" + source);
    if (length <= MAX_CACHED_LENGTH) plan.typeByLength[length] = regex;
  }
  return regex;
}

/**
 * One-entry memo of {@linkcode selectCountry} within one call: extractNationalNumber asks
 * for the number's country first, and the result is asked again for the same number.
 */
let memoCode: CallingCode | undefined;
let memoNational = "";
let memoCountry: Plan | undefined;

/**
 * getCountryByCallingCode.js: the single country of a calling code, or, for a shared
 * one, the first country (metadata order) whose leading digits start `national` or, for
 * a country without leading digits, one of whose number types `national` is. One
 * expression per calling code and length runs that whole loop: an alternative per
 * country, each ending in an empty group that marks the country that matched.
 */
function selectCountry(code: CallingCode, national: string): Plan | undefined {
  const list = code.countries;
  if (list === undefined) return undefined;
  if (list.length === 1) return list[0];
  if (memoCode === code && memoNational === national) return memoCountry;
  const length = national.length;
  let selector = length <= MAX_CACHED_LENGTH ? code.selectors[length] : undefined;
  if (selector === undefined) {
    selector = buildSelector(list, length);
    if (length <= MAX_CACHED_LENGTH) code.selectors[length] = selector;
  }
  let country: Plan | undefined;
  if (selector.firstRegex !== null && selector.firstRegex.test(national)) {
    country = selector.first;
  } else if (selector.test !== null && selector.test.test(national)) {
    const m = selector.regex!.exec(national)!;
    country = selector.countries[m.indexOf("", 1) - 1];
  }
  memoCode = code;
  memoNational = national;
  memoCountry = country;
  return country;
}

function buildSelector(list: readonly Plan[], length: number): Selector {
  const alternatives: string[] = [];
  const countries: Plan[] = [];
  let first: Plan | undefined;
  let firstRegex: RegExp | null = null;
  for (const plan of list) {
    let source: string | null;
    if (plan.leadingDigits !== undefined) {
      // `nationalNumber && nationalNumber.search(leadingDigits) === 0`; a country with
      // leading digits is never tried on its type patterns.
      source = length === 0 ? null : plan.leadingDigits.source.slice(1);
    } else source = plan.typed ? typeSource(plan, length) : null;
    if (plan === list[0] && plan.leadingDigits === undefined) {
      // The main country (US, GB, RU…) alone first: it is the usual answer.
      first = plan;
      firstRegex = source === null ? null : new RegExp("^" + source);
      continue;
    }
    if (source === null) continue;
    alternatives.push(source);
    countries.push(plan);
  }
  if (alternatives.length === 0) return { first, firstRegex, test: null, regex: null, countries };
  return {
    first,
    firstRegex,
    test: new RegExp("^(?:" + alternatives.join("|") + ")"),
    regex: new RegExp("^(?:" + alternatives.join("()|") + "())"),
    countries,
  };
}
