/**
 * Red team f1 round 4: a nine-digit SSN after an SSN word, followed by another number (a log
 * line's status code, a count), was read with that number as one trunk-0 phone number
 * (`GET /api/ssn/078051120 200` → `[REDACTED_PHONE]`, the status code swallowed); and a
 * WhatsApp click-to-chat link (`wa.me/<number>`) names a phone number without a phone word.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText } from "../../pii/mod.ts";

const mask = { mode: "mask" as const };

Deno.test("ssn context: the SSN after an SSN word stays an SSN; what follows it stays", () => {
  for (
    const [text, want] of [
      ["GET /api/ssn/078051120 200", "GET /api/ssn/[REDACTED_SSN] 200"],
      ["GET /api/ssn/078051120 200 12ms", "GET /api/ssn/[REDACTED_SSN] 200 12ms"],
      ["ssn 078051120 404", "ssn [REDACTED_SSN] 404"],
      ["customer_ssn=078051120 3 rows", "customer_ssn=[REDACTED_SSN] 3 rows"],
      ["socialSecurity 078051120 2024", "socialSecurity [REDACTED_SSN] 2024"],
    ]
  ) assertEquals(redactText(text, mask).text, want, text);
  // Without an SSN word the nine digits are no SSN, and a phone word still finds its number.
  assertEquals(findPii("order 078051120 200", ["ssn"]), []);
  assertEquals(redactText("phone 4155550134 200", mask).text, "phone [REDACTED_PHONE] 200");
});

Deno.test("ssn context: a wa.me link's number is a phone number", () => {
  for (
    const text of [
      "https://wa.me/14155550134",
      "wa.me/14155550134?text=hi",
      "Chat: https://wa.me/12125551234",
    ]
  ) {
    assertEquals(findPii(text, ["phone"]).length, 1, text);
  }
  assertEquals(findPii("https://example.me/14155550134", ["phone"]), []);
});
