// Worker module of pii/worker_pool.ts: runs findPii over the texts of each request and
// answers with the findings encoded by findings_wire.ts (transferred, not copied).
//
// Request:  { id: number, texts: string[], types: PiiType[] }
// Response: { id: number, findings: Int32Array } or { id: number, error: string }

import { parentPort } from "node:worker_threads";
import { findPii } from "./find.ts";
import { encodeFindings } from "./findings_wire.ts";
import type { PiiType } from "./types.ts";

interface Request {
  id: number;
  texts: string[];
  types: PiiType[];
}

const port = parentPort;
if (port === null) throw new Error("pii/detect_worker.ts runs only as a worker");
port.on("message", (request: Request) => {
  try {
    const findings = encodeFindings(request.texts.map((t) => findPii(t, request.types)));
    port.postMessage({ id: request.id, findings }, [findings.buffer]);
  } catch (error) {
    port.postMessage({ id: request.id, error: String(error) });
  }
});
