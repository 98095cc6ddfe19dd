/** The kinds of personal data and secrets the redaction filter recognises. */
export type PiiType = "email" | "phone" | "ssn" | "credit_card" | "iban" | "ip" | "secret";

/** Every {@linkcode PiiType}, in the order used for reports. */
export const PII_TYPES: readonly PiiType[] = Object.freeze([
  "email",
  "phone",
  "ssn",
  "credit_card",
  "iban",
  "ip",
  "secret",
]);

/** One detected value: `text.slice(start, end) === value`. */
export interface Finding {
  /** What kind of value this is. */
  type: PiiType;
  /** Offset of the first UTF-16 code unit of the value. */
  start: number;
  /** Offset one past the last code unit of the value. */
  end: number;
  /** The matched text. */
  value: string;
}

/** Number of findings per type, e.g. `{ email: 2 }`; absent types count zero. */
export type RedactionCounts = Partial<Record<PiiType, number>>;

/** The word used in placeholders for each type: `[EMAIL_1_kqzmtwa]`, `[REDACTED_CARD]`. */
export const PLACEHOLDER_LABELS: Readonly<Record<PiiType, string>> = Object.freeze({
  email: "EMAIL",
  phone: "PHONE",
  ssn: "SSN",
  credit_card: "CARD",
  iban: "IBAN",
  ip: "IP",
  secret: "SECRET",
});

/** True when `value` is one of the {@linkcode PII_TYPES}. */
export function isPiiType(value: unknown): value is PiiType {
  return typeof value === "string" && (PII_TYPES as readonly string[]).includes(value);
}
