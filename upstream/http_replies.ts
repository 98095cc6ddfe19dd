/**
 * The bounds of `reply_bounds.ts` for a Streamable HTTP server's replies, applied before the
 * SDK's transport parses them.
 *
 * The SDK reads a JSON response whole (`response.json()`) and parses every SSE event's data,
 * with no limit on either. This `fetch` wrapper hands it a body in which a message longer than
 * {@linkcode MAX_MESSAGE_CHARS} characters, or holding more than
 * {@linkcode MAX_MESSAGE_VALUES} JSON values, has been replaced, unparsed, by an error
 * response to the request it answered (as a stdio server's over-long line is). At most one
 * message's worth of text is held at a time per response.
 *
 * @module
 */

import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

import {
  droppedMessageId,
  droppedReplyError,
  ID_WINDOW_CHARS,
  MAX_MESSAGE_CHARS,
  replyOverBounds,
  TOO_LONG,
} from "./reply_bounds.ts";

/** Options of {@linkcode boundedReplies}. */
export interface BoundedRepliesOptions {
  /** Called once per message dropped, with why (`reply_bounds.ts`'s words). */
  ondrop?: (why: string) => void;
}

/**
 * Wraps `fetchFn` so that the bodies of `application/json` and `text/event-stream` responses
 * reach the caller with every over-bound message replaced by an error response to its request
 * (its id read from the message's ends, or, for a JSON body, from the request's). Other
 * responses (error statuses, 202, other media types) pass with their body cut after
 * {@linkcode MAX_OTHER_BODY_BYTES} bytes: the SDK reads such a body whole into an error message
 * (red team f2: a 500 with a 300 MB body took the gateway from 212 to 1,125 MiB for one call).
 */
export function boundedReplies(fetchFn: FetchLike, options: BoundedRepliesOptions = {}): FetchLike {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetchFn(url, init);
    if (response.body === null) return response;
    if (!response.ok) return rebody(response, cappedBody(response.body, MAX_OTHER_BODY_BYTES));
    const type = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const body = typeof init?.body === "string" ? init.body : "";
    // The SDK writes a request's id last; a notification's POST has none.
    const requestId = droppedMessageId("", body.slice(-ID_WINDOW_CHARS));
    if (type === "application/json") {
      return await boundedJson(response, requestId, options);
    }
    if (type === "text/event-stream") {
      return rebody(response, response.body.pipeThrough(boundedEvents(requestId, options)));
    }
    return rebody(response, cappedBody(response.body, MAX_OTHER_BODY_BYTES));
  };
}

/**
 * Most bytes of a body that is not a JSON or SSE reply (an error page, a 202's body) passed
 * on: the SDK shows none of it to the code ("HTTP 500 (the response is not shown)") and reads
 * it whole, so more is memory spent on nothing.
 */
export const MAX_OTHER_BODY_BYTES = 64 * 1024;

/**
 * `body` cut after `maxBytes` bytes: what is past them is never read (the source is
 * cancelled, which closes the connection's body).
 */
function cappedBody(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let passed = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) return controller.close();
      const room = maxBytes - passed;
      if (value.length < room) {
        passed += value.length;
        controller.enqueue(value);
        return;
      }
      if (room > 0) controller.enqueue(value.subarray(0, room));
      passed = maxBytes;
      controller.close();
      await reader.cancel().catch(() => {});
    },
    cancel(reason) {
      return reader.cancel(reason).catch(() => {});
    },
  });
}

/** A JSON body read up to the bound, and replaced when over it. */
async function boundedJson(
  response: Response,
  requestId: string | number | undefined,
  options: BoundedRepliesOptions,
): Promise<Response> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const parts: string[] = [];
  let chars = 0;
  let over: string | undefined;
  let tail = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    chars += value.length;
    if (chars > MAX_MESSAGE_CHARS) {
      // The rest is not read: the reply's id is the request's.
      over = TOO_LONG;
      tail = (parts.join("") + value).slice(-ID_WINDOW_CHARS);
      await reader.cancel().catch(() => {});
      break;
    }
    parts.push(value);
  }
  const text = over ? "" : parts.join("");
  over ??= replyOverBounds(text);
  if (!over) return rebody(response, text);
  options.ondrop?.(over);
  const id = requestId ??
    droppedMessageId(text.slice(0, ID_WINDOW_CHARS), tail || text.slice(-ID_WINDOW_CHARS));
  // Without an id there is nobody to answer: an empty batch parses to no message.
  return rebody(response, id === undefined ? "[]" : JSON.stringify(droppedReplyError(id, over)));
}

/** A response like `response` (status, headers) with another body. */
function rebody(response: Response, body: string | ReadableStream<Uint8Array>): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * An SSE stream (bytes to bytes) whose events pass unchanged, except a message event over the
 * bounds, which becomes an error response: to the request named at its ends, else to
 * `requestId` (the request whose POST this stream answers; none for the GET stream). An
 * event's lines are held until its blank line (the SSE format dispatches there), at most
 * {@linkcode MAX_MESSAGE_CHARS} characters of them; past that the rest of the event is read
 * past, unkept. Lines end at CR, LF or CRLF (HTML's server-sent events).
 */
function boundedEvents(
  requestId: string | number | undefined,
  options: BoundedRepliesOptions,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  /** The current line's text so far (not kept while an event is read past). */
  let pending = "";
  /** The last chunk ended with CR: an LF opening the next one is its second half. */
  let afterCr = false;
  /** The current event's lines as received, their length, data, and type. */
  let lines: string[] = [];
  let held = 0;
  let data: string[] = [];
  let type = "";
  /** The current event is over the bound and being read past. */
  let dropping = false;
  /** While dropping: the current line has characters (its end is no blank line). */
  let midLine = false;

  const reset = () => {
    lines = [];
    held = 0;
    data = [];
    type = "";
  };
  const answer = (id: string | number | undefined, why: string, out: string[]) => {
    options.ondrop?.(why);
    if (id === undefined) return;
    out.push(`event: message\ndata: ${JSON.stringify(droppedReplyError(id, why))}\n\n`);
  };
  const startDropping = (out: string[]) => {
    // Only a message event is answered; another type the SDK ignores anyway.
    if (type === "" || type === "message") answer(requestId, TOO_LONG, out);
    reset();
    dropping = true;
  };
  const dispatch = (out: string[]) => {
    if (lines.length === 0) return;
    const text = data.join("\n");
    const why = (type === "" || type === "message") && data.length > 0
      ? replyOverBounds(text)
      : undefined;
    if (why) {
      const id = droppedMessageId(text.slice(0, ID_WINDOW_CHARS), text.slice(-ID_WINDOW_CHARS));
      answer(id ?? requestId, why, out);
    } else {
      out.push(lines.join("\n") + "\n\n");
    }
    reset();
  };
  const endLine = (text: string, out: string[]) => {
    if (dropping) {
      if (text === "" && !midLine) dropping = false;
      midLine = false;
      return;
    }
    if (text === "") return dispatch(out);
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    if (field === "data" || field === "event") {
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else type = value;
    }
    lines.push(text);
    held += text.length + 1;
    if (held > MAX_MESSAGE_CHARS) startDropping(out);
  };
  const lineEnds = /[\r\n]/g;
  const feed = (text: string, out: string[]) => {
    let start = 0;
    if (afterCr && text.charCodeAt(0) === 0x0a) start = 1;
    afterCr = false;
    while (true) {
      lineEnds.lastIndex = start;
      const found = lineEnds.exec(text);
      if (!found) break;
      const end = found.index;
      endLine(pending + text.slice(start, end), out);
      pending = "";
      if (text.charCodeAt(end) === 0x0d) {
        if (end === text.length - 1) afterCr = true;
        else if (text.charCodeAt(end + 1) === 0x0a) start = end + 2;
        else start = end + 1;
      } else start = end + 1;
      if (afterCr) start = text.length;
    }
    const rest = text.slice(start);
    if (dropping) {
      if (rest !== "") midLine = true;
      return;
    }
    pending += rest;
    if (held + pending.length > MAX_MESSAGE_CHARS) {
      startDropping(out);
      midLine = pending !== "";
      pending = "";
    }
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const out: string[] = [];
      feed(decoder.decode(chunk, { stream: true }), out);
      if (out.length > 0) controller.enqueue(encoder.encode(out.join("")));
    },
    flush(controller) {
      const out: string[] = [];
      // An event the stream cut off before its blank line is discarded (so the SDK would).
      feed(decoder.decode(), out);
      if (out.length > 0) controller.enqueue(encoder.encode(out.join("")));
    },
  });
}
