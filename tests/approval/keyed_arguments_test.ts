/**
 * What an approver is shown of structured arguments: each value judged with its key as
 * context, as the detectors judge `key: value` in text (red team d1: a password, an SSN or a
 * phone number under its key was shown raw, since each string was redacted alone), through
 * `renderArguments` with the real redaction, in every view (full and shortened): nested
 * arrays inherit their key, numbers under a key, look-alikes that stay, and keys still
 * redacted on their own.
 */

import { assert, assertEquals } from "../assert.ts";
import { renderArguments } from "../../gateway/approval/mod.ts";
import { redactKeyedText, Vault } from "../../pii/mod.ts";
import { untag } from "../placeholders.ts";

/** The real redaction an execution gives its gate (tokenize, one vault). */
function redactor() {
  const vault = new Vault();
  return (text: string, key?: string) =>
    redactKeyedText(text, key, { mode: "tokenize", vault }).text;
}

const RAW = ["S3cr3t!Pass", "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J", "078051120", "78051120", "4155550134"];

Deno.test("keyed arguments: values under credential, SSN and phone keys are not shown", () => {
  const args = {
    path: "/etc/app/config.json",
    content: {
      db: { password: "S3cr3t!Pass", port: 5432 },
      api_key: "k9Zq3Xw7Lm2Pn8Rt4Vy6Hs1J",
      customer: { ssn: "078051120", phone: 4155550134, id: 4155559876, count: 78051121 },
    },
    ssn: [[78051120]],
  };
  const shown = renderArguments(args, redactor());
  assertEquals(RAW.filter((raw) => shown.text.includes(raw)), [], shown.text);
  assertEquals(shown.shortened, false);
  assertEquals(untag(JSON.parse(shown.text)), {
    path: "/etc/app/config.json",
    content: {
      db: { password: "[SECRET_1]", port: 5432 },
      api_key: "[SECRET_2]",
      customer: { ssn: "[SSN_1]", phone: "[PHONE_1]", id: 4155559876, count: 78051121 },
    },
    // The same SSN, once a string and once a number without its leading zero.
    ssn: [["[SSN_1]"]],
  });
});

Deno.test("keyed arguments: in a shortened view too, and keys are still redacted alone", () => {
  // Hundreds of entries force a tighter view; every one is redacted before it is rendered.
  const rows = Array.from({ length: 400 }, (_, i) => ({
    phone: `41555${String(10000 + i)}`,
    password: `S3cr3t!Pass${i}`,
  }));
  const shown = renderArguments(
    { rows, "ann@example.com": { token: "Zx9aB3cD4eF5gH6iJ7kL8" } },
    redactor(),
  );
  assert(shown.shortened, "the view is shortened");
  assert(
    !/41555\d{5}|S3cr3t!Pass|ann@example\.com|Zx9aB3cD4eF5gH6iJ7kL8/.test(shown.text),
    shown.text,
  );
  assert(shown.text.includes('"[EMAIL_1_'), "the key is redacted on its own");
});
