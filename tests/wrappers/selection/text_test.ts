/** Text normalisation: identifier splitting, name normalisation, terms and code queries. */
import { assert, assertEquals } from "./helpers.ts";
import { codeQueryText, normalizeName, splitIdentifier } from "../../../wrappers/selection/mod.ts";
import { MAX_QUERY_CODE_CHARS } from "../../../wrappers/selection/text.ts";
import { MAX_QUERY_EMBED_CHARS } from "../../../wrappers/selection/query_queue.ts";
import { stem, terms } from "../../../wrappers/selection/text.ts";

Deno.test("identifiers split on camelCase, snake_case, kebab-case and acronyms", () => {
  assertEquals(splitIdentifier("readFile"), ["read", "file"]);
  assertEquals(splitIdentifier("read_text_file"), ["read", "text", "file"]);
  assertEquals(splitIdentifier("API-post-search"), ["api", "post", "search"]);
  assertEquals(splitIdentifier("parseHTTPResponse2"), ["parse", "http", "response2"]);
});

Deno.test("names normalise to lowercase alphanumerics", () => {
  assertEquals(normalizeName("readFile"), "readfile");
  assertEquals(normalizeName("read_file"), "readfile");
  assertEquals(normalizeName("read-file"), "readfile");
  assertEquals(normalizeName("list-collections"), normalizeName("listCollections"));
});

Deno.test("terms drop stopwords and stem plurals and verb forms", () => {
  assertEquals(terms("List all the files in directories"), ["list", "file", "directory"]);
  assertEquals(stem("branches"), "branch");
  assertEquals(stem("commits"), "commit");
  assertEquals(stem("listing"), "list");
  assertEquals(stem("status"), "status");
  assertEquals(stem("class"), "class");
});

Deno.test("code becomes a query of its identifiers, without keywords", () => {
  assertEquals(
    codeQueryText("const issues = await github.listIssues({ repo });\nreturn issues.length;"),
    "issues github list issues repo issues",
  );
});

// The query is built on the event loop every tenant shares, before the request can be
// refused: its cost is bounded by what the encoder reads, not by the code's size (red team
// rt-n3 B3: 150,000 identifiers split for a query then cut to 2,000 characters).
Deno.test("the code query stops at the characters the encoder reads", () => {
  const query = codeQueryText("readHttpResponse + ".repeat(30_000));
  assert(query.length <= MAX_QUERY_EMBED_CHARS, `${query.length} characters`);
  assert(query.startsWith("read http response read http response"), query.slice(0, 80));
  assertEquals(codeQueryText("listIssues() ".repeat(10), 12), "list issues ");
});

Deno.test("the code query reads a bounded prefix of the code", () => {
  // Only keywords (no query words) up to the bound, then a word: never reached.
  const whole = MAX_QUERY_CODE_CHARS - (MAX_QUERY_CODE_CHARS % 12);
  const noise = "await this; ".repeat(whole / 12).padEnd(MAX_QUERY_CODE_CHARS);
  assertEquals(codeQueryText(noise + " listIssues"), "");
  assertEquals(codeQueryText(noise.slice(0, 1200) + " listIssues"), "list issues");
});
