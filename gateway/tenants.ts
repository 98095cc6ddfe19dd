/**
 * Tenants: who a request comes from and what it may do. API keys are stored only as
 * SHA-256 hashes and sent as `Authorization: Bearer <key>`.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { ApprovalConfig, Config } from "./config.ts";
import { GatewayError } from "./errors.ts";
import type { LimitMaxima } from "./execute.ts";
import type { SpeculationPolicy } from "./speculation/mod.ts";

/** Everything the gateway needs to know about a caller's tenant. */
export interface Tenant {
  /** The tenant's id (its key in `auth.tenants`), or `"local"` without auth. */
  id: string;
  /** Globs over tool ids (`filesystem.*`, `*`, `memory.read_graph`). */
  enabledTools: string[];
  /** Requests per minute; `Infinity` without auth. */
  requestsPerMinute: number;
  /** Executions running or waiting at once. */
  maxConcurrent: number;
  /** The most a request may ask for. */
  maxima: LimitMaxima;
  /** Network egress the sandbox gets for this tenant. */
  allowNet: string[];
  /** Whether executions are type-checked when the request does not say (`check`). */
  check: boolean;
  /** Redaction settings. */
  pii: { mode: "tokenize" | "mask" | "off"; types: string[]; allow: string[] };
  /** Speculation settings: the configuration's, with the tenant's overrides. */
  speculation: SpeculationPolicy;
  /** Which tool calls wait for a person's approval; absent: none. */
  approval?: ApprovalConfig;
  /**
   * Whether some key can answer this tenant's approvals over HTTP: local use (no auth), or a
   * tenant with `approverKeys`.
   */
  hasApprovers: boolean;
}

/** An authenticated approver: the tenant and the `sha256:` hash of the key used (`""` locally). */
export interface Approver {
  tenant: Tenant;
  keyId: string;
}

/** The SHA-256 of an API key as the config stores it: `sha256:<hex>`. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

/**
 * The identity of the API key in an `Authorization: Bearer <key>` header: its
 * {@linkcode hashApiKey} (`sha256:<hex>`), or `""` when there is none (local use). Binds a
 * PII vault session or an MCP session to the key that opened it.
 */
export function apiKeyId(authorization: string | null | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match ? hashApiKey(match[1]) : "";
}

/** Compiles a tool-id glob (`*` matches any run of characters) to a RegExp. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/** Resolves API keys to tenants and holds each tenant's policy. */
export class TenantDirectory {
  #byHash = new Map<string, Tenant>();
  #approverByHash = new Map<string, Tenant>();
  #tenants = new Map<string, Tenant>();
  #matchers = new Map<string, RegExp[]>();
  #local: Tenant | undefined;

  constructor(config: Config) {
    const s = config.sandbox;
    const defaults: LimitMaxima = {
      timeoutMs: s.timeoutMs,
      memoryMb: s.memoryMb,
      maxOutputBytes: s.maxOutputBytes,
    };
    if (!config.auth) {
      this.#local = {
        id: "local",
        enabledTools: ["*"],
        requestsPerMinute: Infinity,
        maxConcurrent: s.concurrency + s.queue,
        maxima: defaults,
        allowNet: s.allowNet,
        check: config.typecheck.check,
        pii: { ...config.pii },
        speculation: { ...config.speculation },
        approval: activeApproval(config.approval),
        hasApprovers: true,
      };
      this.#add(this.#local);
      return;
    }
    // With several tenants, one may hold at most half the sandbox slots (running or
    // queued) unless configured otherwise: the queue is fair among waiters, but cannot
    // free a slot a long execution already holds.
    const tenantCount = Object.keys(config.auth.tenants).length;
    const defaultMaxConcurrent = tenantCount > 1
      ? Math.max(1, Math.ceil(s.concurrency / 2))
      : s.concurrency;
    for (const [id, t] of Object.entries(config.auth.tenants)) {
      const tenant: Tenant = {
        id,
        enabledTools: t.enabledTools,
        requestsPerMinute: t.requestsPerMinute,
        maxConcurrent: t.maxConcurrent ?? defaultMaxConcurrent,
        maxima: {
          timeoutMs: Math.min(t.limits.timeoutMs ?? s.timeoutMs, s.timeoutMs),
          memoryMb: Math.min(t.limits.memoryMb ?? s.memoryMb, s.memoryMb),
          maxOutputBytes: Math.min(t.limits.maxOutputBytes ?? s.maxOutputBytes, s.maxOutputBytes),
        },
        allowNet: t.allowNet ?? s.allowNet,
        check: t.check ?? config.typecheck.check,
        pii: {
          mode: t.pii?.mode ?? config.pii.mode,
          types: t.pii?.types ?? config.pii.types,
          allow: [...config.pii.allow, ...(t.pii?.allow ?? [])],
        },
        speculation: { ...config.speculation, ...t.speculation },
        approval: activeApproval(t.approval ?? config.approval),
        hasApprovers: t.approverKeys.length > 0,
      };
      this.#add(tenant);
      for (const hash of t.keys) this.#byHash.set(hash, tenant);
      for (const hash of t.approverKeys) this.#approverByHash.set(hash, tenant);
    }
  }

  /** Whether requests must carry an API key. */
  get authRequired(): boolean {
    return this.#local === undefined;
  }

  /** A tenant by id, or `undefined`. */
  get(id: string): Tenant | undefined {
    return this.#tenants.get(id);
  }

  /** All tenants. */
  list(): Tenant[] {
    return [...this.#tenants.values()];
  }

  /**
   * The tenant for an `Authorization` header value.
   * @throws GatewayError `unauthorized` for a missing, malformed or unknown key
   */
  authenticate(authorization: string | undefined | null): Tenant {
    if (this.#local) return this.#local;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) {
      throw new GatewayError("unauthorized", "an API key is required: Authorization: Bearer <key>");
    }
    const hash = hashApiKey(match[1]);
    for (const [known, tenant] of this.#byHash) {
      if (timingSafeEqual(new TextEncoder().encode(known), new TextEncoder().encode(hash))) {
        return tenant;
      }
    }
    throw new GatewayError("unauthorized", "the API key is not valid");
  }

  /**
   * The approver for an `Authorization` header value: a key listed in some tenant's
   * `approverKeys`; without auth, the local tenant.
   * @throws GatewayError `unauthorized` for a missing, malformed or unknown key;
   *   `forbidden` for a key of a tenant that is not one of its approver keys
   */
  authenticateApprover(authorization: string | undefined | null): Approver {
    if (this.#local) return { tenant: this.#local, keyId: "" };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) {
      throw new GatewayError("unauthorized", "an API key is required: Authorization: Bearer <key>");
    }
    const hash = hashApiKey(match[1]);
    const approver = findByHash(this.#approverByHash, hash);
    if (approver) return { tenant: approver, keyId: hash };
    if (findByHash(this.#byHash, hash)) {
      throw new GatewayError("forbidden", "this API key is not one of the tenant's approverKeys");
    }
    throw new GatewayError("unauthorized", "the API key is not valid");
  }

  /**
   * Whether the API key `keyId` (its `sha256:<hex>`, `""` without one) may answer
   * `tenant`'s approvals where it runs code (MCP elicitation): always without auth; for a
   * tenant without `approverKeys` (the person at its agents' clients decides); otherwise
   * only a key that is one of them, so an agent cannot approve its own calls.
   */
  mayApprove(tenant: Tenant, keyId: string): boolean {
    if (this.#local) return true;
    if (!tenant.hasApprovers) return true;
    return keyId !== "" && findByHash(this.#approverByHash, keyId) === tenant;
  }

  /** Whether `tenant` may use the tool `toolId` at all. */
  allows(tenant: Tenant, toolId: string): boolean {
    return this.#matchers.get(tenant.id)!.some((re) => re.test(toolId));
  }

  #add(tenant: Tenant) {
    this.#tenants.set(tenant.id, tenant);
    this.#matchers.set(tenant.id, tenant.enabledTools.map(globToRegExp));
  }
}

/** A tenant by key hash, comparing in constant time per entry. */
function findByHash(map: Map<string, Tenant>, hash: string): Tenant | undefined {
  const wanted = new TextEncoder().encode(hash);
  for (const [known, tenant] of map) {
    if (timingSafeEqual(new TextEncoder().encode(known), wanted)) return tenant;
  }
  return undefined;
}

/** A policy that asks for something, or `undefined` for one that never would. */
function activeApproval(policy: ApprovalConfig | undefined): ApprovalConfig | undefined {
  return policy && (policy.tools.length > 0 || policy.destructive) ? policy : undefined;
}
