/**
 * Red team j1 (2026-11-30): data the agent only ever saw as placeholders reached the approver,
 * `GET /v1/approvals` and the audit raw. The view restored every placeholder and redacted the
 * text again "as if the code wrote it", and a value glued to other characters (`"x" + ph +
 * "1"`) no longer looked like personal data. Now the view shows through a placeholder only
 * when the agent wrote its value (red team i2: a path laundered into a placeholder must stay
 * visible); any other stays a placeholder and is listed in `hiddenValues`, on one replica and
 * across replicas sharing Redis.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestGateway, type TestGateway } from "../helpers.ts";
import { filesystemServer } from "../fixtures/servers/reference.ts";
import { REPO_ROOT } from "../fixtures/servers/local.ts";
import { findProgram, skipWithout, startRedis, waitFor } from "../services.ts";

const sinkServer = (dir: string) => ({
  command: Deno.execPath(),
  args: [
    "run",
    "--quiet",
    `--allow-write=${dir}`,
    new URL("../fixtures/servers/sink.ts", import.meta.url).pathname,
  ],
  cwd: REPO_ROOT,
});

const CUSTOMER = "password: Xk9mQ2pL7vRt\nssn: 078051120\nphone: 4155550134\n" +
  "email: ann.lee@example.com\n";
/** The file's values, and the forms a detector or a person would recognise them in. */
const RAW = [
  "Xk9mQ2pL7vRt",
  "078051120",
  "078-05-1120",
  "4155550134",
  "(415) 555-0134",
  "ann.lee@example.com",
];
const PLACEHOLDER = /\[[A-Z]+_\d+_[a-z]{7}\]/g;

/** Approves the next pending request; returns what `GET /v1/approvals` showed of it. */
// deno-lint-ignore no-explicit-any
async function approveNext(gw: TestGateway): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const [p] = (await gw.get("/v1/approvals")).body.approvals ?? [];
    if (p) {
      await gw.post(`/v1/approvals/${p.id}`, { decision: "approve" });
      return p;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no approval asked");
}

/** The audit's record of the latest approval, once it is written. */
async function audited(gw: TestGateway): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = gw.gateway.audit?.recentApprovals()[0]?.arguments;
    if (text) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no approval audited");
}

/**
 * Execution 2's code: one `sink.store` whose arguments carry the file's placeholders in many
 * shapes, and whose path carries the placeholder of a path the agent wrote itself.
 */
function launderingCode(ph: string[], own: string): string {
  return `const ph = ${JSON.stringify(ph)};
    return await sink.store({
      path: ${JSON.stringify(own)},
      value: {
        glued: ph.map((p) => "x" + p + "1"),
        spaced: ph.join(" "),
        json: JSON.stringify({ note: ph[1] }),
        asKey: { [ph[2]]: 1 },
        nested: [[[{ deep: "id=" + ph[3] + ";" }]]],
        split: ph.map((p) => [p.slice(0, 5), p.slice(5)]),
        base64: ph.map((p) => btoa(p)),
        hex: ph.map((p) => [...p].map((c) => c.charCodeAt(0).toString(16)).join("")),
        reversed: ph.map((p) => [...p].reverse().join("")),
        escaped: ph.map((p) => JSON.stringify(p)),
      },
    });`;
}

/** Checks one approval: nothing raw, every placeholder listed, the agent's path shown. */
// deno-lint-ignore no-explicit-any
function checkShown(pending: any, audit: string, ph: string[], path: string): void {
  const leaked = RAW.filter((v) => pending.arguments.includes(v) || audit.includes(v));
  assertEquals(leaked, [], `raw values shown: ${pending.arguments}\naudit: ${audit}`);
  // The glued forms are shown as the code wrote them, with the placeholders in place.
  for (const p of ph) assert(pending.arguments.includes(`x${p}1`), pending.arguments);
  // The approver is told which values are hidden, and that they come from upstream.
  assertEquals(
    new Set(pending.hiddenValues.map((h: { placeholder: string }) => h.placeholder)),
    new Set(ph),
  );
  assertEquals(pending.hiddenValues.every((h: { why: string }) => h.why === "upstream"), true);
  assertEquals(pending.hiddenValuesTotal, ph.length);
  // The path the agent wrote (laundered into a placeholder) is shown as it is written.
  assert(pending.arguments.includes(JSON.stringify(path)), pending.arguments);
}

/** Execution 1: the agent reads the file (seeing placeholders) and launders a path it wrote. */
async function firstExecution(
  gw: TestGateway,
  root: string,
  session: Record<string, string>,
): Promise<{ ph: string[]; own: string; path: string }> {
  const path = `${root}/cron;reboot`;
  const first = await gw.post("/v1/execute", {
    code: `const r = await filesystem.readTextFile({ path: ${
      JSON.stringify(root + "/customer.yml")
    } });
      return { text: typeof r === "string" ? r : (r.content ?? r.text), password: ${
      JSON.stringify(path)
    } };`,
  }, session);
  assertEquals(first.status, 200, JSON.stringify(first.body));
  const ph = [...String(first.body.result.text).matchAll(PLACEHOLDER)].map((m) => m[0]);
  assertEquals(ph.length, 4, JSON.stringify(first.body.result));
  const own = first.body.result.password;
  assert(/^\[SECRET_\d+_[a-z]{7}\]$/.test(own), own);
  return { ph, own, path };
}

Deno.test({
  name:
    "approval view: values the agent only saw as placeholders stay placeholders, glued, keyed, nested or escaped; the path it wrote is shown",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "j1-view-" });
    await Deno.writeTextFile(`${root}/customer.yml`, CUSTOMER);
    const gw = await startTestGateway({
      servers: { filesystem: filesystemServer(root), sink: sinkServer(root) },
      approval: { tools: ["sink.store"], timeoutSeconds: 30 },
      sandbox: { timeoutMs: 20_000, maxWaitMs: 20_000 },
    });
    try {
      const session = { "x-airlock-session": "j1-launder" };
      const { ph, own, path } = await firstExecution(gw, root, session);
      const running = gw.post("/v1/execute", { code: launderingCode(ph, own) }, session);
      const pending = await approveNext(gw);
      const reply = await running;
      assertEquals(reply.status, 200, JSON.stringify(reply.body));
      assertEquals(JSON.stringify(reply.body).includes("Xk9mQ2pL7vRt"), false);
      checkShown(pending, await audited(gw), ph, path);
      // The server got the real values where the placeholders were literal, and the text
      // the code made of them where it split, encoded or reversed them.
      const written = JSON.parse(await Deno.readTextFile(path));
      assertEquals(written.glued, [
        "xXk9mQ2pL7vRt1",
        "x0780511201",
        "x41555501341",
        "xann.lee@example.com1",
      ]);
      assertEquals(written.json, JSON.stringify({ note: "078051120" }));
      assertEquals(Object.keys(written.asKey), ["4155550134"]);
      assertEquals(written.split[0], [ph[0].slice(0, 5), ph[0].slice(5)]);
      assertEquals(atob(written.base64[1]), ph[1]);
      // What the approver sees of the forms the gateway does not restore is what is sent.
      assert(pending.arguments.includes(written.base64[1]), pending.arguments);
      assert(pending.arguments.includes(written.reversed[2]), pending.arguments);
      // The arguments' own text around the hidden values is still shown (`id=…;`).
      assert(pending.arguments.includes(`id=${ph[3]};`), pending.arguments);

      // Execution 3: the code reads the file again and writes its values out raw, glued: they
      // never had a placeholder in this call, yet the agent only ever saw them as ones.
      const again = gw.post("/v1/execute", {
        code: `const r = await filesystem.readTextFile({ path: ${
          JSON.stringify(root + "/customer.yml")
        } });
          const text = typeof r === "string" ? r : (r.content ?? r.text);
          const values = text.trim().split("\\n").map((l) => l.split(": ")[1]);
          return await sink.store({ path: ${JSON.stringify(root + "/again")}, value: {
            glued: values.map((v) => "y" + v + "2"), [values[2]]: values.join("") } });`,
      }, session);
      const held = await approveNext(gw);
      assertEquals((await again).status, 200);
      const shown = RAW.filter((v) => held.arguments.includes(v));
      assertEquals(shown, [], held.arguments);
      for (const p of ph) assert(held.arguments.includes(`y${p}2`), held.arguments);
      assertEquals(held.hiddenValuesTotal, 4, JSON.stringify(held));
      assert(JSON.parse(await Deno.readTextFile(`${root}/again`)).glued.includes("y0780511202"));
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "approval view: a call with no hidden value carries no hiddenValues; a computed path laundered into a placeholder is flagged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "j1-view-" });
    const gw = await startTestGateway({
      servers: { sink: sinkServer(root) },
      approval: { tools: ["sink.store"], timeoutSeconds: 30 },
      sandbox: { timeoutMs: 20_000, maxWaitMs: 20_000 },
    });
    try {
      const running = gw.post("/v1/execute", {
        code: `return await sink.store({ path: ${
          JSON.stringify(root + "/a")
        }, value: "ssn 078-05-1120" });`,
      });
      const pending = await approveNext(gw);
      assertEquals((await running).status, 200);
      assertEquals("hiddenValues" in pending, false, JSON.stringify(pending));
      // The SSN the agent wrote is personal data where it is sent: its placeholder, as before.
      assertEquals(pending.arguments.includes("078-05-1120"), false, pending.arguments);

      // A path the code computed (not in its text) and laundered into a placeholder is not
      // shown, but the approver is told that the path is hidden.
      const session = { "x-airlock-session": "computed-path" };
      const first = await gw.post("/v1/execute", {
        code: `return { password: [${JSON.stringify(root + "/cron")}, ";reboot"].join("") };`,
      }, session);
      const { password } = first.body.result;
      assert(/^\[SECRET_\d+_[a-z]{7}\]$/.test(password), JSON.stringify(first.body));
      const storing = gw.post("/v1/execute", {
        code: `return await sink.store({ path: ${JSON.stringify(password)}, value: 1 });`,
      }, session);
      const held = await approveNext(gw);
      assertEquals((await storing).status, 200);
      assertEquals(held.hiddenValues, [{ placeholder: password, why: "upstream" }]);
      assert(held.arguments.includes(password), held.arguments);
      assertEquals(await Deno.readTextFile(`${root}/cron;reboot`), "1");
    } finally {
      await gw.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const ignoreRedis = skipWithout("Redis state", { "redis-server": findProgram("redis-server") });

Deno.test({
  name:
    "approval view over replicas: where a value came from travels through Redis with its placeholder",
  ignore: ignoreRedis,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startRedis();
    const root = await Deno.makeTempDir({ prefix: "j1-view-redis-" });
    await Deno.writeTextFile(`${root}/customer.yml`, CUSTOMER);
    const gateways: TestGateway[] = [];
    try {
      const config = {
        state: { url: redis.url },
        servers: { filesystem: filesystemServer(root), sink: sinkServer(root) },
        approval: { tools: ["sink.store"], timeoutSeconds: 30 },
        sandbox: { timeoutMs: 20_000, maxWaitMs: 20_000 },
      };
      const vaultKey = "6".repeat(64);
      gateways.push(
        await startTestGateway(config, { vaultKey }),
        await startTestGateway(config, { vaultKey }),
      );
      const [a, b] = gateways;
      for (const gw of gateways) assert(await waitFor(() => gw.gateway.state.health().up));
      const session = { "x-airlock-session": "j1-replicas" };
      // Minted on A; the held call runs on B, which loads the session from Redis.
      const { ph, own, path } = await firstExecution(a, root, session);
      const running = b.post("/v1/execute", { code: launderingCode(ph, own) }, session);
      const pending = await approveNext(b);
      const reply = await running;
      assertEquals(reply.status, 200, JSON.stringify(reply.body));
      checkShown(pending, await audited(b), ph, path);
    } finally {
      for (const gw of gateways) await gw.close();
      await redis.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
