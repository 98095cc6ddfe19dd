/**
 * What a message from an upstream server may hold before the gateway parses it, whatever the
 * transport (stdio lines, Streamable HTTP JSON bodies and SSE events), and the answer a
 * request gets when its reply was dropped for holding more.
 *
 * Why: a server's messages are parsed on the gateway's shared event loop, and their size is
 * often the caller's choice (a tool echoes or restructures its arguments), so one tenant
 * could otherwise make every tenant wait.
 *
 * @module
 */

import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

import { jsonShape } from "../sandbox/mod.ts";

/**
 * Longest message a server may send, in UTF-16 units (about 8 MiB of ASCII JSON). A longer
 * one is read past and dropped, never parsed: parsing runs on the gateway's shared event loop
 * (about 5 ms per MiB), and its size is the caller's choice (a tool's arguments ask for it).
 * The request it answered fails with a clear error; the server keeps running, for every
 * other tenant.
 */
export const MAX_MESSAGE_CHARS = 8 * 1024 * 1024;
/**
 * Most JSON values a server's message may hold (containers and members, keys not counted:
 * `jsonShape`), counted in one scan before it is parsed; a message with more is dropped like
 * an over-long one. Parsing, and sending a result on to the sandbox, cost the shared event
 * loop per value, not per character: a tool that turns its caller's text into structured
 * content (8 Mi characters of `{},`, 2.8 million values) held it 600-900 ms to parse alone;
 * 200,000 values cost a few tens of ms. Twice a tool call's own bound (100,000), so a reply
 * may restate its call's arguments beside its answer; a catalogue of 1,000 tools holds a
 * small fraction of it.
 */
export const MAX_MESSAGE_VALUES = 200_000;
/** Characters kept from each end of a dropped message to find its JSON-RPC id. */
export const ID_WINDOW_CHARS = 256;
/** `…,"id":5}` or `…,"id":"a-1"}` at the end of a message: where the SDK writes it. */
const TRAILING_ID = /"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,64}")\s*\}\s*$/;
/** `{"jsonrpc":"2.0","id":5,…` at the start of a message. */
const LEADING_ID = /^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(-?\d{1,16}|"[^"\\]{0,64}")/;

/** Why a message is dropped, in words that finish "the server's reply …". */
export const TOO_LONG = `was longer than ${MAX_MESSAGE_CHARS} characters`;
/** Why a message is dropped, in words that finish "the server's reply …". */
export const TOO_MANY_VALUES = `held more than ${MAX_MESSAGE_VALUES} JSON values`;

/**
 * Why a complete message of `text` must not be parsed ({@linkcode TOO_LONG},
 * {@linkcode TOO_MANY_VALUES}), or `undefined` when it may be. One linear scan that stops at
 * the bound.
 */
export function replyOverBounds(text: string): string | undefined {
  if (text.length > MAX_MESSAGE_CHARS) return TOO_LONG;
  if (jsonShape(text, Infinity, MAX_MESSAGE_VALUES).values > MAX_MESSAGE_VALUES) {
    return TOO_MANY_VALUES;
  }
  return undefined;
}

/**
 * The JSON-RPC id of a message that was dropped unparsed, read from its ends (`head`, `tail`:
 * up to {@linkcode ID_WINDOW_CHARS} characters each), where JSON-RPC writers put it; else
 * `undefined` (a notification, or a writer that puts it in the middle).
 */
export function droppedMessageId(head: string, tail: string): string | number | undefined {
  const found = TRAILING_ID.exec(tail) ?? LEADING_ID.exec(head);
  if (!found) return undefined;
  try {
    return JSON.parse(found[1]) as string | number;
  } catch {
    return undefined;
  }
}

/**
 * The error response that replaces a dropped reply to request `id`, so its caller learns why
 * at once rather than at its timeout.
 *
 * @param why {@linkcode TOO_LONG} or {@linkcode TOO_MANY_VALUES}
 */
export function droppedReplyError(id: string | number, why: string): JSONRPCMessage {
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: -32603,
      message: `the server's reply ${why}; Airlock dropped it (ask the tool for less)`,
    },
  } as JSONRPCMessage;
}
