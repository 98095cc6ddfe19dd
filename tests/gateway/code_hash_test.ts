/**
 * The audit's code hash is an HMAC under a key the audit does not hold
 * (`observability/code_hash.ts`): whoever reads the audit cannot confirm a guess at a program
 * by hashing it, while executions of one program still group. Unit cases on the hasher and
 * where its key comes from, then real gateways writing real SQLite audits.
 */

import { createHash, createHmac } from "node:crypto";
import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "../assert.ts";
import { CodeHasher, codeHasherFor } from "../../observability/code_hash.ts";
import { ConfigError, parseConfig, withEnvironment } from "../../gateway/config.ts";
import { startTestGateway } from "../helpers.ts";

const sha256 = (text: string) => "sha256:" + createHash("sha256").update(text).digest("hex");

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "airlock-codehash-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("code hash: HMAC-SHA-256 of the UTF-8 code (RFC 4231 case 2), never the plain digest", () => {
  assertEquals(
    new CodeHasher("Jefe", "configured").hash("what do ya want for nothing?"),
    "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  const one = new CodeHasher("a".repeat(32), "configured");
  const other = new CodeHasher("b".repeat(32), "configured");
  for (const code of ["return 1;", "é ✓ 𝒳", "", "const ssn = '078-05-1120';"]) {
    assertMatch(one.hash(code), /^hmac-sha256:[0-9a-f]{64}$/);
    assertEquals(one.hash(code), one.hash(code), "one program groups");
    assertNotEquals(one.hash(code), other.hash(code), "another key, another hash");
    assert(!one.hash(code).endsWith(sha256(code).slice(7)), "not the plain SHA-256");
  }
  assertNotEquals(CodeHasher.ephemeral().hash("x"), CodeHasher.ephemeral().hash("x"));
});

Deno.test("code hash key: configured wins; a SQLite audit keeps one in <path>.key (0600); else per process", async () => {
  await withDir((dir) => {
    const path = `${dir}/sub/audit.db`;
    const first = codeHasherFor({ sqlitePath: path });
    assertEquals(first.source, "file");
    const stat = Deno.statSync(`${path}.key`);
    assertEquals(stat.mode! & 0o777, 0o600);
    assertEquals(codeHasherFor({ sqlitePath: path }).hash("x"), first.hash("x"), "kept on restart");
    assertNotEquals(codeHasherFor({ sqlitePath: `${dir}/other.db` }).hash("x"), first.hash("x"));
    const configured = codeHasherFor({ key: "c".repeat(32), sqlitePath: path });
    assertEquals(configured.source, "configured");
    assertEquals(configured.hash("x"), new CodeHasher("c".repeat(32), "configured").hash("x"));
    assertEquals(codeHasherFor({}).source, "process");
    assertEquals(codeHasherFor({ sqlitePath: ":memory:" }).source, "process");
    Deno.writeTextFileSync(`${dir}/short.db.key`, "tooshort\n");
    assertThrows(() => codeHasherFor({ sqlitePath: `${dir}/short.db` }), /fewer than 32/);
  });
});

Deno.test("config: audit.codeHashKey and AIRLOCK_AUDIT_HASH_KEY need 32 characters; the file's key wins", () => {
  assertThrows(
    () => parseConfig({ servers: {}, audit: { codeHashKey: "short" } }),
    /at least 32 characters/,
  );
  const previous = Deno.env.get("AIRLOCK_AUDIT_HASH_KEY");
  try {
    Deno.env.set("AIRLOCK_AUDIT_HASH_KEY", "e".repeat(40));
    assertEquals(withEnvironment(parseConfig({ servers: {} })).audit.codeHashKey, "e".repeat(40));
    const own = parseConfig({ servers: {}, audit: { codeHashKey: "f".repeat(32) } });
    assertEquals(withEnvironment(own).audit.codeHashKey, "f".repeat(32));
    Deno.env.set("AIRLOCK_AUDIT_HASH_KEY", "short");
    const error = assertThrows(
      () => withEnvironment(parseConfig({ servers: {} })),
      /32 characters/,
    );
    assert(error instanceof ConfigError);
  } finally {
    if (previous === undefined) Deno.env.delete("AIRLOCK_AUDIT_HASH_KEY");
    else Deno.env.set("AIRLOCK_AUDIT_HASH_KEY", previous);
  }
});

Deno.test("real gateways: the audit's code hash is the keyed one, stable across a restart, and no plain digest of the code", async () => {
  await withDir(async (dir) => {
    const code = `const id = "078-05-1120"; return id.length;`;
    const hashes: string[] = [];
    for (
      const audit of [{ path: `${dir}/a.db` }, { path: `${dir}/a.db` }, { path: `${dir}/b.db` }]
    ) {
      const gw = await startTestGateway({ audit });
      try {
        const reply = await gw.execute(code);
        assert(reply.ok, JSON.stringify(reply.error));
        const [row] = gw.gateway.audit!.recent({ limit: 1 });
        hashes.push(row.codeHash);
      } finally {
        await gw.close();
      }
    }
    assertEquals(hashes[0], hashes[1], "one program, one hash, across a restart");
    assertNotEquals(hashes[0], hashes[2], "another audit, another key");
    const key = Deno.readTextFileSync(`${dir}/a.db.key`).trim();
    assertEquals(hashes[0], "hmac-sha256:" + createHmac("sha256", key).update(code).digest("hex"));
    for (const hash of hashes) assert(!hash.includes(sha256(code).slice(7)), hash);

    const key2 = "g".repeat(48);
    const gw = await startTestGateway({ audit: { path: `${dir}/c.db`, codeHashKey: key2 } });
    try {
      await gw.execute(code);
      assertEquals(
        gw.gateway.audit!.recent({ limit: 1 })[0].codeHash,
        "hmac-sha256:" + createHmac("sha256", key2).update(code).digest("hex"),
      );
    } finally {
      await gw.close();
    }
  });
});
