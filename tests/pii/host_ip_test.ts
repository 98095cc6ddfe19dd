/**
 * IPv4 addresses inside host names (a documented miss until 2026-11-30): cloud providers'
 * and wildcard-DNS names carry the address in their first label, with dashes or dots, and
 * reverse-DNS names carry it reversed. The address is as readable there as written plainly.
 * Names that only look so (archives, versions, dates, special addresses) stay.
 */

import { assertEquals } from "../assert.ts";
import { findPii, redactText } from "../../pii/mod.ts";

const ips = (text: string) => findPii(text, ["ip"]).map((f) => f.value);

Deno.test("host names: an address in a host name's first labels is found", () => {
  const cases: [string, string[]][] = [
    ["ip-10-0-1-23.ec2.internal", ["10-0-1-23"]],
    ["ip-172-31-5-9.us-west-2.compute.internal", ["172-31-5-9"]],
    ["ec2-54-123-45-67.compute-1.amazonaws.com", ["54-123-45-67"]],
    ["ssh ubuntu@ec2-3-4-5-6.eu-west-1.compute.amazonaws.com", ["3-4-5-6"]],
    ["node42-10-0-0-1.x.com", ["10-0-0-1"]],
    ["203-0-113-9.static.example.net", ["203-0-113-9"]],
    ["curl http://54.123.45.67.nip.io:8080/", ["54.123.45.67"]],
    ["9.113.0.203.in-addr.arpa. 3600 IN PTR host.example.com.", ["9.113.0.203"]],
    ['{"host":"ip-10-20-30-40.corp.local"}', ["10-20-30-40"]],
    // Short names (red team g1): EC2's `hostname`, Kubernetes pod and service names.
    ["hostname: ip-10-0-1-23", ["10-0-1-23"]],
    ["ip-172-31-5-9", ["172-31-5-9"]],
    ["10-244-1-5.default.svc", ["10-244-1-5"]],
    ["10-244-1-5.default.svc.cluster.local", ["10-244-1-5"]],
    ["10-244-1-5.default.pod", ["10-244-1-5"]],
  ];
  const wrong = cases.filter(([text, want]) => JSON.stringify(ips(text)) !== JSON.stringify(want))
    .map(([text]) => `${text} → ${JSON.stringify(ips(text))}`);
  assertEquals(wrong, []);
  assertEquals(
    redactText("connected to ec2-54-123-45-67.compute-1.amazonaws.com", { mode: "mask" }).text,
    "connected to ec2-[REDACTED_IP].compute-1.amazonaws.com",
  );
});

Deno.test("host names: look-alikes and special addresses stay", () => {
  const stay = [
    "part-1-2-3-4.tar.gz",
    "app-1-2-3-4.min.js",
    "x 1.2.3.4.dev0",
    "pip install pkg==1.2.3.4.post1",
    "2024-01-15-10.example.com",
    "v1-2-3-4.example.com",
    "node-10-0-0-012.x.com",
    "ip-127-0-0-1.ec2.internal",
    "ip-0-0-0-0.ec2.internal",
    "ip-10-0-1-23.ec2.internal_backup",
    "ip-10-0-1-23.ec2.internalx9_y",
    "1-2-3-4.txt",
    "zip-10-0-1-23",
    "strip-1-2-3-4",
    "ip-10-0-1-23-x",
    "ip-127-0-0-1",
    "release-1-2-3-4",
  ];
  assertEquals(stay.filter((text) => ips(text).length > 0), []);
});
