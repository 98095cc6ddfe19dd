/**
 * One Redis connection with the gateway's rules on top: every command has a deadline,
 * nothing is queued while disconnected (fail closed at once), the client reconnects by
 * itself, and the connection's health is known without a round trip.
 *
 * @module
 */

import { createClient } from "redis";
import { type StateHealth, StateUnavailableError } from "./types.ts";

/** Options of {@linkcode RedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…` (TLS). */
  url: string;
  /** A command that has not answered after this many ms fails (default 1,000). */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts, in ms (default 1,000). */
  maxReconnectDelayMs?: number;
  /** Called when the connection goes up or down (for logs). */
  onChange?: (health: StateHealth) => void;
}

type Client = ReturnType<typeof createClient>;

/** A Redis connection shared by the state stores of one gateway. */
export class RedisConnection {
  readonly #client: Client;
  readonly #timeoutMs: number;
  readonly #onChange: (health: StateHealth) => void;
  readonly #shas = new Map<string, string>();
  readonly #subscribers = new Set<Client>();
  readonly #upListeners = new Set<() => void>();
  #up = false;
  #error: string | undefined = "connecting";
  #closed = false;

  /** Starts connecting in the background; commands fail with `state_unavailable` until up. */
  constructor(options: RedisConnectionOptions) {
    this.#timeoutMs = options.commandTimeoutMs ?? 1000;
    this.#onChange = options.onChange ?? (() => {});
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.#client = createClient({
      url: options.url,
      // Fail closed at once instead of queueing requests for a Redis that is not there.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(this.#timeoutMs, 1000),
        // Retried forever: service resumes by itself when Redis is back.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), maxDelay),
      },
    });
    this.#client.on("ready", () => this.#set(true, undefined));
    // Messages are socket errors ("connect ECONNREFUSED host:port"): no credentials.
    this.#client.on("error", (error: Error) => this.#set(false, error.message));
    this.#client.on("end", () => this.#set(false, "connection closed"));
    this.#client.connect().catch((error: Error) => this.#set(false, error.message));
  }

  /** Whether commands can be sent now, and why not. */
  health(): StateHealth {
    return this.#up
      ? { backend: "redis", up: true }
      : { backend: "redis", up: false, error: this.#error ?? "not connected" };
  }

  /**
   * Runs a Lua script (by SHA, loading it on first use or after a restart of Redis).
   * @throws StateUnavailableError when Redis is down, slow or refuses the script
   */
  async script(source: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const argv = args.map(String);
    return await this.#command(async () => {
      let sha = this.#shas.get(source);
      if (sha !== undefined) {
        try {
          return await this.#client.evalSha(sha, { keys, arguments: argv });
        } catch (error) {
          if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
        }
      }
      sha = await this.#client.scriptLoad(source) as string;
      this.#shas.set(source, sha);
      return await this.#client.evalSha(sha, { keys, arguments: argv });
    });
  }

  /**
   * The raw client for one command, under the same deadline and error mapping.
   * @throws StateUnavailableError when Redis is down or slow
   */
  run<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return this.#command(() => fn(this.#client));
  }

  /**
   * Subscribes to `channel` (one or several) on a connection of its own (a subscribed
   * connection can send no other commands); the client resubscribes after reconnecting. The
   * listener gets each message and its channel. Resolves to a function that unsubscribes and
   * closes that connection.
   */
  async subscribe(
    channel: string | string[],
    listener: (message: string, channel: string) => void,
  ): Promise<() => Promise<void>> {
    const subscriber = this.#client.duplicate();
    subscriber.on("error", () => {}); // the main connection reports the outage
    this.#subscribers.add(subscriber);
    await subscriber.connect();
    await subscriber.subscribe(channel, listener);
    return () => {
      this.#subscribers.delete(subscriber);
      try {
        subscriber.destroy();
      } catch {
        // Gone already.
      }
      return Promise.resolve();
    };
  }

  /**
   * Calls `listener` each time the connection comes back up (ready again after an outage or
   * at first connect), so that work owed to Redis is paid at once. Returns the unsubscriber.
   */
  onUp(listener: () => void): () => void {
    this.#upListeners.add(listener);
    return () => this.#upListeners.delete(listener);
  }

  /** Closes the connection (pending commands fail). Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#up = false;
    this.#error = "closed";
    for (const client of [this.#client, ...this.#subscribers]) {
      try {
        client.destroy();
      } catch {
        // Already gone.
      }
    }
    this.#subscribers.clear();
    this.#upListeners.clear();
    return Promise.resolve();
  }

  async #command<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StateUnavailableError("shared state is closed");
    if (!this.#up) {
      throw new StateUnavailableError(`shared state (Redis) is unavailable: ${this.#error}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StateUnavailableError(
              `shared state (Redis) did not answer within ${this.#timeoutMs} ms`,
            ),
          ),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (error) {
      if (error instanceof StateUnavailableError) throw error;
      const message = (error as Error).message ?? String(error);
      // A script error is ours (a bug), not an outage; both refuse the request.
      throw new StateUnavailableError(`shared state (Redis) failed: ${message}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #set(up: boolean, error: string | undefined): void {
    if (this.#closed) return;
    const changed = up !== this.#up;
    this.#up = up;
    this.#error = error;
    if (changed) this.#onChange(this.health());
    if (changed && up) {
      for (const listener of [...this.#upListeners]) {
        try {
          listener();
        } catch {
          // A listener's own failure is its own (it retries).
        }
      }
    }
  }
}
