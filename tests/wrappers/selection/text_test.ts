/** Text normalisation: identifier splitting, name normalisation, terms and code queries. */
import { assertEquals } from "./helpers.ts";
import { codeQueryText, normalizeName, splitIdentifier } from "../../../wrappers/selection/mod.ts";
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
