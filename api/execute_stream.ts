/**
 * `POST /v1/execute` with `Accept: text/event-stream`: the execution's events as they
 * happen. `log` (`{ level, text }`, redacted), `progress` (`{ elapsedMs, message }`, once a
 * second), `approval` (`{ id, tool, server, arguments, executionId, requestedAt, expiresAt }`:
 * answer it with `POST /v1/approvals/{id}`), then exactly one `result` (the usual response
 * body) or one `error` (`{ error: { kind, message } }`, for a request the gateway refused
 * once the stream had begun: queue full, shutting down). Closing the stream cancels the
 * execution and withdraws its pending approvals.
 *
 * @module
 */

import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { JudgedValues, redactLogLine, Vault } from "../pii/mod.ts";
import {
  type Caller,
  type ExecuteRequest,
  type Gateway,
  GatewayError,
  redactionOptions,
} from "../gateway/mod.ts";
import { approvalEntry } from "./approvals.ts";

/** `log` events sent per execution at most; the rest are only in the result's `logs`. */
export const MAX_LOG_EVENTS = 1000;
/** How often a `progress` event is sent, in ms. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Whether the client asked for an event stream. */
export function wantsEventStream(accept: string | undefined): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept ?? "");
}

/**
 * Runs `request` and streams its events.
 * @param toError turns what `gateway.execute` threw into the error to send
 */
export function streamExecution(
  c: Context,
  gateway: Gateway,
  request: ExecuteRequest,
  caller: Caller,
  toError: (error: unknown) => GatewayError,
): Response {
  return streamSSE(c, async (stream) => {
    const cancel = new AbortController();
    stream.onAbort(() => cancel.abort());
    caller.signal?.addEventListener("abort", () => cancel.abort(), { once: true });
    let closed = false;
    const send = (event: string, data: unknown) => {
      if (closed) return Promise.resolve();
      return stream.writeSSE({ event, data: JSON.stringify(data) }).catch(() => {
        closed = true;
      });
    };
    // The same vault as the execution's when there is a session; else one for this stream.
    const vault = caller.sessionId
      ? gateway.vaults.get({
        tenant: caller.tenant.id,
        keyId: caller.keyId ?? "",
        session: caller.sessionId,
      })
      : new Vault();
    // Log events are judged with the objects they render, and hide what earlier lines were
    // found to hold (red team n1; pii/log_lines.ts).
    const redaction = { ...redactionOptions(caller.tenant, vault), judged: new JudgedValues() };
    let logEvents = 0;
    const started = Date.now();
    let waiting = 0;
    const progress = setInterval(() => {
      void send("progress", {
        elapsedMs: Date.now() - started,
        message: waiting > 0 ? `waiting for ${waiting} approval(s)` : "running",
      });
    }, PROGRESS_INTERVAL_MS);
    try {
      const response = await gateway.execute(request, {
        ...caller,
        signal: cancel.signal,
        onLog: (entry) => {
          if (++logEvents > MAX_LOG_EVENTS) return;
          void send("log", {
            level: entry.level,
            text: redactLogLine(entry.text, entry.values, redaction).text,
          });
        },
        approvals: {
          answersItself: false,
          ask: (pending, signal) => {
            waiting++;
            signal.addEventListener("abort", () => waiting--, { once: true });
            void send("approval", approvalEntry(pending));
          },
        },
      });
      await send("result", response);
    } catch (error) {
      await send("error", toError(error).toBody());
    } finally {
      clearInterval(progress);
    }
  });
}
