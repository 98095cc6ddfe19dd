// Redaction benchmark: throughput of findPii / redactText on mixed text, redactValue on a
// typical ~20 KB JSON execution response, and worst-case (adversarial) throughput.
//
//   deno run -A bench/redaction.ts
//
// Prints a Markdown section. Figures are best-of-N on one core; the machine is shared,
// so expect noise.

import { findPii, redactText, redactValue, Vault } from "../pii/mod.ts";

/** mulberry32: deterministic inputs, varied values (no memo-friendly repetition). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(7);
const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join("");
const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(0, 15)]).join("");

function luhnComplete(partial: string): string {
  for (let d = 0; d <= 9; d++) {
    const s = partial + d;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let x = Number(s[s.length - 1 - i]);
      if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
      sum += x;
    }
    if (sum % 10 === 0) return s;
  }
  return partial + "0";
}

const WORDS = [
  "the",
  "request",
  "completed",
  "after",
  "retry",
  "customer",
  "invoice",
  "server",
  "returned",
  "status",
  "for",
  "order",
  "shipment",
  "delayed",
  "because",
  "of",
  "weather",
  "please",
  "review",
  "attached",
  "report",
  "and",
  "confirm",
  "by",
  "friday",
  "deployment",
  "pipeline",
  "cache",
  "miss",
  "latency",
  "increased",
]; // deno-fmt-ignore

function sentence(): string {
  const n = int(8, 18);
  const w = Array.from({ length: n }, () => pick(WORDS));
  return w.join(" ") + ". ";
}

/** One chunk of mixed text: prose, logs, JSON and code, with PII at a realistic density. */
function mixedChunk(): string {
  const kind = int(0, 9);
  const email = `${pick(["ann", "bob", "li.wei", "m.rossi"])}${int(1, 999)}@${
    pick(["example.com", "corp.io", "mail.org"])
  }`;
  const phone = `+1 ${pick(["212", "415", "646", "312"])}-${int(200, 999)}-${digits(4)}`;
  const ip = `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  switch (kind) {
    case 0:
      return `${sentence()}Contact ${email} or ${phone}. ${sentence()}`;
    case 1:
      return `2024-0${int(1, 9)}-1${int(0, 9)}T${int(10, 23)}:${int(10, 59)}:${
        int(10, 59)
      }Z INFO req=${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)} client=${ip} path=/api/v${
        int(1, 3)
      }/orders/${digits(6)} ms=${int(1, 900)}\n`;
    case 2:
      return `{"id": ${digits(6)}, "sku": "SKU-${digits(5)}", "price": ${int(1, 999)}.${
        digits(2)
      }, "qty": ${int(1, 20)}, "updated": "2024-05-${int(10, 28)}"}\n`;
    case 3:
      return `commit ${hex(40)}\nAuthor: dev <dev${int(1, 99)}@example.com>\n\n    ${sentence()}\n`;
    case 4:
      return `const total = items.reduce((sum, item) => sum + item.price * item.qty, 0); // v${
        int(1, 9)
      }.${int(0, 20)}.${int(0, 9)}\n`;
    case 5:
      return `Payment with card ${luhnComplete("4" + digits(14))} approved for order ${
        digits(8)
      }. ${sentence()}`;
    case 6:
      return `${sentence()}${sentence()}${sentence()}`;
    case 7:
      return `GET /health 200 ${int(1, 50)}ms from ${ip} user-agent="Mozilla/5.0 Chrome/${
        int(100, 130)
      }.0.${int(1000, 6000)}.${int(10, 99)}"\n`;
    case 8:
      return `${sentence()}Total: $${int(1, 999)},${digits(3)}.${digits(2)} due ${int(1, 28)}/${
        int(1, 12)
      }/2024. ${sentence()}`;
    default:
      return `${sentence()}See https://docs.example.com/guide/${pick(WORDS)}#section-${
        int(1, 9)
      } for details. ${sentence()}`;
  } // deno-fmt-ignore
}

function mixedText(bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const c = mixedChunk();
    parts.push(c);
    n += c.length;
  }
  return parts.join("");
}

/** A typical execution response: ~20 KB of JSON with some PII in it. */
function executionResponse(): unknown {
  const rows = Array.from({ length: 45 }, (_, i) => ({
    id: 10_000 + i,
    name: `${pick(["Ann", "Bob", "Li", "Marco"])} ${pick(["Smith", "Rossi", "Wei"])}`,
    email: i % 4 === 0 ? `user${i}@example.com` : null,
    phone: i % 10 === 0 ? `+44 20 7946 ${digits(4)}` : undefined,
    status: pick(["active", "pending", "closed"]),
    updated: `2024-05-${int(10, 28)}T${int(10, 23)}:${int(10, 59)}:00Z`,
    tags: [pick(WORDS), pick(WORDS)],
    notes: sentence() + sentence(),
    metrics: { visits: int(0, 5000), score: rnd(), ref: `${hex(8)}-${hex(4)}-${hex(4)}` },
  }));
  return {
    result: { count: rows.length, rows },
    logs: Array.from({ length: 10 }, () => ({ level: "log", text: mixedChunk().trim() })),
  };
}

function best(runs: number, f: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function median(runs: number, f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const mb = (chars: number) => chars / 1e6; // ASCII inputs: characters = bytes

const text = mixedText(8_000_000);
const findings = findPii(text);
const findingsCount = findings.length;
const findingsByType: Record<string, number> = {};
for (const f of findings) findingsByType[f.type] = (findingsByType[f.type] ?? 0) + 1;
findPii(text); // warm up
const findMs = best(5, () => findPii(text));
const maskMs = best(3, () => redactText(text, { mode: "mask" }));
const tokenMs = best(3, () => redactText(text, { mode: "tokenize", vault: new Vault() }));

const response = executionResponse();
const responseBytes = JSON.stringify(response).length;
const responseFindings = redactValue(response, { mode: "tokenize" }).counts;
for (let i = 0; i < 50; i++) redactValue(response, { mode: "tokenize", vault: new Vault() });
const perResponseMs = median(
  301,
  () => redactValue(response, { mode: "tokenize", vault: new Vault() }),
);

const adversarial: [string, string][] = [
  ["10 MB of digits", "7".repeat(10_000_000)],
  ["4 MB of `11 ` (digit groups, the slowest found)", "11 ".repeat(1_333_333)],
  ["4 MB of `a:1 `", "a:1 ".repeat(1_000_000)],
  ["4 MB of `:`", ":".repeat(4_000_000)],
  ["4 MB of `token: `", "token: ".repeat(571_428)],
  ["4 MB of `a@`", "a@".repeat(2_000_000)],
  ["4 MB of `eyJ`", "eyJ".repeat(1_333_333)],
];
const adversarialRows = adversarial.map(([name, input]) => {
  const ms = best(2, () => findPii(input));
  return { name, mbps: mb(input.length) / (ms / 1000) };
});

const TARGET_MBPS = 50;
const findMbps = mb(text.length) / (findMs / 1000);
const fmt = (x: number, d = 1) => x.toFixed(d);
const pass = (ok: boolean) => ok ? "pass" : "FAIL";

console.log("## Redaction (pii/)\n");
console.log(
  `Mixed text: ${
    fmt(mb(text.length))
  } MB of prose, logs, JSON, code and commits with ${findingsCount} findings ` +
    `(one per ${Math.round(text.length / findingsCount)} bytes: ${
      JSON.stringify(findingsByType)
    }). JSON response: ${fmt(responseBytes / 1000)} KB, findings ${
      JSON.stringify(responseFindings)
    }. Best of N runs on one core.\n`,
);
console.log("| measure | figure | target | result |");
console.log("| --- | --- | --- | --- |");
console.log(
  `| findPii, mixed text | ${fmt(findMbps)} MB/s | ≥ ${TARGET_MBPS} MB/s | ${
    pass(findMbps >= TARGET_MBPS)
  } |`,
);
console.log(
  `| redactText mask, mixed text | ${fmt(mb(text.length) / (maskMs / 1000))} MB/s | — | — |`,
);
console.log(
  `| redactText tokenize, mixed text | ${fmt(mb(text.length) / (tokenMs / 1000))} MB/s | — | — |`,
);
console.log(
  `| redactValue tokenize, ${fmt(responseBytes / 1000)} KB JSON response | ${
    fmt(mb(responseBytes) / (perResponseMs / 1000))
  } MB/s | — | — |`,
);
console.log(`| per-response overhead (median) | ${fmt(perResponseMs, 3)} ms | — | — |`);
for (const row of adversarialRows) {
  console.log(
    `| worst case: ${row.name} | ${fmt(row.mbps)} MB/s | completes (linear) | completed |`,
  );
}
