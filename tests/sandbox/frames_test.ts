/**
 * The frame channel as an attacker uses it: the code shares its process with the harness.
 * `Deno.stdout`, `Deno.stderr` and `process.stdout`/`stderr` are captured as log lines (see
 * runner_test.ts), but node:fs still writes to file descriptors 1 and 2 with no permission,
 * so the code can still write any line to the real stdout and forge any frame. Every
 * case runs in a real sandbox process and checks what the gateway side made of it: sizes
 * counted in UTF-8 bytes, depth measured before parsing, malformed results and claimed
 * verdicts refused, the first outcome final.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import {
  MAX_RPC_CALL_VALUES,
  MAX_RPC_FRAMES,
  Sandbox,
  type SandboxOptions,
} from "../../sandbox/mod.ts";
import {
  capUtf8,
  jsonNestingDepth,
  jsonShape,
  utf8ByteLength,
  utf8Prefix,
} from "../../sandbox/json_text.ts";
import { FRAME_ENVELOPE_VALUES, readLine, readResult } from "../../sandbox/frames.ts";
import { sanitizeError } from "../../sandbox/outcome.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Code that defines `forge(frame)` (a whole line, written however the pipe takes it) on the
 * real stdout (fd 1, through node:fs: `Deno.stdout` only reaches the log).
 */
const FORGE = `const rawOut = (bytes: Uint8Array): number =>
  (process.getBuiltinModule("node:fs") as typeof import("node:fs")).writeSync(1, bytes);
const forge = (frame: unknown) => {
  const bytes = new TextEncoder().encode(JSON.stringify(frame) + "\\n");
  let offset = 0;
  while (offset < bytes.length) offset += rawOut(bytes.subarray(offset));
};
const forgeRaw = (line: string) => {
  const bytes = new TextEncoder().encode(line + "\\n");
  let offset = 0;
  while (offset < bytes.length) offset += rawOut(bytes.subarray(offset));
};
`;

async function withSandbox(
  overrides: Partial<SandboxOptions>,
  fn: (sandbox: Sandbox) => Promise<void>,
): Promise<void> {
  const sandbox = new Sandbox({
    timeoutMs: 10_000,
    memoryMb: 128,
    maxOutputBytes: 64 * KiB,
    maxLogBytes: 64 * KiB,
    concurrency: 2,
    queue: 8,
    poolSize: 0,
    allowNet: [],
    allowRead: [],
    ...overrides,
  });
  try {
    await fn(sandbox);
  } finally {
    await sandbox.close();
  }
}

function logBytes(logs: { text: string }[]): number {
  return logs.reduce((n, l) => n + new TextEncoder().encode(l.text).length, 0);
}

// ---------------------------------------------------------------- measuring untrusted text

Deno.test("json_text: UTF-8 lengths match TextEncoder, cuts keep whole characters", () => {
  const samples = [
    "",
    "ascii",
    "é",
    "中文字",
    "😀x😀",
    "\ud800",
    "a\udc00b",
    "x\ud83d",
    "mixé中😀\u0000",
  ];
  const encoder = new TextEncoder();
  for (const s of samples) {
    assertEquals(utf8ByteLength(s), encoder.encode(s).length, JSON.stringify(s));
    for (let max = 0; max <= encoder.encode(s).length + 1; max++) {
      const prefix = utf8Prefix(s, max);
      assert(utf8ByteLength(prefix) <= max, `${JSON.stringify(s)} cut at ${max}`);
      assert(s.startsWith(prefix));
      assert(!/[\ud800-\udbff]$/.test(prefix) || !/^[\udc00-\udfff]/.test(s.slice(prefix.length)));
    }
  }
  const capped = capUtf8("中".repeat(10_000), 8 * KiB);
  assert(utf8ByteLength(capped) <= 8 * KiB);
  assertMatch(capped, /^中+… \[truncated\]$/);
  assertEquals(capUtf8("short", 8), "short");
});

Deno.test("json_text: nesting depth ignores brackets inside strings", () => {
  assertEquals(jsonNestingDepth(`{"a":[1,{"b":"[[[{{{"}]}`, 10), 3);
  assertEquals(jsonNestingDepth(`["\\"[[[", "\\\\", [[]]]`, 10), 3);
  assertEquals(jsonNestingDepth("[".repeat(100_000), 200), 201, "stops just past the limit");
  assertEquals(jsonNestingDepth("not json ]]]] {", 10), 1);
});

Deno.test("json_text: values are counted as JSON.parse would make them, strings skipped", () => {
  /** Every value of a parsed JSON value: itself, and its elements or members, recursively. */
  const count = (v: unknown): number =>
    v !== null && typeof v === "object"
      ? 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0)
      : 1;
  for (
    const value of [
      0,
      "a,b,[c]",
      [],
      {},
      [[]],
      [[], {}, [[]]],
      [1, [2, 3]],
      { a: 1, b: { c: [true, null, "x,y"] }, "d,e": [] },
      Array.from({ length: 50 }, (_, i) => ({ i, s: `"${i},"`, e: [] })),
    ]
  ) {
    for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      assertEquals(jsonShape(text, 1000, Infinity).values, count(value), text.slice(0, 60));
    }
  }
  // Escaped quotes do not end a string; commas inside one are not separators.
  assertEquals(jsonShape(`["\\",",\\\",",1]`, 10, Infinity).values, 4);
  // Stops just past either limit.
  assertEquals(jsonShape("[" + "0,".repeat(1_000_000) + "0]", 10, 1000).values, 1001);
  assertEquals(jsonShape("[[[[", 2, 1000).depth, 3);
});

// ---------------------------------------------------------------- 1. sizes in UTF-8 bytes

Deno.test("result: the cap counts UTF-8 bytes (65,000 CJK characters are ~195 KB)", async () => {
  await withSandbox({}, async (sandbox) => {
    // Through the harness's encoder.
    const cjk = await sandbox.run({ code: `return "中".repeat(65_000);` });
    assertEquals(cjk.error?.kind, "output_limit", JSON.stringify(cjk.error));
    const emoji = await sandbox.run({ code: `return "😀".repeat(20_000);` });
    assertEquals(emoji.error?.kind, "output_limit");
    // Under the cap in bytes: accepted whole.
    const fits = await sandbox.run({ code: `return "é".repeat(30_000);` });
    assertEquals(fits.error, undefined);
    assertEquals(fits.result, "é".repeat(30_000));
    // A result frame the code writes itself has no frame key: ignored, counted as output.
    const forged = await sandbox.run({
      code: FORGE + `forge({ t: "result", json: JSON.stringify("中".repeat(65_000)) });
        await new Promise((r) => setTimeout(r, 200)); return "late";`,
    });
    assertEquals(forged.result, "late", JSON.stringify(forged.error));
    // The gateway's own check of a (keyed) result frame counts UTF-8 bytes too.
    const reading = readResult(JSON.stringify("中".repeat(65_000)), 64 * KiB);
    assertEquals(reading.ok ? undefined : reading.error.kind, "output_limit");
  });
});

Deno.test("errors: message and stack are capped in UTF-8 bytes on a character boundary", async () => {
  await withSandbox({}, async (sandbox) => {
    const real = await sandbox.run({ code: `throw new Error("中".repeat(3 * 1024 * 1024));` });
    assertEquals(real.error?.kind, "runtime");
    assert(utf8ByteLength(real.error!.message) <= 8 * KiB, "message ≤ 8 KiB");
    assertMatch(real.error!.message, /^Error: 中+… \[truncated\]$/);

    // An error frame the code writes itself is ignored; the gateway's own check of an error
    // frame caps message and stack in UTF-8 bytes on a character boundary.
    const forged = await sandbox.run({
      code: FORGE + `forge({ t: "error", error: { kind: "runtime", message: "forged" } });
        await new Promise((r) => setTimeout(r, 200)); return "real";`,
    });
    assertEquals(forged.result, "real", JSON.stringify(forged.error));
    const capped = sanitizeError({
      kind: "runtime",
      message: "é".repeat(300_000),
      stack: "😀".repeat(50_000),
      line: 3,
    });
    assert(utf8ByteLength(capped.message) <= 8 * KiB);
    assert(utf8ByteLength(capped.stack!) <= 16 * KiB);
    // One run of letters with no space: it could be a value cut in half, so it goes whole.
    assertEquals(capped.message, "… [truncated]");
    assertMatch(capped.stack!, /^(😀)+… \[truncated\]$/u);
    assert(!capped.message.includes("\ufffd"));
    assertEquals(capped.line, 3);

    // Larger than the whole output budget: the frame itself is refused.
    const flood = await sandbox.run({
      code: FORGE +
        `forge({ t: "error", error: { kind: "runtime", message: "x".repeat(8 << 20) } });
        await new Promise((r) => setTimeout(r, 2000));`,
    });
    assertEquals(flood.error?.kind, "output_limit");
  });
});

Deno.test("logs: frames the code writes itself count against maxLogBytes", async () => {
  await withSandbox({ maxOutputBytes: 1 * MiB }, async (sandbox) => {
    // 1 MB of forged log frames through a 64 KiB log cap, then the normal path.
    const flood = await sandbox.run({
      code: FORGE + `const chunk = "f".repeat(60_000);
        for (let i = 0; i < 16; i++) forge({ t: "log", level: "info", text: chunk });
        console.log("real line");
        return "done";`,
    });
    // Forged log frames carry no frame key: none becomes a log line (they count as output).
    assertEquals(flood.result, "done", JSON.stringify(flood.error));
    assertEquals(flood.logs, [{ level: "log", text: "real line" }]);

    // Multi-byte text: the cap is in bytes, not UTF-16 units.
    const cjk = await sandbox.run({
      code: FORGE + `forge({ t: "log", level: "warn", text: "中".repeat(40_000) });
        console.log("中".repeat(40_000)); return 1;`,
    });
    assertEquals(cjk.result, 1);
    assert(logBytes(cjk.logs) <= 64 * KiB + 100, `${logBytes(cjk.logs)} bytes of CJK logs`);
    assertEquals(cjk.logs.length, 1, "the forged line is not a log line");
    assertMatch(cjk.logs[0].text, /^中+…$/);

    // The real console path obeys the same rule and says how many lines it dropped.
    const real = await sandbox.run({
      code: `for (let i = 0; i < 5000; i++) console.log("中文 line", i); return 2;`,
    });
    assertEquals(real.result, 2);
    assert(logBytes(real.logs) <= 64 * KiB + 100);
    assertMatch(real.logs.at(-1)!.text, /more log lines were dropped/);
  });
});

Deno.test("logs: a forged log flood past the output budget is cut off as output_limit", async () => {
  await withSandbox({}, async (sandbox) => {
    const result = await sandbox.run({
      code: FORGE + `const chunk = "g".repeat(60_000);
        for (let i = 0; i < 200; i++) forge({ t: "log", level: "log", text: chunk });
        await new Promise((r) => setTimeout(r, 5000)); return "never";`,
    });
    assertEquals(result.error?.kind, "output_limit");
    assert(logBytes(result.logs) <= 64 * KiB + 100);
  });
});

// ---------------------------------------------------------------- tool calls

Deno.test("rpc: long method names, huge arguments and forged ids are refused", async () => {
  await withSandbox({ maxOutputBytes: 4 * MiB }, async (sandbox) => {
    const seen: string[] = [];
    const onRpc = (method: string) => {
      seen.push(method.slice(0, 20));
      return Promise.resolve("served");
    };
    const result = await sandbox.run({
      code: FORGE + `const out: string[] = [];
        try { await __airlock.rpc("m".repeat(300), {}); } catch (e) { out.push(e.message); }
        try { await __airlock.rpc("echo", { big: "x".repeat(5 * 1024 * 1024) }); }
        catch (e) { out.push(e.message); }
        forge({ t: "rpc", id: "x".repeat(1000), method: "forged-id", params: {} });
        forge({ t: "rpc", id: { nested: 1 }, method: "forged-object-id", params: {} });
        forge({ t: "rpc", id: 7, method: 42, params: {} });
        out.push(await __airlock.rpc("echo", { small: 1 }));
        return out;`,
      onRpc,
    });
    assertEquals(result.error, undefined, JSON.stringify(result.error));
    const out = result.result as string[];
    assertMatch(out[0], /method name is limited to 256 bytes/);
    assertMatch(out[1], /tool call is limited to 4194304 bytes/);
    assertEquals(out[2], "served");
    assertEquals(seen, ["echo"], "only the well-formed call reached the handler");
  });
  // With the default cap the same call is longer than any frame may be: output_limit.
  await withSandbox({}, async (sandbox) => {
    let served = 0;
    const result = await sandbox.run({
      code: `await __airlock.rpc("echo", { big: "x".repeat(5 * 1024 * 1024) }); return 1;`,
      onRpc: () => {
        served++;
        return Promise.resolve(null);
      },
    });
    assertEquals(result.error?.kind, "output_limit");
    assertEquals(served, 0);
  });
});

// ---------------------------------------------------------------- depth

Deno.test("depth: values and tool arguments deeper than 200 levels are output_limit", async () => {
  await withSandbox({}, async (sandbox) => {
    const nest = (n: number) =>
      `let v: unknown = 1; for (let i = 0; i < ${n}; i++) v = [v]; return v;`;
    const ok = await sandbox.run({ code: nest(200) });
    assertEquals(ok.error, undefined, JSON.stringify(ok.error));
    assertEquals(jsonNestingDepth(JSON.stringify(ok.result), 1000), 200);
    const deep = await sandbox.run({ code: nest(201) });
    assertEquals(deep.error?.kind, "output_limit");
    assertMatch(deep.error!.message, /nested deeper than 200 levels/);

    // Deep result text is refused by the gateway's check before it is parsed.
    for (const levels of [201, 100_000]) {
      const reading = readResult("[".repeat(levels) + "]".repeat(levels), 1 * MiB);
      assertEquals(reading.ok ? undefined : reading.error.kind, "output_limit", `${levels}`);
    }

    // Tool arguments: the frame is refused before it is parsed; the handler never runs.
    let served = 0;
    const rpc = await sandbox.run({
      code: `let v: unknown = 1; for (let i = 0; i < 300; i++) v = { v };
        await __airlock.rpc("echo", v); return "served";`,
      onRpc: () => {
        served++;
        return Promise.resolve(null);
      },
    });
    assertEquals(rpc.error?.kind, "output_limit");
    assertEquals(served, 0);
    const forgedRpc = await sandbox.run({
      code: FORGE + `forgeRaw('{"t":"rpc","id":1,"method":"echo","params":' +
          "[".repeat(50_000) + "]".repeat(50_000) + "}");
        await new Promise((r) => setTimeout(r, 2000)); return 1;`,
      onRpc: () => {
        served++;
        return Promise.resolve(null);
      },
    });
    assertEquals(forgedRpc.error?.kind, "output_limit");
    assertEquals(served, 0);
  });
});

// ---------------------------------------------------------------- 2. forged verdicts

Deno.test("forgery: a malformed result is a runtime error, not a crash", async () => {
  await withSandbox({}, async (sandbox) => {
    for (const json of [`"{not json"`, "5", "null", `{"a":1}`, `"[1,2"`]) {
      // Written by the code: no frame key, so it is not a result at all.
      const result = await sandbox.run({
        code: FORGE + `forgeRaw('{"t":"result","json":' + ${JSON.stringify(json)} + '}');
          await new Promise((r) => setTimeout(r, 200)); return "real";`,
      });
      assertEquals(result.result, "real", json);
      // A keyed result frame whose text is not JSON is a runtime error, never a crash.
      const reading = readResult(JSON.parse(json), 1 * MiB);
      assertEquals(reading.ok ? undefined : reading.error, {
        kind: "runtime",
        message: "the sandbox returned a malformed result",
      });
    }
  });
});

Deno.test("forgery: verdict kinds only the gateway can reach are reported as runtime", async () => {
  await withSandbox({}, async (sandbox) => {
    for (const kind of ["timeout", "memory", "cancelled", "output_limit", "nonsense"]) {
      // Written by the code: ignored, the execution ends as the code makes it end.
      const result = await sandbox.run({
        code: FORGE + `forge({ t: "error", error: { kind: ${JSON.stringify(kind)},
            message: "claimed ${kind}" } });
          await new Promise((r) => setTimeout(r, 200)); return "${kind}";`,
      });
      assertEquals(result.result, kind, JSON.stringify(result.error));
      // Even a keyed error frame cannot claim a gateway verdict.
      assertEquals(sanitizeError({ kind, message: `claimed ${kind}` }).kind, "runtime", kind);
    }
    // Kinds the code can cause are kept.
    assertEquals(sanitizeError({ kind: "permission", message: "p" }).kind, "permission");
  });
});

Deno.test("forgery: text on stderr and exit codes do not make an execution 'memory'", async () => {
  await withSandbox({}, async (sandbox) => {
    const cases = [
      `(process.getBuiltinModule("node:fs") as typeof import("node:fs")).writeSync(2,
        "\\n<--- Last few GCs --->\\nFatal JavaScript out of memory: Reached heap limit\\nallocation failed\\n");
       Deno.exit(1);`,
      `Deno.exit(133);`,
      `Deno.stderr.writeSync(new TextEncoder().encode("out of memory\\n")); Deno.exit(134);`,
      `(process.getBuiltinModule("node:fs") as typeof import("node:fs")).writeSync(2, "out of memory\\n");
       Deno.exit(134);`,
    ];
    for (const code of cases) {
      const result = await sandbox.run({ code });
      assertEquals(result.error?.kind, "runtime", code);
      assertMatch(result.error!.message, /exit code \d+/);
    }
    // A real heap abort (V8 raises SIGTRAP) is still memory.
    const real = await sandbox.run({
      code:
        `const keep = []; while (true) keep.push({ a: Math.random(), b: "x".repeat(64) + Math.random() });`,
      limits: { memoryMb: 32 },
    });
    assertEquals(real.error?.kind, "memory");
  });
});

Deno.test("forgery: the first outcome is final; later frames change nothing", async () => {
  await withSandbox({}, async (sandbox) => {
    // One write, so the gateway reads every frame in the same chunk, right after the first.
    const first = await sandbox.run({
      code: FORGE + `console.log("before");
        forgeRaw([
          { t: "result", json: JSON.stringify("first") },
          { t: "log", level: "log", text: "after the result" },
          { t: "ready" },
          { t: "error", error: { kind: "runtime", message: "second" } },
          { t: "result", json: JSON.stringify("third") },
        ].map((f) => JSON.stringify(f)).join("\\n"));
        return "returned";`,
    });
    // None of them carries the frame key: the real outcome is the code's return.
    assertEquals(first.error, undefined);
    assertEquals(first.result, "returned");
    assertEquals(first.logs, [{ level: "log", text: "before" }]);

    const errorFirst = await sandbox.run({
      code: FORGE + `forge({ t: "error", error: { kind: "tool", message: "forged first" } });
        forge({ t: "result", json: "42" });
        return 43;`,
    });
    assertEquals(errorFirst.error, undefined);
    assertEquals(errorFirst.result, 43);

    // A forged `ready` while running is ignored; the real result still arrives.
    const ready = await sandbox.run({ code: FORGE + `forge({ t: "ready" }); return "ok";` });
    assertEquals(ready.result, "ok");
  });
});

Deno.test("forgery: the harness's own size signal is a gateway-worded output_limit", async () => {
  await withSandbox({}, async (sandbox) => {
    // Forged by the code: no frame key, no verdict.
    const claimed = await sandbox.run({
      code: FORGE + `forge({ t: "over_limit", limit: "bytes" });
        await new Promise((r) => setTimeout(r, 200)); return "not over";`,
    });
    assertEquals(claimed.result, "not over", JSON.stringify(claimed.error));
    // The harness's own signal (a value over the cap) is worded by the gateway.
    const real = await sandbox.run({ code: `return "x".repeat(70_000);` });
    assertEquals(real.error?.kind, "output_limit");
    assertMatch(real.error!.message, /return value ≤ 65536 bytes/);
    const bad = await sandbox.run({
      code: FORGE + `forge({ t: "over_limit", limit: "timeout" }); return "kept";`,
    });
    assertEquals(bad.result, "kept", "an unknown limit is garbage, not an outcome");
  });
});

Deno.test("stderr: text there is never evidence, and an endless stream ends the execution", async () => {
  await withSandbox({ timeoutMs: 20_000 }, async (sandbox) => {
    const result = await sandbox.run({
      code:
        `const chunk = new TextEncoder().encode("Fatal JavaScript out of memory\\n".repeat(2048));
        const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
        while (true) fs.writeSync(2, chunk);`,
    });
    assertEquals(result.error?.kind, "output_limit");
    assertMatch(result.error!.message, /more than 67108864 bytes to stderr/);
  });
});

Deno.test("rpc: more tool requests than MAX_RPC_FRAMES end the execution as output_limit", async () => {
  await withSandbox({ memoryMb: 256, timeoutMs: 60_000 }, async (sandbox) => {
    let served = 0;
    const result = await sandbox.run({
      code: `await Promise.allSettled(
               Array.from({ length: ${
        MAX_RPC_FRAMES + 10
      } }, () => __airlock.rpc("tools/search", {})));
             return "all answered";`,
      onRpc: () => {
        served++;
        return Promise.reject(Object.assign(new Error("refused"), { kind: "permission" }));
      },
    });
    assertEquals(result.error?.kind, "output_limit", JSON.stringify(result.error));
    assert(served <= MAX_RPC_FRAMES, `${served} requests reached the handler`);
  });
});

Deno.test("rpc: a call with more than MAX_RPC_CALL_VALUES values is refused unparsed", () => {
  const frame = (params: unknown) =>
    JSON.stringify({ t: "rpc", id: 1, method: "echo", params, k: "key" });
  // The frame's own five values (the object, t, id, method, k) leave this many for `params`.
  const n = MAX_RPC_CALL_VALUES + FRAME_ENVELOPE_VALUES - 5;
  // Each shape is one of the ways to pack values cheaply: bare numbers, empty containers,
  // object members, small objects; the argument object itself is one value too (n + 1 each,
  // the last n + 2).
  const over = [
    { a: Array(n - 1).fill(0) },
    { a: Array(n - 1).fill([]) },
    { a: Array(n - 1).fill({}) },
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
    { a: Array(n / 2).fill({ x: 1 }) },
  ];
  for (const params of over) {
    assertEquals(readLine(frame(params), "key").kind, "too_many_values");
  }
  // Exactly n values, and one long string full of commas (one value).
  const under = [{ a: Array(n - 2).fill(0) }, { big: "x,".repeat(2 * n) }];
  for (const params of under) assertEquals(readLine(frame(params), "key").kind, "frame");
  // Code writing such a line itself (without the key) is not parsed either.
  assertEquals(readLine(frame(over[0]), "other").kind, "too_many_values");
});

Deno.test("rpc: too many values end the execution before the handler sees the call", async () => {
  await withSandbox({}, async (sandbox) => {
    const seen: number[] = [];
    const onRpc = (_method: string, params: unknown) => {
      seen.push(JSON.stringify(params).length);
      return Promise.resolve("served");
    };
    // At the cap's edge (`params` as the harness sends it, here without a wrapper): served.
    const n = MAX_RPC_CALL_VALUES + FRAME_ENVELOPE_VALUES - 5;
    const ok = await sandbox.run({
      code: `return await __airlock.rpc("echo", { a: Array(${n - 2}).fill(0) });`,
      onRpc,
    });
    assertEquals(ok.result, "served", JSON.stringify(ok.error));
    for (
      const args of [
        `{ a: Array(${n - 1}).fill(0) }`,
        `{ a: Array(${n - 1}).fill([]) }`,
        `Object.fromEntries(Array.from({ length: ${n} }, (_, i) => ["k" + i, i]))`,
        `{ a: Array(2_000_000).fill(0) }`,
      ]
    ) {
      const result = await sandbox.run({
        code: `await __airlock.rpc("echo", ${args}); return "served";`,
        onRpc,
      });
      assertEquals(result.error?.kind, "output_limit", args);
      assertMatch(result.error!.message, /more than 100000 JSON values/);
    }
    assertEquals(seen.length, 1, "only the call at the edge reached the handler");
  });
});

Deno.test("frame key: only frames with the execution's key are obeyed", () => {
  const line = JSON.stringify({ t: "result", json: "1", k: "key-1" });
  assertEquals(readLine(line, "key-1").kind, "frame");
  assertEquals(readLine(line, "key-2").kind, "garbage");
  assertEquals(readLine(JSON.stringify({ t: "result", json: "1" }), "key-1").kind, "garbage");
  // Before the code is sent (no key yet) the harness's `ready` is read as it comes.
  assertEquals(readLine(JSON.stringify({ t: "ready" })).kind, "frame");
});

Deno.test("frame key: code that patches every built-in the harness uses cannot learn it", async () => {
  await withSandbox({}, async (sandbox) => {
    const result = await sandbox.run({
      code: FORGE + `
        const seen: string[] = [];
        let inside = false; // the traps below call built-ins that may call the traps again
        const note = (v: unknown) => { try { seen.push(String(v)); } catch { /* ignore */ } };
        const guarded = (f: () => void) => {
          if (inside) return;
          inside = true;
          try { f(); } catch { /* ignore */ } finally { inside = false; }
        };
        const stringify = JSON.stringify;
        JSON.stringify = ((v: unknown, ...rest: unknown[]) => {
          const out = stringify(v, ...(rest as []));
          guarded(() => note(out));
          return out;
        }) as typeof JSON.stringify;
        Object.defineProperty(Object.prototype, "toJSON", {
          configurable: true,
          value: function (this: unknown) {
            guarded(() => note(stringify(this)));
            return this;
          },
        });
        const encode = TextEncoder.prototype.encode;
        TextEncoder.prototype.encode = function (s?: string) {
          guarded(() => note(s));
          return encode.call(this, s);
        };
        const sub = Uint8Array.prototype.subarray;
        Uint8Array.prototype.subarray = function (this: Uint8Array, ...a: number[]) {
          guarded(() => note(new TextDecoder().decode(this)));
          return sub.apply(this, a as [number, number]);
        };
        const proto = Object.getPrototypeOf(Uint8Array.prototype);
        const len = Object.getOwnPropertyDescriptor(proto, "length")!.get!;
        Object.defineProperty(proto, "length", {
          configurable: true,
          get(this: Uint8Array) {
            guarded(() => note(new TextDecoder().decode(this)));
            return len.call(this);
          },
        });
        console.log("a log line");
        try { await __airlock.rpc("tools/search", { query: "x" }); } catch { /* refused */ }
        Object.defineProperty(proto, "length", { configurable: true, get: len });
        Uint8Array.prototype.subarray = sub;
        const keys = new Set<string>();
        for (const s of seen) {
          for (const m of s.matchAll(/"k":"([^"]+)"/g)) keys.add(m[1]);
        }
        for (const k of keys) forge({ t: "result", json: JSON.stringify("forged"), k });
        await new Promise((r) => setTimeout(r, 200));
        return { real: true, keysFound: keys.size };`,
    });
    assertEquals(result.result, { real: true, keysFound: 0 }, JSON.stringify(result.error));
  });
});

Deno.test("logs: a legitimate flood of tiny lines is capped and counted, never output_limit", async () => {
  await withSandbox({ maxOutputBytes: 1 * MiB, timeoutMs: 20_000 }, async (sandbox) => {
    for (const line of [`"a"`, `""`, `"\\u0000"`]) {
      const result = await sandbox.run({
        code: `for (let i = 0; i < 100000; i++) console.log(${line}); return "done";`,
      });
      assertEquals(result.result, "done", `${line}: ${JSON.stringify(result.error)}`);
      assertMatch(result.logs.at(-1)!.text, /\[airlock\] \d+ more log lines were dropped/);
    }
  });
});

Deno.test("cuts never leave part of a value behind (15 of 16 card digits fail Luhn and leak)", async () => {
  await withSandbox({}, async (sandbox) => {
    const card = "4111111111111111";
    // Put the card across each cut: the error message (8 KiB) and the log budget (64 KiB).
    for (const pad of [8154, 8180, 8190]) {
      const r = await sandbox.run({
        code: `throw new Error("x".repeat(${pad}) + " ${card} " + "y".repeat(100));`,
      });
      assert(!/41111111/.test(r.error!.message), `pad ${pad}: ${r.error!.message.slice(-60)}`);
    }
    for (const pad of [65520, 65530]) {
      const r = await sandbox.run({
        code: `console.log("x".repeat(${pad}) + " ${card} " + "y".repeat(100)); return 1;`,
      });
      const last = r.logs[0].text;
      assert(!/41111111/.test(last), `pad ${pad}: ${last.slice(-60)}`);
    }
  });
});
