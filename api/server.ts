/**
 * The HTTP server under the Hono app: `node:http` with a connection cap and per-socket
 * deadlines, and a small bridge to the web `Request`/`Response` the app speaks.
 *
 * Why not `Deno.serve`: it has no header, body or idle timeout and no connection cap, so
 * idle or slow (one byte a second) clients could hold sockets forever; about 20,000 of them
 * used up the file descriptors and every sandbox spawn failed (EMFILE). Deno's `node:http`
 * honours `server.maxConnections` (connections beyond it are closed at once) but not
 * `headersTimeout`, so the deadlines are our own timers on each socket:
 *
 * - headers: a new connection is closed unless its first request's headers arrive within
 *   `headersTimeoutMs`;
 * - body: a request is cut (its socket closed) unless its body has fully arrived within
 *   `requestTimeoutMs` of its headers; a body the app never reads is drained after the
 *   response under the same deadline;
 * - idle: after a response, a keep-alive connection is closed unless the next request's
 *   headers arrive within `keepAliveTimeoutMs`.
 *
 * A closed connection aborts its request's `signal`, which cancels a running execution.
 *
 * What a connection can make the server hold is bounded (node:http under Deno queues
 * pipelined requests and unsent responses without limit: 40,000 pipelined `/healthz` on one
 * socket whose client never read grew the process by GBs):
 *
 * - pipelining: a connection is closed when a request arrives while {@linkcode MAX_PIPELINED}
 *   of its requests are unanswered or {@linkcode MAX_UNSENT_BYTES} of its responses are still
 *   unsent (its client sends without reading). Pausing the socket would not do: node:http
 *   parses every request of a chunk it has read (one read held 46,000 pipelined `GET`s,
 *   1.6 MB) and neither `socket.pause()` nor `parser.pause()` stops it; the requests of the
 *   chunk that follow a close are dropped unanswered, costing only their parse;
 * - bodies: before a request's body is read, `admit` may refuse it (a route that needs an API
 *   key checks the key first, so no anonymous client makes the server hold body bytes), and
 *   its length (`maxBodyBytes` when unknown) is taken from one budget shared by all
 *   connections, `maxHeldBodyBytes`; when the budget is spent the request gets 503 with
 *   `Retry-After` and its body is not read. The bytes go back when the body has arrived or
 *   its response is sent.
 *
 * @module
 */

import http from "node:http";
import type { Socket } from "node:net";

/** Anything with a web-standard `fetch` handler, e.g. a Hono app. */
export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/** Where and how to listen. Every duration is in milliseconds. */
export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  hostname?: string;
  /** TCP port; 0 picks a free one (default 0). */
  port?: number;
  /** Open connections at most; more are closed on accept (default {@linkcode defaultMaxConnections}). */
  maxConnections?: number | null;
  /** Deadline for a new connection's first request headers (default 10,000). */
  headersTimeoutMs?: number;
  /** Deadline for a request body, counted from its headers (default 30,000). */
  requestTimeoutMs?: number;
  /** Idle time after a response before a keep-alive connection is closed (default 5,000). */
  keepAliveTimeoutMs?: number;
  /** On `shutdown()`, how long in-flight requests may still finish before their sockets are closed (default 10,000). */
  shutdownGraceMs?: number;
  /**
   * When nothing was accepted for this long, check that the listener still accepts, and
   * replace it if not (default 5,000).
   */
  listenerCheckMs?: number;
  /**
   * Request bodies (in bytes, by their announced length) read or being read at once, across
   * all connections; a body beyond it is refused with 503 and `Retry-After` (null or absent:
   * {@linkcode DEFAULT_MAX_HELD_BODY_BYTES}, or `maxBodyBytes` if larger). Should be at least
   * `maxBodyBytes`.
   */
  maxHeldBodyBytes?: number | null;
  /** What a body of unknown length (chunked) counts against `maxHeldBodyBytes`, and the most any body counts, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * Called with the request's method, URL and headers (no body) before any byte of its body
   * is read; a `Response` returned is sent instead (and the connection closed), the body
   * never read (e.g. a 401 for a route that needs an API key). A string returned names who
   * pays for the body (a tenant): each payer may hold at most
   * {@linkcode ServeOptions.maxHeldBodyBytesPerPayer} of the budget; undefined pays as `""`.
   */
  admit?: (request: RequestHead) => Response | string | undefined;
  /**
   * The most of `maxHeldBodyBytes` one payer (see `admit`) may hold at once, in bytes (default:
   * a quarter of it, at least `maxBodyBytes`): one tenant's slow bodies cannot spend the
   * budget every tenant shares.
   */
  maxHeldBodyBytesPerPayer?: number;
  /** Structured log sink (server errors, unhandled errors of the app, listener restarts). */
  logger?: (event: Record<string, unknown>) => void;
}

/** A running server. */
export interface HttpServer {
  /** The address actually bound (the port is the real one when 0 was asked for). */
  readonly hostname: string;
  readonly port: number;
  /** The connection cap in force. */
  readonly maxConnections: number;
  /** Connections open now. */
  connections(): number;
  /**
   * Stops accepting, lets in-flight requests finish (up to `shutdownGraceMs`), closes every
   * socket; resolves when all are closed.
   */
  shutdown(): Promise<void>;
  /** Resolves once the server is shut down and every socket is closed. */
  readonly finished: Promise<void>;
}

/** The least default cap, whatever the file limit. */
const MIN_CONNECTIONS = 16;
/** Descriptors a configured cap should leave for sandboxes, upstream servers and files. */
const MIN_SPARE_FILES = 64;

/**
 * The open-file soft limit (RLIMIT_NOFILE) of this process, from `/proc/self/limits`;
 * null when unknown (not Linux, no read permission) or unlimited.
 */
export function openFileLimit(): number | null {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
    if (!match || match[1] === "unlimited") return null;
    return Number(match[1]);
  } catch {
    return null;
  }
}

/**
 * The default connection cap: half of the open-file soft limit, so the other half stays for
 * sandbox processes (several descriptors each), upstream servers, the audit database and
 * logs. 4,096 when the limit is unknown; never below 16.
 */
export function defaultMaxConnections(limit: number | null = openFileLimit()): number {
  if (limit === null) return 4096;
  return Math.max(MIN_CONNECTIONS, Math.floor(limit / 2));
}

/** Default of {@linkcode ServeOptions.maxHeldBodyBytes} (when `maxBodyBytes` is not larger): 32 MiB. */
export const DEFAULT_MAX_HELD_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Unanswered requests one connection may have; a request beyond them closes it. HTTP clients
 * that pipeline at all (browsers and `fetch` do not) keep a few requests ahead.
 */
export const MAX_PIPELINED = 8;

/**
 * Bytes of responses waiting in a connection's send buffer (the part the kernel did not take)
 * above which a new request on it closes it: its client is not reading. A client that waits
 * for each answer before its next request never has any; one that stops sending keeps its
 * unsent bytes until the idle deadline closes it. So all connections hold at most
 * `maxConnections` times this plus {@linkcode MAX_PIPELINED} responses each.
 */
export const MAX_UNSENT_BYTES = 256 * 1024;

/** What the server remembers about one socket. */
interface SocketState {
  /** Requests on this socket whose response has not finished. */
  inFlight: number;
  /** The headers or idle deadline; undefined while a request is in flight. */
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Serves `app` over HTTP/1.1 with the deadlines and the cap of `options`.
 *
 * @throws Error when the address cannot be bound (EADDRINUSE, EACCES).
 */
export async function serveHttp(app: FetchApp, options: ServeOptions = {}): Promise<HttpServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 5_000;
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const listenerCheckMs = options.listenerCheckMs ?? 5_000;
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxHeldBodyBytes = options.maxHeldBodyBytes ??
    Math.max(DEFAULT_MAX_HELD_BODY_BYTES, maxBodyBytes);
  const maxHeldPerPayer = options.maxHeldBodyBytesPerPayer ??
    Math.max(maxBodyBytes, Math.floor(maxHeldBodyBytes / 4));
  /** Bytes of `maxHeldBodyBytes` taken by bodies being read now, in all and per payer. */
  let heldBodyBytes = 0;
  const heldByPayer = new Map<string, number>();
  const log = options.logger ?? (() => {});
  const sockets = new Map<Socket, SocketState>();
  let closing = false;
  /** When the listener last handed over a connection (ms, performance.now()). */
  let lastAccept = performance.now();
  let acceptWaiter: (() => void) | undefined;
  let allClosed!: () => void;
  const socketsClosed = new Promise<void>((resolve) => allClosed = resolve);

  const limit = openFileLimit();
  if (limit !== null && maxConnections > limit - MIN_SPARE_FILES) {
    log({
      level: "warn",
      msg: "http.maxConnections leaves too few file descriptors for sandboxes",
      maxConnections,
      openFileLimit: limit,
    });
  }

  const arm = (socket: Socket, state: SocketState, ms: number) => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => socket.destroy(), ms);
  };

  /**
   * Takes `bytes` from the body budget; the function returned gives them back (once, however
   * often called), or null when the budget has not enough left.
   */
  const takeBodyBytes = (bytes: number, payer: string): (() => void) | null => {
    const payers = heldByPayer.get(payer) ?? 0;
    if (heldBodyBytes + bytes > maxHeldBodyBytes || payers + bytes > maxHeldPerPayer) return null;
    heldBodyBytes += bytes;
    heldByPayer.set(payer, payers + bytes);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      heldBodyBytes -= bytes;
      const left = (heldByPayer.get(payer) ?? bytes) - bytes;
      if (left > 0) heldByPayer.set(payer, left);
      else heldByPayer.delete(payer);
    };
  };

  const onConnection = (socket: Socket) => {
    lastAccept = performance.now();
    acceptWaiter?.();
    // The cap is ours rather than node's `maxConnections`, so that every accepted connection
    // is seen here (the listener check relies on it).
    if (closing || sockets.size >= maxConnections) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const state: SocketState = { inFlight: 0 };
    sockets.set(socket, state);
    arm(socket, state, headersTimeoutMs);
    socket.on("close", () => {
      clearTimeout(state.timer);
      sockets.delete(socket);
      if (closing && sockets.size === 0) allClosed();
    });
    // A reset by the peer; "close" follows.
    socket.on("error", () => {});
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket as Socket;
    const state = sockets.get(socket);
    if (!state) {
      // Accepted before the "connection" listener saw it (should not happen): refuse.
      socket.destroy();
      return;
    }
    // A peer that goes away mid-request makes node emit "error" on both; "close" handles it.
    req.on("error", () => {});
    res.on("error", () => {});
    if (
      socket.destroyed || state.inFlight >= MAX_PIPELINED ||
      socket.writableLength > MAX_UNSENT_BYTES
    ) {
      // The client sends requests without reading the answers (or this one was parsed from
      // the same chunk after its connection was closed): answering would queue without end.
      socket.destroy();
      res.destroy();
      return;
    }
    state.inFlight++;
    clearTimeout(state.timer);
    state.timer = undefined;
    // Only a request with a body has a body deadline: a GET's response (an MCP event stream)
    // may rightly last longer than it.
    const bodyTimer = hasBody(req)
      ? setTimeout(() => socket.destroy(), requestTimeoutMs)
      : undefined;
    req.once("end", () => clearTimeout(bodyTimer));
    req.once("close", () => clearTimeout(bodyTimer));
    res.once("close", () => {
      state.inFlight--;
      if (req.complete) clearTimeout(bodyTimer);
      // A body the app did not read is drained, still under the body deadline.
      else req.resume();
      if (closing) {
        if (state.inFlight === 0) socket.destroy();
      } else if (state.inFlight === 0 && !socket.destroyed) {
        arm(socket, state, keepAliveTimeoutMs);
      }
    });
    if (closing) res.setHeader("connection", "close");
    handle(app, req, res, log, { admit: options.admit, takeBody });
  };

  /** Takes the bytes of `req`'s body from the budget until it has arrived or its response is sent. */
  const takeBody = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    payer: string,
  ): boolean => {
    const release = takeBodyBytes(bodyBudget(req, maxBodyBytes), payer);
    if (!release) return false;
    req.once("end", release);
    req.once("close", release);
    res.once("close", release);
    return true;
  };

  const listen = async (port: number): Promise<http.Server> => {
    const server = http.createServer();
    // Our timers decide; node's own keep-alive timer (where honoured) would race them.
    server.keepAliveTimeout = 0;
    server.on("connection", onConnection);
    server.on("request", onRequest);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, hostname, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error: Error) => {
      log({ level: "error", msg: "http server error", error: String(error) });
    });
    return server;
  };

  let server = await listen(options.port ?? 0);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  /**
   * Deno's node:http stops accepting for good after an accept fails with EMFILE (measured on
   * 2.9.6: connections then wait in the kernel backlog forever, and no "error" is emitted).
   * When nothing was accepted for a while, connect to ourselves; if that connection is not
   * accepted within a second, replace the listener. Existing connections are not touched.
   */
  const checkListener = async () => {
    if (closing || performance.now() - lastAccept < listenerCheckMs) return;
    const accepted = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      acceptWaiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    let probe: Deno.Conn | undefined;
    try {
      probe = await Deno.connect({ hostname: probeHost(hostname), port });
    } catch {
      // Refused (no listener) or no descriptor for the probe itself: decide by what follows.
    }
    const alive = await accepted;
    acceptWaiter = undefined;
    try {
      probe?.close();
    } catch { /* closed */ }
    if (alive || closing) return;
    log({ level: "error", msg: "the HTTP listener stopped accepting; listening again", port });
    const dead = server;
    dead.close();
    try {
      server = await listen(port);
      lastAccept = performance.now();
    } catch (error) {
      // Still out of descriptors: the next check tries again.
      log({ level: "error", msg: "listening again failed", error: String(error) });
      server = dead;
    }
  };
  let checking = false;
  const watchdog = setInterval(() => {
    if (checking) return;
    checking = true;
    checkListener().finally(() => checking = false);
  }, listenerCheckMs);
  Deno.unrefTimer(watchdog);

  let shutdownPromise: Promise<void> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);

  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      closing = true;
      clearInterval(watchdog);
      acceptWaiter?.();
      const listenerClosed = server.listening
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      for (const [socket, state] of sockets) {
        if (state.inFlight === 0) socket.destroy();
      }
      if (sockets.size === 0) allClosed();
      const grace = setTimeout(() => {
        for (const socket of sockets.keys()) socket.destroy();
      }, shutdownGraceMs);
      await socketsClosed;
      clearTimeout(grace);
      await listenerClosed;
      finish();
    })();
    return shutdownPromise;
  };

  return {
    hostname,
    port,
    maxConnections,
    connections: () => sockets.size,
    shutdown,
    finished,
  };
}

/** Where the listener check connects: the listening address, or loopback for a wildcard. */
function probeHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "") return "127.0.0.1";
  if (hostname === "::" || hostname === "[::]") return "::1";
  return hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * Connection-level headers are the server's business (RFC 9110 §7.6.1): an app's
 * `Connection: keep-alive` must not keep open a connection the client asked to close.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/** How a request's body is let in: {@linkcode ServeOptions.admit} and the body budget. */
interface BodyGate {
  admit?: (request: RequestHead) => Response | string | undefined;
  /** Takes the body's bytes from the shared budget for `payer`; false when it (or theirs) is spent. */
  takeBody: (req: http.IncomingMessage, res: http.ServerResponse, payer: string) => boolean;
}

/** Runs one request through the app and writes its response. */
async function handle(
  app: FetchApp,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  log: (event: Record<string, unknown>) => void,
  gate: BodyGate,
): Promise<void> {
  const aborter = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborter.abort();
  });
  let request: Request;
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (hasBody(req)) {
    const refusal = refuseBody(req, res, gate);
    if (refusal) {
      // The body is never read: the connection closes after this answer.
      res.setHeader("connection", "close");
      try {
        await writeResponse(refusal, res);
      } catch {
        res.destroy();
      }
      return;
    }
  }
  if (isSmallBody(req)) {
    // Read whole before the app runs: one buffer instead of a web stream over node's
    // stream (measured: the bridge's largest per-request cost after the socket itself).
    body = await readSmallBody(req);
    if (!body) return; // the client went away mid-body; its socket is closing
  }
  try {
    request = toRequest(req, aborter.signal, body);
  } catch {
    // Header values Fetch refuses, or a request target that is not a URL path.
    res.writeHead(400, { "content-type": "text/plain", connection: "close" });
    res.end("bad request\n");
    return;
  }
  let response: Response;
  try {
    response = await app.fetch(request);
  } catch (error) {
    log({ level: "error", msg: "unhandled error in the HTTP app", error: String(error) });
    response = new Response("internal error\n", { status: 500 });
  }
  try {
    await writeResponse(response, res);
  } catch {
    // The client went away mid-response; the socket is already closing.
    res.destroy();
  }
}

/**
 * Why `req`'s body may not be read (a response to send instead), or undefined when it was
 * let in and its bytes taken from the budget.
 */
function refuseBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  gate: BodyGate,
): Response | undefined {
  let payer = "";
  if (gate.admit) {
    let head: RequestHead;
    try {
      head = requestHead(req);
    } catch {
      return new Response("bad request\n", {
        status: 400,
        headers: { "content-type": "text/plain" },
      });
    }
    const admitted = gate.admit(head);
    if (admitted instanceof Response) return admitted;
    payer = admitted ?? "";
  }
  if (gate.takeBody(req, res, payer)) return undefined;
  return Response.json({
    error: {
      kind: "unavailable",
      message: "the gateway is reading as many request bodies as it may hold; retry shortly",
    },
  }, { status: 503, headers: { "retry-after": "1" } });
}

/**
 * What a request's body counts against the body budget: its `Content-Length`, at most
 * `maxBodyBytes` (a longer body is refused by the app after that many bytes); `maxBodyBytes`
 * when its length is unknown (chunked).
 */
function bodyBudget(req: http.IncomingMessage, maxBodyBytes: number): number {
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined || length === undefined) return maxBodyBytes;
  if (!/^\d{1,15}$/.test(length)) return maxBodyBytes;
  return Math.min(Number(length), maxBodyBytes);
}

/**
 * The web `Request` for a `node:http` request: with `body` (a small body already read
 * whole), that; otherwise the body streams with back-pressure.
 */
/**
 * What {@linkcode ServeOptions.admit} sees of a request before its body: its method, its URL
 * (origin `http://localhost`, as the app's requests have) and its headers. Lighter than a
 * `Request` (measured: building one took 0.18 ms, on every request with a body).
 */
export interface RequestHead {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
}

/** `req`'s {@linkcode RequestHead}. @throws TypeError when its target is not a URL path. */
function requestHead(req: http.IncomingMessage): RequestHead {
  const target = req.url ?? "/";
  const path = target.startsWith("/") ? target : pathOf(new URL(target));
  const headers = req.headers;
  return {
    method: req.method ?? "GET",
    url: new URL(path, "http://localhost").href,
    headers: {
      get(name) {
        const value = headers[name.toLowerCase()];
        if (value === undefined) return null;
        // As Fetch's Headers combine repeated fields.
        return Array.isArray(value) ? value.join(", ") : value;
      },
    },
  };
}

function toRequest(
  req: http.IncomingMessage,
  signal: AbortSignal,
  body?: Uint8Array<ArrayBuffer>,
): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  // The Host header is passed on unchanged (the host guard reads it); the URL's own origin
  // is fixed, so a hostile Host cannot make the URL unparsable. An absolute-form target
  // (`GET http://x/path`) keeps only its path and query.
  const target = req.url ?? "/";
  const path = target.startsWith("/") ? target : pathOf(new URL(target));
  const url = new URL(path, "http://localhost");
  const method = req.method ?? "GET";
  return new Request(url, {
    method,
    headers,
    signal,
    body: !hasBody(req) || method === "GET" || method === "HEAD" ? null : body ?? bodyStream(req),
  });
}

/**
 * Bodies up to this many bytes (by their `Content-Length`) are read whole before the app
 * runs; longer ones, and bodies of unknown length, stream to it.
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Whether the request announces a body of at most {@linkcode SMALL_BODY_BYTES} by its length. */
function isSmallBody(req: http.IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  if (req.headers["transfer-encoding"] !== undefined) return false;
  const length = req.headers["content-length"];
  if (length === undefined || !/^\d{1,6}$/.test(length)) return false;
  const bytes = Number(length);
  return bytes > 0 && bytes <= SMALL_BODY_BYTES;
}

/**
 * The whole body of a request whose `Content-Length` is small (node's parser stops at that
 * length, so at most {@linkcode SMALL_BODY_BYTES} are held); `undefined` when the client
 * closes the connection first (the body deadline closes a stalled one).
 */
function readSmallBody(req: http.IncomingMessage): Promise<Uint8Array<ArrayBuffer> | undefined> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk);
      size += chunk.byteLength;
    });
    req.once("end", () => {
      if (chunks.length === 1) return resolve(new Uint8Array(chunks[0]));
      const whole = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        whole.set(chunk, at);
        at += chunk.byteLength;
      }
      resolve(whole);
    });
    req.once("close", () => {
      if (!req.complete) resolve(undefined);
    });
    req.on("error", () => resolve(undefined));
  });
}

/** Whether the request announces a body (RFC 9112 §6.3: Content-Length > 0 or Transfer-Encoding). */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

function pathOf(url: URL): string {
  return url.pathname + url.search;
}

/** A byte stream over a request body that pauses the socket while the app is not reading. */
function bodyStream(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        try {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } catch {
          return; // cancelled or errored meanwhile
        }
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => {
        try {
          controller.close();
        } catch { /* cancelled meanwhile */ }
      });
      req.on("error", (error) => {
        if (!req.complete) controller.error(error);
      });
      req.once("close", () => {
        if (!req.complete) controller.error(new Error("the client closed the connection"));
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      // Unread rest of the body: drained after the response, under the body deadline.
      req.pause();
    },
  }, { highWaterMark: 65536, size: (chunk) => chunk.byteLength });
}

/**
 * Writes a web `Response`. A body that is done after its first chunk (every JSON reply) goes
 * out in one write with `Content-Length`; longer bodies stream, and event streams send their
 * headers at once so a client sees the stream open before the first event.
 */
async function writeResponse(response: Response, res: http.ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  const type = response.headers.get("content-type") ?? "";
  if (/^application\/json\b/i.test(type)) {
    // A JSON document is complete only at its end (every JSON reply is a string the app
    // built): one read and one write, without a stream reader.
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!res.destroyed) res.end(bytes);
    return;
  }
  const reader = response.body.getReader();
  res.once("close", () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  if (/^text\/event-stream\b/i.test(type)) {
    // Each event goes out as soon as it is produced.
    res.flushHeaders();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      await write(res, value);
    }
    res.end();
    return;
  }
  const first = await reader.read();
  if (first.done) {
    res.end();
    return;
  }
  const second = await reader.read();
  if (second.done) {
    res.end(first.value);
    return;
  }
  await write(res, first.value);
  await write(res, second.value);
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    await write(res, value);
  }
  res.end();
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full. */
function write(res: http.ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error("the client closed the connection"));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("the client closed the connection"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
