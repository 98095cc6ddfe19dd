/**
 * The declaration versions the checker keeps parsed, bounded in all and per tenant: a tenant
 * that cycles through many versions (a new `tools` list on every request) evicts its own
 * versions, never another tenant's while it holds more than they do. Tenants with the same
 * declarations share one parsed copy.
 *
 * @module
 */

/** A bounded, per-tenant least-recently-used cache of values shared by key. */
export class VersionCache<T> {
  readonly #maxTotal: number;
  readonly #maxPerTenant: number;
  /** Each value and how many tenants hold it. */
  #values = new Map<string, { value: T; holders: number }>();
  /** Each tenant's keys, least recently used first. */
  #tenants = new Map<string, Set<string>>();

  /**
   * @param maxTotal distinct values kept at most (≥ 1)
   * @param maxPerTenant keys one tenant holds at most (≥ 1)
   */
  constructor(maxTotal: number, maxPerTenant: number) {
    this.#maxTotal = Math.max(1, maxTotal);
    this.#maxPerTenant = Math.max(1, maxPerTenant);
  }

  /** Distinct values kept. */
  get size(): number {
    return this.#values.size;
  }

  /**
   * The value of `key` for `tenant`, marking it used; a value another tenant holds is shared
   * (the tenant then holds it too). `undefined` when no tenant holds it.
   */
  get(tenant: string, key: string): T | undefined {
    const entry = this.#values.get(key);
    if (!entry) return undefined;
    this.#hold(tenant, key, entry);
    return entry.value;
  }

  /** Keeps `value` under `key` for `tenant`, evicting as the bounds require. */
  set(tenant: string, key: string, value: T): void {
    let entry = this.#values.get(key);
    if (entry) entry.value = value;
    else {
      entry = { value, holders: 0 };
      this.#values.set(key, entry);
    }
    this.#hold(tenant, key, entry);
  }

  /** Drops `key` for every tenant. */
  delete(key: string): void {
    for (const [tenant, keys] of this.#tenants) {
      if (keys.delete(key) && keys.size === 0) this.#tenants.delete(tenant);
    }
    this.#values.delete(key);
  }

  #hold(tenant: string, key: string, entry: { holders: number }): void {
    let keys = this.#tenants.get(tenant);
    if (!keys) {
      keys = new Set();
      this.#tenants.set(tenant, keys);
    }
    if (keys.has(key)) keys.delete(key);
    else entry.holders++;
    keys.add(key);
    while (keys.size > this.#maxPerTenant) this.#release(tenant, keys);
    while (this.#values.size > this.#maxTotal) {
      // The tenant holding the most goes first (it is never the only holder of everything
      // unless it is the only tenant).
      let heaviest: [string, Set<string>] | undefined;
      for (const pair of this.#tenants) {
        if (!heaviest || pair[1].size > heaviest[1].size) heaviest = pair;
      }
      if (!heaviest) break;
      // Each release drops one key a tenant holds; a shared value goes with its last holder.
      this.#release(heaviest[0], heaviest[1]);
    }
  }

  /** Releases `tenant`'s least recently used key. */
  #release(tenant: string, keys: Set<string>): void {
    const oldest = keys.values().next().value;
    if (oldest === undefined) return;
    keys.delete(oldest);
    if (keys.size === 0) this.#tenants.delete(tenant);
    const entry = this.#values.get(oldest);
    if (entry && --entry.holders <= 0) this.#values.delete(oldest);
  }
}
