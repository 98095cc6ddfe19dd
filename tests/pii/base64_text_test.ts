// Base64 text is redacted in its decoded form (red team n1, N1-18; pii/base64_text.ts): a run of
// the base64 or base64url alphabet that decodes to UTF-8 text holding something is written again,
// in the same alphabet, padding and line wrapping, from that text redacted. Members: GitHub
// contents (one line, wrapped at 60 with `\n`, with `\n` escaped in JSON text, as console.log
// renders it), a Gmail body (base64url, unpadded), `kubectl get secret -o yaml` data, base64 in
// a log line, base64 inside decoded base64. Random binary, text holding nothing, JWTs and hashes
// stay exactly as written; the sync and async paths agree; cost is linear.

import { assert, assertEquals } from "../assert.ts";
import {
  redactText,
  redactTextAsync,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { MAX_BASE64_UNITS } from "../../pii/base64_text.ts";
import { linearityFailures } from "./linearity.ts";

const mask = { mode: "mask" as const };
const PW = "Xk9mQ2pL7vRtYw3zAb4Cd5";
const ENV =
  `DB_HOST=db.internal\nDB_PASSWORD=${PW}\nSTRIPE_SECRET_KEY=sk_live_Hv4nQ8wLm2Tz6Xc9Rb3Ks7Pq\n`;
const MAIL = "Hi, it's Ann Lee (ann.lee@example.com, +1 415 555 0134). Card 4111 1111 1111 1111.";

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const b64url = (s: string) => b64(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const wrap = (s: string, eol = "\n") => s.match(/.{1,60}/g)!.join(eol) + eol;
const unb64 = (s: string) => {
  const std = s.replace(/\s|\\n/g, "").replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  const bin = atob(std + "=".repeat((4 - std.length % 4) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
};

Deno.test("base64 text holding secrets or PII is written again from its redacted text", () => {
  const cases: [string, string, string, string[]][] = [
    // [what, text, the encoded part of the text, values that must not come back]
    ["github content", b64(ENV), b64(ENV), [PW, "sk_live_"]],
    ["github content wrapped", wrap(b64(ENV.repeat(3))), wrap(b64(ENV.repeat(3))), [PW]],
    ["gmail body", b64url(MAIL), b64url(MAIL), ["ann.lee@", "4111 1111", "555 0134"]],
    [
      "kubectl secret yaml",
      `data:\n  DATABASE_URL: ${b64(`postgres://app:${PW}@db/prod`)}\n  config.json: ${
        b64(JSON.stringify({ username: "ann", password: PW }))
      }\n`,
      b64(`postgres://app:${PW}@db/prod`),
      [PW],
    ],
    ["log line", `2026-11-30 INFO payload=${b64(MAIL)} done`, b64(MAIL), ["ann.lee@"]],
    ["nested", b64(`config: ${b64(ENV)}`), b64(`config: ${b64(ENV)}`), [PW]],
  ];
  for (const [what, text, encoded, raw] of cases) {
    const out = redactText(text, mask).text;
    assert(!out.includes(encoded), what);
    const decoded = decodedRuns(decodedRuns(out));
    for (const r of raw) assert(!decoded.includes(r), `${what}: ${r} in ${decoded}`);
    assert(decoded.includes("[REDACTED_"), `${what}: ${decoded}`);
  }
});

/** `text` with every base64 run of 16+ characters (wrapped lines joined) decoded after it. */
function decodedRuns(text: string): string {
  let out = text;
  for (const [run] of text.replaceAll("\n", "").matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
    try {
      out += "\n" + unb64(run);
    } catch { /* not base64 */ }
  }
  return out;
}

Deno.test("re-encoded runs keep their alphabet, padding and wrapping", () => {
  const url = redactText(b64url(MAIL), mask).text;
  assert(!/[+/=]/.test(url), url);
  const wrapped = redactText(wrap(b64(ENV.repeat(3))), mask).text;
  const lines = wrapped.split("\n");
  assert(lines.slice(0, -2).every((l) => l.length === 60), wrapped);
  assertEquals(unb64(wrapped).split("\n")[1], "DB_PASSWORD=[REDACTED_SECRET]");
  // JSON text (the `\n` escaped) and console.log's rendering of an object (one quoted piece
  // per line, joined by `" +`).
  const json = JSON.stringify({ content: wrap(b64(ENV.repeat(3))) });
  const fromJson = JSON.parse(redactText(json, mask).text).content;
  assertEquals(unb64(fromJson).includes(PW), false);
  const rendered = "{\n  content: " +
    wrap(b64(ENV.repeat(3))).split("\n").slice(0, -1).map((l) => `"${l}\\n"`).join(" +\n    ") +
    "\n}";
  const out = redactText(rendered, mask).text;
  const joined = out.replaceAll(/\\n" \+\n {4}"/g, "").replace(/^.*content: "|\\n"\n}$/gs, "");
  assertEquals(unb64(joined).includes(PW), false, out);
});

Deno.test("binary, text holding nothing, JWTs and hashes stay exactly as written", () => {
  const bytes = Uint8Array.from({ length: 600 }, (_, i) => (i * 151 + 89) % 256);
  const binary = btoa(String.fromCharCode(...bytes));
  const plain = b64("Just a README with nothing personal in it at all.\n");
  const jwtHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
  for (
    const text of [
      `blob: ${binary}`,
      wrap(binary),
      `content: ${plain}`,
      `sha: 3f2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a`,
      `id: 7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c`,
      `path: /usr/local/lib/node_modules/some-package/dist/index.js`,
      `header ${jwtHeader}`,
    ]
  ) {
    assertEquals(redactText(text, mask), { text, counts: {} }, text);
  }
});

Deno.test("counts and tokenize placeholders of decoded text agree across paths", async () => {
  const value = {
    file: { encoding: "base64", content: wrap(b64(ENV)) },
    mail: { body: { data: b64url(MAIL) } },
  };
  const sync = redactValue(value, { mode: "tokenize", vault: new Vault({ now: () => 0 }) });
  assertEquals(sync.counts, { secret: 2, email: 1, phone: 1, credit_card: 1 });
  const a = redactValue(value, mask);
  const b = await redactValueAsync(value, { ...mask, thresholdUnits: 0 });
  assertEquals(b, a);
  const text = JSON.stringify(value);
  assertEquals(await redactTextAsync(text, { ...mask, thresholdUnits: 0 }), redactText(text, mask));
});

Deno.test("a text run too long to read is hidden whole; cost is linear", () => {
  const long = btoa("x ".repeat(Math.ceil(MAX_BASE64_UNITS * 3 / 8) + 8));
  assert(long.length > MAX_BASE64_UNITS);
  assertEquals(redactText(`blob: ${long}`, mask), {
    text: "blob: [REDACTED_SECRET]",
    counts: { secret: 1 },
  });
  const b64Unit = (text: string) => b64(text).replaceAll("=", "") + " ";
  assertEquals(
    linearityFailures((t) => redactText(t, mask), [
      ["runs holding addresses", (i) => b64Unit(`ann${i}@example.com `)],
      ["runs of plain text", (i) => b64Unit(`nothing here ${i} `)],
      ["one long run of text", () => "bm90aGluZyBoZXJl"],
      ["wrapped lines", () => "bm90aGluZyBoZXJlbm90aGluZyBoZXJlbm90aGluZyBoZXJl\n"],
      ["binary runs", (i) => btoa(String.fromCharCode(200 + (i % 50), 1, 2)) + " "],
    ]),
    [],
  );
});
