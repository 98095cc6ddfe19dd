/**
 * A server whose tool list never stops changing has it read at most once a second, also when
 * changes keep arriving while the list is being read (they were read again right behind it:
 * a red team measured 2.2 reads a second of a 3,000-tool list, each re-indexing the catalogue
 * on the shared event loop). Real MCP server (tests/fixtures/servers/churn.ts), real
 * connection.
 */

import assert from "node:assert/strict";

import { UpstreamManager } from "../../upstream/mod.ts";
import { fixtureServer } from "../fixtures/servers/local.ts";

Deno.test("a list that changes during its reading is read again only after the spacing", async () => {
  const changes: number[] = [];
  const upstream = new UpstreamManager({
    // A change every 30 ms; every tools/list answered after 200 ms, so several changes arrive
    // during each read.
    churn: fixtureServer("churn", ["--tools", "20", "--period", "30", "--list-delay", "200"]),
  }, {
    logger: (event) => {
      if (event.event === "upstream.tools_changed") changes.push(performance.now());
    },
  });
  try {
    await upstream.start();
    const from = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const seen = changes.filter((t) => t >= from);
    // Back to back, a read every ~200 ms would make about 17; spaced, one a second.
    assert.ok(seen.length >= 2, `changes are still picked up (${seen.length})`);
    assert.ok(seen.length <= 5, `${seen.length} reads applied in 3.5 s`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(
        seen[i] - seen[i - 1] >= 900,
        `reads ${(seen[i] - seen[i - 1]).toFixed(0)} ms apart`,
      );
    }
  } finally {
    await upstream.close();
  }
});
