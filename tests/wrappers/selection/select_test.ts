/** selectTools and the code scanner: explicit and code-named tools first, then ranked ones. */
import { assert, assertEquals, assertRejects, assertSelectionError, tool } from "./helpers.ts";
import {
  lexicalEmbedder,
  selectTools,
  ToolIndex,
  toolsNamedInCode,
} from "../../../wrappers/selection/mod.ts";

const catalogue = [
  tool("github", "create_issue", "Create a new issue in a GitHub repository"),
  tool("github", "list_issues", "List issues in a GitHub repository"),
  tool("github", "search_code", "Search for code across GitHub repositories"),
  tool("filesystem", "read_file", "Read the complete contents of a file"),
  tool("filesystem", "write_file", "Create or overwrite a file"),
  tool("mongodb", "list-collections", "List all collections for a given database"),
  tool("slack", "slack_post_message", "Post a new message to a Slack channel"),
  tool("time", "get_current_time", "Get current time in a specific timezone"),
];

function lexicalIndex(): ToolIndex {
  const index = new ToolIndex({ embedder: lexicalEmbedder("test") });
  index.setCatalogue(catalogue);
  return index;
}

const ids = (tools: Array<{ id: string }>) => tools.map((t) => t.id);

Deno.test("tools named in code: camelCase, snake_case, kebab-case, bracket access and tools.call", () => {
  const code = `
    const files = await filesystem.readFile({ path: "a.txt" });
    const cols = await mongodb.listCollections({ database: "app" });
    await slack["slack_post_message"]({ channel_id: "C1", text: "hi" });
    const t = await tools.call("time.get_current_time", { timezone: "UTC" });
    await github?.create_issue({ title: "x" });
    await other.readFile({});            // not a server
    filesystem.writeFile;                 // named but not called
    await tools.call("github.nope", {});  // not a tool
  `;
  assertEquals(ids(toolsNamedInCode(code, catalogue)), [
    "filesystem.read_file",
    "mongodb.list-collections",
    "slack.slack_post_message",
    "time.get_current_time",
    "github.create_issue",
  ]);
  assertEquals(toolsNamedInCode("const x = 1;", catalogue), []);
});

Deno.test("explicit ids come first, then code-named tools, then ranked tools", async () => {
  const selected = await selectTools(lexicalIndex(), {
    code: "const f = await filesystem.read_file({ path: 'bug.txt' }); return f;",
    intent: "create a github issue about the bug",
    explicit: ["time.get_current_time", "nope.unknown"],
    maxTools: 5,
    minScore: 0,
  });
  const got = ids(selected);
  assertEquals(got.slice(0, 2), ["time.get_current_time", "filesystem.read_file"]);
  assertEquals(got[2], "github.create_issue");
  assert(got.length <= 5);
  assertEquals(new Set(got).size, got.length);
});

Deno.test("explicit and code-named tools are kept beyond maxTools; ranked ones fill the rest", async () => {
  const index = lexicalIndex();
  const code =
    "await filesystem.readFile({}); await filesystem.writeFile({}); await github.listIssues({});";
  const none = await selectTools(index, { code, intent: "search code", maxTools: 2, minScore: 0 });
  assertEquals(ids(none), ["filesystem.read_file", "filesystem.write_file", "github.list_issues"]);
  const some = await selectTools(index, {
    code: "",
    intent: "github issues",
    maxTools: 1,
    minScore: 0,
  });
  assertEquals(some.length, 1);
  assertEquals(
    await selectTools(index, { code: "", intent: "github", maxTools: 0, minScore: 0 }),
    [],
  );
});

Deno.test("allowed() filters every kind of selection", async () => {
  const selected = await selectTools(lexicalIndex(), {
    code: "await filesystem.writeFile({});",
    intent: "github issue",
    explicit: ["time.get_current_time"],
    maxTools: 10,
    minScore: 0,
    allowed: (id) => id.startsWith("github.") && id !== "github.create_issue",
  });
  assertEquals(ids(selected).sort(), ["github.list_issues", "github.search_code"]);
});

Deno.test("minScore drops weak ranked matches (scores relative to the best match)", async () => {
  const index = lexicalIndex();
  const all = await index.search("list issues in the repository", 10);
  assert(all.length >= 3, "several tools share terms with the query");
  const strict = await selectTools(index, {
    code: "",
    intent: "list issues in the repository",
    maxTools: 10,
    minScore: 0.9,
  });
  assertEquals(ids(strict), ["github.list_issues"]);
  const loose = await selectTools(index, {
    code: "",
    intent: "list issues in the repository",
    maxTools: 10,
    minScore: 0,
  });
  assertEquals(loose.length, all.length);
});

Deno.test("code identifiers join the query", async () => {
  const selected = await selectTools(lexicalIndex(), {
    code: "const current = await clock.currentTime({ timezone: 'UTC' });",
    maxTools: 1,
    minScore: 0,
  });
  assertEquals(ids(selected), ["time.get_current_time"]);
});

Deno.test("selectTools validates maxTools and minScore", async () => {
  const index = lexicalIndex();
  for (
    const bad of [{ maxTools: -1, minScore: 0 }, { maxTools: 1.5, minScore: 0 }, {
      maxTools: 3,
      minScore: 2,
    }]
  ) {
    const err = await assertRejects(() => selectTools(index, { code: "", ...bad }));
    assertSelectionError(err, "invalid_argument");
  }
});
