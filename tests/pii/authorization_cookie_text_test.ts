/**
 * An `Authorization` header's credentials are a secret whatever the scheme word (red team n1,
 * N1-2: `ApiKey`, `SSWS`, `Splunk`, `Bot`, `sso-key`, `Zoho-oauthtoken` came back raw), the
 * scheme shown; and cookie text in any common format is judged as a HAR cookie pair is
 * (N1-3: Netscape `cookies.txt` lines; N1-12: `Set-Cookie:` lines for `__Secure-`/`__Host-`
 * names, `li_at`, `sp_dc`, and Jetty's `JSESSIONID=node0….node0`). Members beyond the red
 * team's are invented (`Negotiate`, `DeepL-Auth-Key`, `Proxy-Authorization`, JSON and nginx
 * forms, `Cookie:` lines; the HAR pair of each cookie, where Jetty's `JSESSIONID` came back raw
 * too). Also that a variable, a placeholder or a URL after the scheme, and
 * ordinary cookies, stay readable, and that the scans are linear.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText, redactValue } from "../../pii/mod.ts";
import { linearityFailures } from "./linearity.ts";

const TOKEN = "Xk9mQ2pL7vRtYw3zAb4Cd5Ef6Gh7Ij8K";

Deno.test("Authorization: the credentials are hidden whatever the scheme, the scheme shown", () => {
  const cases: Array<[string, string]> = [
    [`Authorization: ApiKey ${TOKEN}==`, "Authorization: ApiKey [REDACTED_SECRET]"],
    [`Authorization: SSWS 00${TOKEN}`, "Authorization: SSWS [REDACTED_SECRET]"],
    [
      "Authorization: Splunk 7f3a9b2c-4d5e-4f6a-8b7c-9d0e1f2a3b4c",
      "Authorization: Splunk [REDACTED_SECRET]",
    ],
    [`Authorization: Bot MTE4Njk.GxYz12.${TOKEN}`, "Authorization: Bot [REDACTED_SECRET]"],
    [`Authorization: sso-key ${TOKEN}:Ab4Cd5Ef6`, "Authorization: sso-key [REDACTED_SECRET]"],
    [
      `Authorization: Zoho-oauthtoken 1000.${TOKEN}`,
      "Authorization: Zoho-oauthtoken [REDACTED_SECRET]",
    ],
    [
      `authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag${TOKEN}`,
      "authorization: Negotiate [REDACTED_SECRET]",
    ],
    [
      `Authorization: DeepL-Auth-Key ${TOKEN}:fx`,
      "Authorization: DeepL-Auth-Key [REDACTED_SECRET]",
    ],
    [
      `Proxy-Authorization: Basic YWRtaW46aHVudGVyMg==`,
      "Proxy-Authorization: Basic [REDACTED_SECRET]",
    ],
    [
      `curl -H "Authorization: GenieKey ${TOKEN}" https://api.opsgenie.com/v2/alerts`,
      'curl -H "Authorization: GenieKey [REDACTED_SECRET]" https://api.opsgenie.com/v2/alerts',
    ],
    [`{"Authorization": "ApiKey ${TOKEN}"}`, '{"Authorization": "ApiKey [REDACTED_SECRET]"}'],
    [
      'proxy_set_header Authorization "Basic YWRtaW46WGs5bVEycEw3dlJ0";',
      'proxy_set_header Authorization "Basic [REDACTED_SECRET]";',
    ],
  ];
  for (const [text, want] of cases) assertEquals(redactText(text, { mode: "mask" }).text, want);
});

Deno.test("Authorization: a variable, a placeholder, a URL or nothing after the scheme stays", () => {
  const kept = [
    'curl -H "Authorization: ApiKey $ES_API_KEY" https://es.internal:9200/_search',
    "Authorization: SSWS ${OKTA_TOKEN}",
    "Authorization: ApiKey <your-api-key>",
    "Authorization: Bot",
    "Authorization: Negotiate",
    "the Authorization header carries the key",
    `Authorization: ${TOKEN} https://api.example.com/v1/run`,
  ];
  const leaks: string[] = [];
  for (const text of kept) {
    const out = redactText(text, { mode: "mask" }).text;
    // A token sent with no scheme is the keyword scan's; the URL after it stays.
    if (!out.includes("https://api.example.com/v1/run") && text.includes("https://api.example")) {
      leaks.push(out);
    }
    if (text !== kept[6] && out !== text) leaks.push(out);
  }
  assertEquals(leaks, []);
});

const COOKIES: Array<[string, string]> = [
  ["JSESSIONID", "node0x8k2m9q4w7e1r5t3y6u0i8o2p4a1s.node0"],
  ["__Secure-3PSID", `g.a000${TOKEN}${TOKEN}`],
  ["__Host-GAPS", `1:${TOKEN}`],
  ["li_at", `AQEDAR${TOKEN}${TOKEN}`],
  ["sp_dc", `AQ${TOKEN}${TOKEN}`],
  ["sessionid", TOKEN],
  ["_shop_session", `${TOKEN}--abc123`],
];

Deno.test("cookie text: a Set-Cookie or Cookie line's session cookie is hidden as in HAR", () => {
  const raw: string[] = [];
  for (const [name, value] of COOKIES) {
    for (
      const text of [
        `HTTP/2 200\nset-cookie: ${name}=${value}; Path=/; Secure; HttpOnly\n`,
        `Cookie: theme=dark; ${name}=${value}; lang=en`,
      ]
    ) {
      const out = redactText(text, { mode: "mask" }).text;
      if (out.includes(value)) raw.push(out);
    }
    // The same header as a HAR pair: the id (without a server's route) is hidden too.
    const har = redactValue({ name: "set-cookie", value: `${name}=${value}; Path=/; Secure` }, {
      mode: "mask",
    }).value;
    if (JSON.stringify(har).includes(value.replace(/\.node0$/, ""))) raw.push(JSON.stringify(har));
  }
  assertEquals(raw, []);
  // Ordinary cookies and the attributes stay.
  const plain =
    "set-cookie: theme=solarized-dark-2024; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT";
  assertEquals(redactText(plain, { mode: "mask" }).text, plain);
  const cart = "Cookie: cart=sku-12345,sku-67890; consent=necessary,analytics";
  assertEquals(redactText(cart, { mode: "mask" }).text, cart);
});

Deno.test("cookie text: a Netscape cookie file's session cookies are hidden, others kept", () => {
  const jar = [
    "# Netscape HTTP Cookie File",
    `.example.com\tTRUE\t/\tTRUE\t1767225600\tsessionid\t${TOKEN}`,
    `#HttpOnly_github.com\tFALSE\t/\tTRUE\t1767225600\tuser_session\tYp4nQ8wLm2Tz6Xc9Rb3Ks7Ef6Gh7Ij8K`,
    `.linkedin.com\tTRUE\t/\tTRUE\t0\tli_at\tAQEDAR${TOKEN}`,
    `.example.com\tTRUE\t/\tFALSE\t1767225600\ttheme\tdark`,
  ].join("\n");
  const out = redactText(jar, { mode: "mask" }).text;
  assertEquals(out.split("\n").slice(1), [
    ".example.com\tTRUE\t/\tTRUE\t1767225600\tsessionid\t[REDACTED_SECRET]",
    "#HttpOnly_github.com\tFALSE\t/\tTRUE\t1767225600\tuser_session\t[REDACTED_SECRET]",
    ".linkedin.com\tTRUE\t/\tTRUE\t0\tli_at\t[REDACTED_SECRET]",
    ".example.com\tTRUE\t/\tFALSE\t1767225600\ttheme\tdark",
  ]);
});

/** Text made of one member of the class, repeated: every new scan reads it in linear time. */
const REPEATED: Array<[string, (i: number) => string]> = [
  ["authorization names", () => "authorization"],
  ["authorization schemes", (i) => `Authorization: ApiKey k${i % 10} `],
  ["authorization, no credentials", () => 'Authorization: "'],
  ["cookie file fields", () => "\tTRUE\t/\tFALSE\t1\t"],
  ["cookie file lines", (i) => `.a\tTRUE\t/\tTRUE\t1\tsid\tv${i % 10}\n`],
  ["set-cookie pairs", (i) => `set-cookie: li_at=v${i % 10}; `],
];

Deno.test("authorization and cookie text: the scans are linear (4× input ≤ 8× time; ≤ 25× a log)", () => {
  const failures = linearityFailures((t) => findPii(t), REPEATED);
  if (failures.length > 0) throw new Error(failures.join("\n"));
});
