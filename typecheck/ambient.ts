/**
 * The globals the sandbox gives code besides the ES library and the declarations of the
 * tools: the Web and Deno APIs a Deno process has without any permission (no DOM). Kept
 * small and loose on purpose (`any` where the real shape is large): a program is refused only
 * for mistakes in its own logic and its tool calls, never because it used `fetch`, `URL` or
 * `Deno.inspect` that the sandbox really has.
 *
 * @module
 */

/** Ambient declarations checked code sees (a script: every name is global). */
export const AMBIENT_DECLARATIONS = `// Airlock sandbox globals (Deno without permissions, no DOM).
interface Console {
  log(...data: any[]): void;
  info(...data: any[]): void;
  warn(...data: any[]): void;
  error(...data: any[]): void;
  debug(...data: any[]): void;
  trace(...data: any[]): void;
  dir(item?: any, options?: any): void;
  table(data: any, columns?: string[]): void;
  assert(condition?: boolean, ...data: any[]): void;
  count(label?: string): void;
  countReset(label?: string): void;
  group(...data: any[]): void;
  groupEnd(): void;
  time(label?: string): void;
  timeEnd(label?: string): void;
  timeLog(label?: string, ...data: any[]): void;
}
declare var console: Console;
declare function setTimeout(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): number;
declare function clearTimeout(id?: number): void;
declare function setInterval(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): number;
declare function clearInterval(id?: number): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T, options?: any): T;
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare function reportError(e: any): void;
declare function fetch(input: string | URL | Request, init?: any): Promise<Response>;
declare var performance: { now(): number; timeOrigin: number; mark(...a: any[]): any; measure(...a: any[]): any };
declare var crypto: {
  randomUUID(): string;
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
  subtle: any;
};
declare var navigator: { hardwareConcurrency: number; userAgent: string; language: string; languages: string[] };
declare var self: typeof globalThis;
declare var window: typeof globalThis;
declare var Deno: any;
declare class URL {
  constructor(url: string | URL, base?: string | URL);
  hash: string; host: string; hostname: string; href: string; readonly origin: string;
  password: string; pathname: string; port: string; protocol: string; search: string;
  readonly searchParams: URLSearchParams; username: string;
  toString(): string; toJSON(): string;
  static canParse(url: string | URL, base?: string | URL): boolean;
  static parse(url: string | URL, base?: string | URL): URL | null;
}
declare class URLSearchParams {
  constructor(init?: string[][] | Record<string, string> | string | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
}
declare class TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}
declare class AbortSignal {
  readonly aborted: boolean;
  readonly reason: any;
  throwIfAborted(): void;
  addEventListener(type: string, listener: (event: any) => void, options?: any): void;
  removeEventListener(type: string, listener: (event: any) => void, options?: any): void;
  static abort(reason?: any): AbortSignal;
  static timeout(ms: number): AbortSignal;
  static any(signals: AbortSignal[]): AbortSignal;
}
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: any): void;
}
declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly code: number;
}
declare class Blob {
  constructor(parts?: any[], options?: { type?: string });
  readonly size: number;
  readonly type: string;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  slice(start?: number, end?: number, contentType?: string): Blob;
  stream(): ReadableStream<Uint8Array>;
}
declare class Headers {
  constructor(init?: any);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, key: string) => void): void;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}
declare class Request {
  constructor(input: string | URL | Request, init?: any);
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  text(): Promise<string>;
  json(): Promise<any>;
}
declare class Response {
  constructor(body?: any, init?: { status?: number; statusText?: string; headers?: any });
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  blob(): Promise<Blob>;
  static json(data: any, init?: any): Response;
}
declare class ReadableStream<R = any> {
  constructor(source?: any, strategy?: any);
  readonly locked: boolean;
  getReader(): any;
  cancel(reason?: any): Promise<void>;
  pipeThrough<T>(transform: { writable: any; readable: ReadableStream<T> }, options?: any): ReadableStream<T>;
  pipeTo(destination: any, options?: any): Promise<void>;
  tee(): [ReadableStream<R>, ReadableStream<R>];
  [Symbol.asyncIterator](): AsyncIterableIterator<R>;
  static from<R>(source: Iterable<R> | AsyncIterable<R>): ReadableStream<R>;
}
declare class WritableStream<W = any> {
  constructor(sink?: any, strategy?: any);
  getWriter(): any;
}
declare class TransformStream<I = any, O = any> {
  constructor(transformer?: any, writableStrategy?: any, readableStrategy?: any);
  readonly readable: ReadableStream<O>;
  readonly writable: WritableStream<I>;
}
declare class TextEncoderStream extends TransformStream<string, Uint8Array> {}
declare class TextDecoderStream extends TransformStream<Uint8Array, string> {
  constructor(label?: string, options?: any);
}
declare class CompressionStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(format: string);
}
declare class DecompressionStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(format: string);
}
declare class Event {
  constructor(type: string, init?: any);
  readonly type: string;
}
declare class EventTarget {
  addEventListener(type: string, listener: (event: any) => void, options?: any): void;
  removeEventListener(type: string, listener: (event: any) => void, options?: any): void;
  dispatchEvent(event: Event): boolean;
}
`;
