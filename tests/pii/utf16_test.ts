/**
 * UTF-16 text read as bytes (red team f1): Windows PowerShell 5's `>` and `Out-File`, and
 * Excel's "Unicode Text", write UTF-16LE; read back as text, a NUL stands beside every
 * character, a reader still sees `ann.lee@example.com`, and no detector matched across the
 * NULs: a whole CSV of addresses, cards, SSNs and passwords came back raw. Folding drops a NUL
 * that interleaves text; a NUL alone still separates values.
 */

import { assert, assertEquals } from "../assert.ts";
import { closeSharedPool, redactText, redactValueAsync } from "../../pii/mod.ts";
import { startTestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";

const mask = { mode: "mask" as const };
const CSV = "email,card,ssn,iban,ip\r\n" +
  "ann.lee@example.com,4111 1111 1111 1111,078-05-1120,DE89370400440532013000,203.0.113.9\r\n" +
  "password=S3cr3t!Pass\r\n" +
  "phone: +1 415 555 0134\r\n";
const RAW = [
  "ann.lee@example.com",
  "4111 1111 1111 1111",
  "078-05-1120",
  "DE89370400440532013000",
  "203.0.113.9",
  "S3cr3t!Pass",
  "415 555 0134",
];

function le(text: string): string {
  return [...text].map((c) => c + "\0").join("");
}
function be(text: string): string {
  return [...text].map((c) => "\0" + c).join("");
}

/** The raw values a reader of `text` (its NULs ignored) still sees. */
function seen(text: string): string[] {
  const plain = text.replaceAll("\0", "");
  return RAW.filter((raw) => plain.includes(raw));
}

Deno.test("utf-16: text with a NUL beside every character is redacted as its reader sees it", async () => {
  for (const form of [le(CSV), "\ufeff" + le(CSV), be(CSV), le(CSV).slice(1)]) {
    assertEquals(seen(redactText(form, mask).text), []);
    const value = await redactValueAsync({ content: form, rows: [form] }, mask);
    assertEquals(seen(JSON.stringify(value.value)), []);
  }
  // A NUL alone separates values (`/proc/*/environ`, `find -print0`): each value stays whole.
  assertEquals(
    redactText("PASSWORD=S3cr3t!Pass\0HOME=/root\0", mask).text,
    "PASSWORD=[REDACTED_SECRET]\0HOME=/root\0",
  );
  assertEquals(
    redactText("ann@example.com\0bob@example.org\0", mask).text,
    "[REDACTED_EMAIL]\0[REDACTED_EMAIL]\0",
  );
  closeSharedPool();
});

Deno.test({
  name: "utf-16: a UTF-16LE CSV read through the real filesystem server comes back redacted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "airlock-utf16-" });
    try {
      const bytes = new Uint8Array(2 + CSV.length * 2);
      bytes[0] = 0xff;
      bytes[1] = 0xfe;
      for (let i = 0; i < CSV.length; i++) bytes[2 + 2 * i] = CSV.charCodeAt(i);
      await Deno.writeFile(`${root}/customers.csv`, bytes);
      const gw = await startTestGateway({
        servers: { filesystem: filesystemServer(root) },
        pii: { mode: "mask" },
      });
      try {
        const reply = await gw.execute(
          `const f = await filesystem.readTextFile({ path: ${
            JSON.stringify(`${root}/customers.csv`)
          } });
           console.log(f.content ?? f);
           return f.content ?? f;`,
        );
        assertEquals(reply.error, undefined, JSON.stringify(reply.error));
        assert(String(reply.result).includes("\0"), "the file came back as UTF-16 read as text");
        assertEquals(seen(String(reply.result)), []);
        assertEquals(seen(JSON.stringify(reply.logs)), []);
      } finally {
        await gw.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
