/**
 * Values that an exported JSON document itself marks secret are redacted end to end (red team
 * n1, N1-14: each came back raw from `POST /v1/execute`): `aws ssm get-parameters-by-path
 * --with-decryption` (`"Type": "SecureString"` beside `"Value"`, under a name that does not say
 * "password"), a Postman environment (`"type": "secret"`), a Bitwarden export (a hidden custom
 * field, `"type": 1` under `fields`, and the login's `totp` seed), and a Grafana data source
 * (`secureJsonData`). The names and the markers themselves stay readable.
 */

import { assertEquals } from "../assert.ts";
import { startTestGateway } from "../helpers.ts";

const EXPORTS = {
  ssm: {
    Parameters: [{
      Name: "/prod/stripe",
      Type: "SecureString",
      Value: "Xk9mQ2pL7vRtYw3zAb4Cd5",
      Version: 3,
    }],
  },
  postman: {
    name: "prod",
    values: [{ key: "stripe", value: "Hv4nQ8wLm2Tz6Xc9Rb3Ks7", type: "secret", enabled: true }],
  },
  bitwarden: {
    items: [{
      type: 1,
      name: "AWS root",
      login: { username: "root", password: "[sealed]", totp: "JBSWY3DPEHPK3PXPJBSWY3DP" },
      fields: [{ name: "Recovery Code", value: "Pw5eJ9rYt2Uo6Ia1Sd4Fg8", type: 1 }],
    }],
  },
  grafana: {
    name: "prometheus",
    jsonData: { httpHeaderName1: "X-Api-Key" },
    secureJsonData: { httpHeaderValue1: "Zm3kW8qNv5Lr2Tx7Yc4Bh9" },
  },
};
const RAW = [
  "Xk9mQ2pL7vRtYw3zAb4Cd5",
  "Hv4nQ8wLm2Tz6Xc9Rb3Ks7",
  "JBSWY3DPEHPK3PXPJBSWY3DP",
  "Pw5eJ9rYt2Uo6Ia1Sd4Fg8",
  "Zm3kW8qNv5Lr2Tx7Yc4Bh9",
];

Deno.test({
  name: "values an exported JSON document marks secret are redacted; names stay",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const gw = await startTestGateway({ pii: { mode: "mask" } });
    try {
      const reply = await gw.post("/v1/execute", {
        code: `return JSON.parse(${JSON.stringify(JSON.stringify(EXPORTS))});`,
      });
      assertEquals(reply.status, 200, JSON.stringify(reply.body));
      const body = JSON.stringify(reply.body.result);
      assertEquals(RAW.filter((r) => body.includes(r)), [], body);
      for (
        const shown of ["/prod/stripe", "SecureString", "Recovery Code", "X-Api-Key", "AWS root"]
      ) {
        assertEquals(body.includes(shown), true, `${shown} in ${body}`);
      }
    } finally {
      await gw.close();
    }
  },
});
