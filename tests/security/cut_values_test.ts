/**
 * Text is cut before it is redacted (error messages, log lines, call errors, approval reasons,
 * a server's stderr line), and a cut value is no longer recognised by redaction, yet leaks. So
 * a cut drops whatever it may have left of a value (`dropPartialToken`): the cut token, the
 * groups of a value written with spaces before it, an unterminated PEM block. Members of the
 * class: IBANs, cards, phone numbers and SSNs in groups, inside JSON, keys cut mid-block, over
 * every cut position; then the sinks end to end: a real gateway's error message and log line,
 * and the tool-name warning of a real tool list.
 */

import { assert, assertEquals } from "../assert.ts";
import { dropPartialToken } from "../../sandbox/mod.ts";
import { vetTools } from "../../upstream/mod.ts";
import { startTestGateway } from "../helpers.ts";

const SPACED = [
  "DE89 3704 0044 0532 0130 00",
  "GB82 WEST 1234 5698 7654 32",
  "4111 1111 1111 1111",
  "3782 822463 10005",
  "+1 415 555 0134",
  "(415) 555-0134",
  "+44 20 7946 0958",
  "078 05 1120",
  "4111-1111-1111-1111",
];

Deno.test("dropPartialToken: no cut inside a value written with spaces leaves any of it", () => {
  for (const lead of ["note: ", 'note: {"v":"', "a, b; "]) {
    for (const value of SPACED) {
      const text = `${lead}${value} end of text`;
      for (let k = lead.length + 1; k < lead.length + value.length; k++) {
        const kept = dropPartialToken(text.slice(0, k));
        assertEquals(kept, lead, `${value} cut after ${k - lead.length} characters: ${kept}`);
      }
    }
  }
  // Ordinary text loses only its cut word; a whole value before the cut is kept for redaction.
  assertEquals(dropPartialToken("plain words here"), "plain words ");
  assertEquals(dropPartialToken("call 4111111111111111 now"), "call 4111111111111111 ");
  assertEquals(dropPartialToken("word "), "word ");
});

/** `value`'s spaces written as an HTML character reference (`&nbsp;`, `&#32;`, `&#x20;`). */
const REFERENCES = [
  "&nbsp;",
  "&#32;",
  "&#x20;",
  "&#160;",
  "&ensp;",
  // Escaped again (HTML inside XML or RSS), and invisible characters beside each space
  // (red team g1: both kept 18 of an IBAN's 22 characters).
  "&amp;nbsp;",
  "&amp;#160;",
  "&amp;amp;nbsp;",
  "\u200b ",
  " \u200b",
  "\u00ad ",
  "\u2060 \u2060",
];

/** `text` as UTF-16LE bytes read as text: a NUL after every character. */
function utf16le(text: string): string {
  return [...text].map((c) => c + "\0").join("");
}

Deno.test("dropPartialToken: values spaced with HTML references, or in UTF-16 read as bytes, go whole", () => {
  // Red team f1: `;` ended a token, so a cut inside `DE89&nbsp;3704&nbsp;…` kept 20 of the
  // IBAN's 22 characters, which the detectors (reading `&nbsp;` as a space) no longer found;
  // and in UTF-16 text the groups, twice as long with their NULs, were no groups.
  for (const lead of ["note: ", "<td>IBAN:", 'x {"v":"']) {
    for (const value of SPACED) {
      for (const ref of REFERENCES) {
        const spaced = value.replaceAll(" ", ref);
        const text = `${lead}${spaced} end`;
        for (let k = lead.length + 1; k < lead.length + spaced.length; k++) {
          const kept = dropPartialToken(text.slice(0, k));
          const digits = kept.slice(lead.length).replace(/\D/g, "");
          assertEquals(digits, "", `${spaced} cut after ${k - lead.length}: ${kept}`);
        }
      }
      const wide = utf16le(`${lead}${value} end`);
      const from = utf16le(lead).length;
      for (let k = from + 1; k < from + 2 * value.length; k++) {
        const kept = dropPartialToken(wide.slice(0, k)).replaceAll("\0", "");
        assertEquals(kept.slice(0, lead.length), lead.slice(0, kept.length));
        assertEquals(
          kept.slice(lead.length).replace(/\D/g, ""),
          "",
          `${value} (UTF-16) cut at ${k}`,
        );
      }
    }
  }
  // An ampersand that starts no reference still ends nothing; a `;` after one still ends a token.
  assertEquals(dropPartialToken("a=1&b=2; tail 12"), "a=1&b=2; tail ");
  assertEquals(dropPartialToken("AT&T; DE89 3704"), "AT&T; ");
});

Deno.test("dropPartialToken: a token of any length goes whole; a group glued to its label goes, the label stays", () => {
  // A signed URL: the cut falls after 15 of the card's digits, 600 characters into the token.
  const url = "GET https://pay.example.com/v1/charge?sig=" + "Q".repeat(600) +
    "&card=4111111111111111&x=1";
  const cut = url.indexOf("&card=") + 6 + 15;
  // (`GET`, four capitals, could be a group of an IBAN: it goes too.)
  assertEquals(dropPartialToken("y " + url.slice(0, cut)), "y ");
  assertEquals(dropPartialToken("a".repeat(5000)), "");
  for (
    const [text, kept] of [
      ["iban=DE89 3704 0044 05", "iban="],
      ["card:4111\t1111 1111 11", "card:"],
      ['{"card_number":"4111 1111 1111 11', '{"card_number":"'],
      ["phone=+1 415 555 01", "phone="],
      ["total: 42 items", "total: "],
      ["see the notes", "see the "],
      // Scripts written without spaces, and pictographs, end a token: a cut line of Chinese keeps
      // its text, and loses only the partial value at its end.
      ["中文日志消息很长", "中文日志消息很长"],
      ["邮箱ann@exam", "邮箱"],
      ["😀😀😀😀", "😀😀😀😀"],
    ]
  ) assertEquals(dropPartialToken(text), kept, text);
});

Deno.test("dropPartialToken: a PEM block cut before its END line is dropped from its BEGIN line", () => {
  const body = Array.from(
    { length: 20 },
    (_, i) => `MIIEow${String(i).padStart(2, "0")}`.padEnd(64, "Q"),
  )
    .join("\n");
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
  const text = `config: ${pem} done`;
  const at = text.indexOf("-----BEGIN");
  for (let k = at + 5; k < text.indexOf("-----END") + 5; k += 17) {
    assertEquals(dropPartialToken(text.slice(0, k)), "config: ", `cut at ${k}`);
  }
  // A whole block stays for the secret detector to find.
  assert(dropPartialToken(text.slice(0, -3)).includes("-----END RSA PRIVATE KEY-----"));
});

Deno.test("real gateway: an error message and a log line cut inside spaced values keep none of them", async () => {
  const gw = await startTestGateway();
  try {
    // The red team's case: the message is capped, the cut falls inside the IBAN.
    const values = "IBAN DE89 3704 0044 0532 0130 00 and card 4111 1111 1111 1111 end";
    const failed = await gw.execute(
      `throw new Error("x ".repeat(4069) + ${JSON.stringify(values)})`,
    );
    const message = failed.error!.message;
    assert(!/3704|0130|1111/.test(message), message.slice(-80));
    // Every spaced value, with the message's cap (8 KiB less the marker: 8,177 bytes) falling
    // 3, 8 and 13 characters into it: cut by the runner in the sandbox process.
    for (const value of SPACED) {
      for (const into of [3, 8, 13]) {
        const lead = "x".repeat(8177 - into);
        const reply = await gw.execute(`throw new Error(${JSON.stringify(lead + " " + value)})`);
        const text = reply.error!.message.slice(8000);
        const digits = value.replace(/\D/g, "").slice(0, 4);
        assert(!text.includes(digits), `${value}, cut ${into} in: ${text.slice(-40)}`);
      }
    }
    // A log line cut by the log budget, at several positions inside the values.
    for (const pad of [0, 9, 17, 30]) {
      const logged = await gw.execute(
        `console.log("y ".repeat(${Math.floor((64 * 1024 - 40) / 2) + pad}) + ${
          JSON.stringify(values)
        }); return 1;`,
      );
      const text = logged.logs?.map((l) => typeof l === "string" ? l : JSON.stringify(l)).join(
        "\n",
      ) ?? "";
      assert(!/3704 0044|0532 0130|1111 1111/.test(text), `pad ${pad}: ${text.slice(-80)}`);
    }
  } finally {
    await gw.close();
  }
});

Deno.test("real gateway: error messages and log lines cut inside `&nbsp;`-spaced or UTF-16 values keep none of them", async () => {
  const gw = await startTestGateway({ pii: { mode: "mask" } });
  try {
    const iban = "DE89 3704 0044 0532 0130 00";
    const forms = [
      `<td>IBAN:&nbsp;${iban.replaceAll(" ", "&nbsp;")}</td>`,
      `card&#32;4111&#32;1111&#32;1111&#32;1111 ok`,
      `<description>IBAN:&amp;nbsp;${iban.replaceAll(" ", "&amp;nbsp;")}</description>`,
      `card 4111\u200b 1111\u200b 1111\u200b 1111 ok`,
      utf16le(`card 4111 1111 1111 1111 ok`),
    ];
    const leaks: string[] = [];
    for (const form of forms) {
      const digits = form.replace(/\D/g, "");
      // Cut by the runner (the message cap) at several places inside the value.
      for (const into of [6, 11, 17, 24, 33]) {
        const lead = "x".repeat(8177 - into);
        const reply = await gw.execute(`throw new Error(${JSON.stringify(lead + " " + form)})`);
        const tail = reply.error!.message.slice(8000).replace(/\D/g, "");
        if (tail.length >= 4 && digits.includes(tail.slice(0, 4))) {
          leaks.push(`error ${into}: ${tail}`);
        }
      }
      // Cut by the gateway (the log budget).
      for (const pad of [8, 12, 19, 27]) {
        const logged = await gw.execute(
          `console.log("y".repeat(${64 * 1024 - 55 - pad}) + " " + ${
            JSON.stringify(form)
          }); return 1;`,
        );
        const tail = JSON.stringify(logged.logs).slice(-120).replace(/\\u0000/g, "")
          .replace(/\D/g, "");
        if (tail.length >= 4 && digits.includes(tail.slice(-4))) leaks.push(`log ${pad}: ${tail}`);
      }
    }
    assertEquals(leaks, []);
  } finally {
    await gw.close();
  }
});

Deno.test("tool list: a name over 128 characters is never shown cut (no digits of a card in the warning)", () => {
  const name = "tool_" + "a".repeat(107) + "_4111111111111111_x";
  const { tools, warnings } = vetTools(
    "s",
    [{ name, inputSchema: { type: "object" } }],
    undefined,
    () => undefined,
  );
  assertEquals(tools, []);
  assertEquals(warnings.length, 1);
  assert(!/\d{4}/.test(warnings[0].tool + warnings[0].problem), JSON.stringify(warnings));
});

Deno.test("real gateway: a log line cut inside a token over 512 characters keeps none of the card in it", async () => {
  const gw = await startTestGateway({ pii: { mode: "mask" }, sandbox: { maxLogBytes: 2000 } });
  try {
    // A signed URL (one long token) whose query holds a card; the log budget cuts the line
    // after 15 of its digits (red team, 2026-11-30, round 2).
    const prefix = "GET https://pay.example.com/v1/charge?sig=" + "Q".repeat(600) + "&card=";
    for (const digits of [4, 11, 15]) {
      const pad = 2000 - prefix.length - digits - 1;
      const reply = await gw.execute(
        `console.log("y".repeat(${pad}) + " " + ${
          JSON.stringify(prefix)
        } + "4111111111111111&exp=1228"); return 1;`,
      );
      const logs = JSON.stringify(reply.logs);
      assert(!logs.includes("4111"), `${digits} digits: ${logs.slice(-60)}`);
    }
  } finally {
    await gw.close();
  }
});
