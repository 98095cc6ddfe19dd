// redactTextAsync / redactValueAsync: the same results as the synchronous calls (corpus,
// big inputs, tokenize numbering), detection in real worker threads above the threshold,
// and no request lost when a worker dies or hangs. No timing assertions.

import {
  DetectionPool,
  redactText,
  redactTextAsync,
  redactValue,
  redactValueAsync,
  Vault,
} from "../../pii/mod.ts";
import { readCorpus } from "./corpus_eval.ts";

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function assertSame(actual: unknown, expected: unknown, message: string) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) {
    throw new Error(`${message}\nexpected ${e.slice(0, 300)}\nactual   ${a.slice(0, 300)}`);
  }
}

const corpusTexts = (await readCorpus()).flatMap((f) => f.lines.map((l) => l.text));

const CHUNK =
  "user ann@example.com from 10.1.2.3 paid 4111 1111 1111 1111; call +1 415-555-2671, " +
  "token=Zx9aB3cD4eF5gH6iJ7kL8 ssn 123-45-6789 IBAN DE89 3704 0044 0532 0130 00 fe80::1\n";

/** A response-like value well above the threshold, with PII of every type and big integers. */
function bigValue(): unknown {
  return {
    rows: Array.from({ length: 600 }, (_, i) => ({
      id: i,
      note: `${CHUNK}row ${i} by bob${i % 37}@example.org`,
      card: i % 50 === 0 ? 4111111111111111 : i,
      when: new Date(Date.UTC(2024, 0, 1 + (i % 28))),
    })),
    log: CHUNK.repeat(400),
    empty: "",
  };
}

Deno.test("async: corpus lines redact exactly as the sync path (tokenize, worker path forced)", async () => {
  const pool = new DetectionPool();
  try {
    const sync = redactValue(corpusTexts, {
      mode: "tokenize",
      vault: new Vault({ tag: "kqzmtwa" }),
    });
    const async = await redactValueAsync(corpusTexts, {
      mode: "tokenize",
      vault: new Vault({ tag: "kqzmtwa" }),
      pool,
      thresholdUnits: 0,
    });
    assertSame(async, sync, "corpus value");
    assert(pool.stats.workerBatches >= 1, `no worker ran: ${JSON.stringify(pool.stats)}`);
    assert(pool.stats.inlineBatches === 0, `went inline: ${JSON.stringify(pool.stats)}`);
    const joined = corpusTexts.join("\n");
    const vaultA = new Vault({ tag: "kqzmtwa" }), vaultB = new Vault({ tag: "kqzmtwa" });
    assertSame(
      await redactTextAsync(joined, { mode: "tokenize", vault: vaultA, pool, thresholdUnits: 0 }),
      redactText(joined, { mode: "tokenize", vault: vaultB }),
      "corpus text",
    );
  } finally {
    pool.close();
  }
});

Deno.test("async: big values and texts match the sync path in every mode, one vault across calls", async () => {
  const pool = new DetectionPool();
  try {
    const value = bigValue();
    for (const mode of ["mask", "tokenize", "off"] as const) {
      const vaultA = new Vault({ tag: "kqzmtwa" }), vaultB = new Vault({ tag: "kqzmtwa" });
      const options = { mode, allow: ["bob3@example.org"] };
      const sync = redactValue(value, { ...options, vault: vaultA });
      const async = await redactValueAsync(value, { ...options, vault: vaultB, pool });
      assertSame(async, sync, `value, ${mode}`);
      // A second call continues the numbering in the same vault identically.
      const text = CHUNK.repeat(1000) + "new: zed@example.net";
      assertSame(
        await redactTextAsync(text, { ...options, vault: vaultB, pool }),
        redactText(text, { ...options, vault: vaultA }),
        `text, ${mode}`,
      );
    }
    assert(pool.stats.workerBatches >= 2, `no worker ran: ${JSON.stringify(pool.stats)}`);
  } finally {
    pool.close();
  }
});

Deno.test("async: below the threshold no worker is started", async () => {
  const pool = new DetectionPool();
  try {
    const small = { a: CHUNK, b: [CHUNK, 4111111111111111] };
    assertSame(
      await redactValueAsync(small, { mode: "mask", pool }),
      redactValue(small, { mode: "mask" }),
      "small value",
    );
    assertSame(
      await redactTextAsync(CHUNK, { mode: "mask", pool }),
      redactText(CHUNK, { mode: "mask" }),
      "small text",
    );
    assert(pool.stats.workersStarted === 0, `workers started: ${JSON.stringify(pool.stats)}`);
  } finally {
    pool.close();
  }
});

Deno.test("async: bad options reject with kind invalid_option", async () => {
  let kind: unknown;
  try {
    await redactValueAsync("x", { mode: "nope" as "mask" });
  } catch (error) {
    kind = (error as { kind?: unknown }).kind;
  }
  assert(kind === "invalid_option", `kind ${String(kind)}`);
});

Deno.test("async: a worker that dies loses no request (inline fallback, same result)", async () => {
  const pool = new DetectionPool({
    workerUrl: new URL("./fixtures/dying_worker.ts", import.meta.url),
  });
  try {
    const value = bigValue();
    const sync = redactValue(value, { mode: "tokenize", vault: new Vault({ tag: "kqzmtwa" }) });
    const async = await redactValueAsync(value, {
      mode: "tokenize",
      vault: new Vault({ tag: "kqzmtwa" }),
      pool,
    });
    assertSame(async, sync, "after a worker died");
    const stats = pool.stats;
    assert(stats.workerFailures >= 1 && stats.inlineBatches >= 1, JSON.stringify(stats));
  } finally {
    pool.close();
  }
});

Deno.test("async: a worker that never answers is given up after timeoutMs", async () => {
  const pool = new DetectionPool({
    workerUrl: new URL("./fixtures/silent_worker.ts", import.meta.url),
    timeoutMs: 300,
  });
  try {
    const text = CHUNK.repeat(1000);
    assertSame(
      await redactTextAsync(text, { mode: "mask", pool }),
      redactText(text, { mode: "mask" }),
      "after a timeout",
    );
    assert(
      pool.stats.workerFailures >= 1 && pool.stats.inlineBatches >= 1,
      JSON.stringify(pool.stats),
    );
  } finally {
    pool.close();
  }
});

Deno.test("async: a closed pool still answers, inline", async () => {
  const pool = new DetectionPool();
  pool.close();
  const text = CHUNK.repeat(1000);
  assertSame(
    await redactTextAsync(text, { mode: "mask", pool }),
    redactText(text, { mode: "mask" }),
    "closed",
  );
  assert(
    pool.stats.workersStarted === 0 && pool.stats.inlineBatches === 1,
    JSON.stringify(pool.stats),
  );
});

Deno.test("async: timers on the calling thread keep running while a big value is detected", async () => {
  const pool = new DetectionPool();
  try {
    const value = Array.from({ length: 8 }, () => CHUNK.repeat(3000)); // ~1.2 M code units
    await redactValueAsync(value, { mode: "mask", pool, thresholdUnits: 0 }); // start the workers
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    const sync = redactValue(value, { mode: "mask" });
    const ticksDuringSync = ticks;
    const async = await redactValueAsync(value, { mode: "mask", pool });
    clearInterval(interval);
    assertSame(async, sync, "big value");
    assert(ticksDuringSync === 0, "a synchronous call cannot let a timer run");
    assert(ticks > 0, "no timer ran while the workers detected");
  } finally {
    pool.close();
  }
});

Deno.test("async: a process that never closes the shared pool still exits", async () => {
  const script = new URL("./fixtures/exit_without_close.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Generous bound: this proves "did not hang", not a speed.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const out = new TextDecoder().decode(stdout).trim();
  assert(code === 0, `exit code ${code}: ${new TextDecoder().decode(stderr)}`);
  assertSame(JSON.parse(out), { email: 4000, ip: 4000 }, "counts from the child");
});
