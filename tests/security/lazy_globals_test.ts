/**
 * The runtime's internals through its lazily loaded modules (a red-team round): Deno 2.9.6
 * loads some globals' modules on first use (`ReadableStream`, `Request`, `Response`,
 * `fetch`, …) and some Node built-ins assign on load or on first use (`node:cluster`,
 * `node:child_process`, `process.on("unhandledRejection")`). Those modules assign new
 * properties on the runtime's internals object (`internals.resourceForReadableStream = …`),
 * and an assignment of a missing property consults the prototype chain: a setter the code
 * planted on `Object.prototype` first was handed `Deno[Deno.internal]`, which the harness
 * closes (raw ops, `core.evalContext`). With the raw ops the code also signalled itself and
 * forged the gateway's `memory` verdict. Each of these failed before the harness gave the
 * internals object (and `core`) no prototype.
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway, testSandbox } from "../helpers.ts";

/** Names the runtime assigns on its internals object when a lazy module loads. */
const NAMES = [
  "resourceForReadableStream",
  "__initCluster",
  "__setupChildProcessIpcChannel",
  "nodeProcessUnhandledRejectionCallback",
  "nodeProcessRejectionHandledCallback",
];

/** Plants a setter per name that keeps the first receiver holding `core`. */
const PLANT = `let internals: any = null;
for (const name of ${JSON.stringify(NAMES)}) {
  Object.defineProperty(Object.prototype, name, {
    configurable: true,
    get() { return undefined; },
    set(v: any) {
      if (internals === null && this && typeof this === "object" && "core" in this) internals = this;
      Reflect.defineProperty(this, name, { value: v, writable: true, configurable: true, enumerable: true });
    },
  });
}`;

const REPORT = `return internals === null
  ? "not reached"
  : { keys: Reflect.ownKeys(internals).length, generated: internals.core.evalContext("6 * 7", "file:///g.js")[0] };`;

const TRIGGERS: Record<string, string> = {
  "the first ReadableStream": "void ReadableStream;",
  "the first Request and Response": "void Request; void Response;",
  "the first fetch": "void fetch;",
  "the first WritableStream and TransformStream": "void WritableStream; void TransformStream;",
  "node:cluster first loaded by the code": `await import("node:cluster");`,
  "node:child_process first loaded by the code": `await import("node:child_process");`,
  "an unhandledRejection listener": `process.on("unhandledRejection", () => {});`,
};

Deno.test("lazy globals: no lazily loaded runtime module hands Deno[Deno.internal] to a planted setter", async () => {
  const sandbox = testSandbox();
  try {
    const runs = await Promise.all(
      Object.entries(TRIGGERS).map(async ([name, trigger]) => {
        const run = await sandbox.run({ code: `${PLANT}\n${trigger}\n${REPORT}` });
        return { name, run };
      }),
    );
    for (const { name, run } of runs) {
      // Observed before the fix (ReadableStream, node:cluster): { keys: 36, generated: 42 }.
      assertEquals(
        run.result,
        "not reached",
        `${name}: ${JSON.stringify(run.result ?? run.error)}`,
      );
    }
  } finally {
    await sandbox.close();
  }
});

Deno.test("lazy globals: the code cannot forge the gateway's memory verdict with a raw self-signal", async () => {
  const code = `${PLANT}
    void ReadableStream;
    internals?.core.ops.op_node_process_kill(Deno.pid, 5);
    return "done";`;
  const gateway = await startTestGateway();
  try {
    const reply = await gateway.post("/v1/execute", { code });
    // Observed before the fix: { ok: false, error: { kind: "memory", … } } from a process
    // using a few MB (SIGTRAP is what V8's fatal heap abort raises).
    assertEquals(reply.body.result, "done", JSON.stringify(reply.body));
  } finally {
    await gateway.close();
  }
});
