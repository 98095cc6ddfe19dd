// Values with something glued onto them (red team, 2026-11-30): a word, a character or a
// file name written after a value (or on both sides of it) does not hide it, and neither
// does a prefix that makes an e-mail's local part too long, nor a percent-encoded `@`.
// Every FOUND member was missed before (each test fails on the code before the fix); the
// ALONE members are the look-alikes the boundary rules must keep leaving alone.

import { findPii, redactText } from "../../pii/mod.ts";
import { assertEquals } from "../assert.ts";

const HASH = "3f9a".repeat(16); // a 64-hex digest, as file stores prefix names with

/** [what, text, type, value]: the one finding `text` holds. */
const FOUND: [string, string, string, string][] = [
  // Numbers with a word after them (the red team's list, then other separators).
  ["card, `_visa`", "4111111111111111_visa", "credit_card", "4111111111111111"],
  ["card, a letter", "4111111111111111x", "credit_card", "4111111111111111"],
  ["card, `-old`", "4111111111111111-old", "credit_card", "4111111111111111"],
  ["card, `-abcd`", "4111111111111111-abcd", "credit_card", "4111111111111111"],
  ["SSN, `-x`", "078-05-1120-x", "ssn", "078-05-1120"],
  ["card in fours, a letter", "4111 1111 1111 1111x", "credit_card", "4111 1111 1111 1111"],
  ["card, `_` and digits", "4111111111111111_2025", "credit_card", "4111111111111111"],
  ["SSN, `_x`", "078-05-1120_x", "ssn", "078-05-1120"],
  ["SSN, a letter", "078-05-1120x", "ssn", "078-05-1120"],
  ["SSN, a file name", "123-45-6789_W2_2025.pdf", "ssn", "123-45-6789"],
  ["phone, `_cell`", "+14155550134_cell", "phone", "+14155550134"],
  ["phone, a word", "(415) 555-2671home", "phone", "(415) 555-2671"],
  ["phone, grouped, `_work`", "+44 20 7946 0958_work", "phone", "+44 20 7946 0958"],
  ["phone after its word, `_x`", "phone_id=4155552671_x", "phone", "4155552671"],
  ["IPv4, `_host`", "10.1.2.3_host", "ip", "10.1.2.3"],
  ["IPv4, a letter", "10.1.2.3x", "ip", "10.1.2.3"],
  ["IPv6, `_x`", "2001:db8:85a3::8a2e:370:7334_x", "ip", "2001:db8:85a3::8a2e:370:7334"],
  ["IPv6, `_eth0`", "fe80::1_eth0", "ip", "fe80::1"],
  ["IBAN, lower-case word", "DE89370400440532013000old", "iban", "DE89370400440532013000"],
  [
    "IBAN in groups, a letter",
    "DE89 3704 0044 0532 0130 00x",
    "iban",
    "DE89 3704 0044 0532 0130 00",
  ],
  ["AWS key id, a word", "AKIAIOSFODNN7EXAMPLEold", "secret", "AKIAIOSFODNN7EXAMPLE"],
  [
    "Google key, `_old`",
    "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI_old",
    "secret",
    "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
  ],
  // Glued on both sides.
  ["card, `x_` and `_y`", "x_4111111111111111_y", "credit_card", "4111111111111111"],
  ["card, `id` and `x`", "id4111111111111111x", "credit_card", "4111111111111111"],
  ["SSN after a word with digits", "W2_2025_123-45-6789.pdf", "ssn", "123-45-6789"],
  ["IP, `ip-` and `_eth0`", "ip-10.1.2.3_eth0", "ip", "10.1.2.3"],
  // E-mail with something glued after the domain.
  ["e-mail, a file name", "ann.lee@example.com_resume.pdf", "email", "ann.lee@example.com"],
  ["e-mail, `@`", "ann.lee@example.com@", "email", "ann.lee@example.com"],
  ["e-mail, `.txt`", "bob.ray@example.org.txt", "email", "bob.ray@example.org"],
  ["e-mail, a digit", "ann@example.com2", "email", "ann@example.com"],
  ["e-mail, `-old.txt`", "ann@example.com-old.txt", "email", "ann@example.com"],
  // E-mail whose local part, with a prefix glued in front, is over 64 characters.
  ["a digest glued in front", `${HASH}_bob.ray@example.org.txt`, "email", "bob.ray@example.org"],
  [
    "60 letters glued in front",
    "x".repeat(60) + "_ann.lee@example.com",
    "email",
    "ann.lee@example.com",
  ],
  ["100 letters, `-` in front", "y".repeat(100) + "-ann@example.com", "email", "ann@example.com"],
  // Percent-encoded.
  ["`%40`", "GET /u?email=ann.lee%40example.com", "email", "ann.lee%40example.com"],
  ["`%40` and `%2B`", "to=ann%2Blee%40example.com&x=1", "email", "ann%2Blee%40example.com"],
  ["`%2540`", "next=%3Fto%3Dann%2540example.com", "email", "ann%2540example.com"],
];

for (const [what, text, type, value] of FOUND) {
  Deno.test(`glued, found: ${what}`, () => {
    const found = findPii(text).map((f) => [f.type, f.value, text.slice(f.start, f.end)]);
    assertEquals(found, [[type, value, value]], JSON.stringify(text));
  });
}

/** Look-alikes: the digits or the key are the inside of one longer token. */
const ALONE: [string, string][] = [
  ["a hex digest starting with 16 digits", "sha1 4111111111111111a3f9c2e1d0b7a6c5f4e3d2c1"],
  ["digits, letters, digits", "id 4111111111111111b2"],
  ["a compact timestamp", "at 20240115T103000Z"],
  ["a date in a file name", "IMG_20240115_123456.jpg and 2024-01-15_run"],
  ["versions with suffixes", "see v1.2.3.4-beta and python3.11.2.1rc1"],
  ["a UUID", "41111111-1111-4111-a111-111111111111"],
  ["asset and package names", "icon@2x.png, logo@2x-dark.png, jquery@3.6.0.min.js, pkg@1.2.3.tgz"],
  ["a host name holding an address", "127.0.0.1.nip.io"],
  ["an AWS id continued in its alphabet", "AKIAIOSFODNN7EXAMPLEX"],
  ["a Google key continued", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHIx"],
  ["an IBAN continued in its alphabet", "DE89370400440532013000X"],
  ["a MAC address with dashes", "01-23-45-67-89-AB"],
  ["an id in hex groups", "4111-1111-1111-1111-abcd"],
  ["versions with a pre-release tag", "zlib 1.3.0.1-motley, v8 12.4.254.14-node.11"],
  ["malformed IPv6 in tests", "fe80::not-hex [2001:db8::zzzz]"],
  ["a name in code", "--pass-arg=asyncify-imports@env.await_promise_sync"],
  ["a locale", "ks_in@devanagari.utf8"],
  ["a long number cut by the group limit", "4111111111111111-12345678901234567890"],
];

for (const [what, text] of ALONE) {
  Deno.test(`glued, left alone: ${what}`, () => {
    assertEquals(findPii(text).map((f) => [f.type, f.value]), [], JSON.stringify(text));
  });
}

Deno.test("glued: redaction replaces the value and keeps what was glued on", () => {
  const text = `ls: 123-45-6789_W2_2025.pdf ${HASH}_bob.ray@example.org.txt ` +
    "4111111111111111_visa.png +14155550134_cell 10.1.2.3_host ?e=ann%40example.com";
  assertEquals(
    redactText(text, { mode: "mask" }).text,
    `ls: [REDACTED_SSN]_W2_2025.pdf ${HASH}_[REDACTED_EMAIL].txt [REDACTED_CARD]_visa.png ` +
      "[REDACTED_PHONE]_cell [REDACTED_IP]_host ?e=[REDACTED_EMAIL]",
  );
});
