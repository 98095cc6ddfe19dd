/**
 * The configuration file: its schema (zod, strict: unknown keys are errors), defaults,
 * and loading. See DESIGN.md, "Configuration file".
 *
 * @module
 */

import { z } from "zod";
import { checkNetGrant, checkUidRange } from "../sandbox/mod.ts";
import { MIN_CODE_HASH_KEY_CHARS } from "../observability/mod.ts";
import { checkAllowedHost, normalizeOrigin } from "./hosts.ts";

const PII_TYPES = ["email", "phone", "ssn", "credit_card", "iban", "ip", "secret"] as const;

const positiveInt = (max: number) => z.number().int().positive().max(max);

/**
 * An operator's correction of a tool's MCP annotations (hints a server may get wrong): the
 * keys given replace the server's, the others stay, except that a correction of whether the
 * tool is read-only or destructive also settles the other hint (upstream/vet.ts,
 * `applyAnnotationOverrides`). Read-only and destructive at once is refused: it says nothing.
 */
const toolAnnotationsSchema = z.strictObject({
  title: z.string().max(200).optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
}).refine((a) => !(a.readOnlyHint === true && a.destructiveHint === true), {
  message: "readOnlyHint: true and destructiveHint: true contradict each other; give one",
});

/** `tool name → annotations`, per server (the tool's MCP name, not its id). */
const toolAnnotationOverridesSchema = z.record(z.string().min(1).max(128), toolAnnotationsSchema)
  .optional();

const stdioServerSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  toolAnnotations: toolAnnotationOverridesSchema,
});

const httpServerSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).default({}),
  toolAnnotations: toolAnnotationOverridesSchema,
});

/** One server entry: `command` makes it stdio, `url` makes it Streamable HTTP. */
const serverSchema = z.unknown().transform((value, ctx) => {
  const isObject = typeof value === "object" && value !== null;
  const schema = isObject && "url" in value ? httpServerSchema : stdioServerSchema;
  if (!isObject || !("url" in value || "command" in value)) {
    ctx.addIssue({ code: "custom", message: "a server needs either `command` (stdio) or `url`" });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", message: issueMessage(issue), path: issue.path });
    }
    return z.NEVER;
  }
  return parsed.data;
});

const netGrantSchema = z.string().superRefine((grant, ctx) => {
  const problem = checkNetGrant(grant);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const readGrantSchema = z.string().min(1).refine((p) => p.startsWith("/"), {
  message: "must be an absolute path",
});

const sandboxSchema = z.strictObject({
  timeoutMs: positiveInt(600_000).default(5000),
  memoryMb: z.number().int().min(16).max(16384).default(128),
  maxOutputBytes: positiveInt(256 * 1024 * 1024).default(1048576),
  maxLogBytes: positiveInt(64 * 1024 * 1024).default(65536),
  concurrency: positiveInt(1024).default(4),
  queue: z.number().int().min(0).max(100_000).default(64),
  poolSize: z.number().int().min(0).max(256).default(2),
  poolMax: z.number().int().min(0).max(256).optional(),
  poolIdleMs: positiveInt(3_600_000).default(30_000),
  maxWaitMs: z.number().int().min(0).max(600_000).default(1000),
  maxToolCalls: positiveInt(100_000).default(1000),
  maxConcurrentCallsPerServer: positiveInt(1024).default(16),
  toolTimeoutMs: positiveInt(600_000).default(30_000),
  memoryGuard: z.enum(["auto", "cgroup", "watchdog"]).default("auto"),
  allowNet: z.array(netGrantSchema).default([]),
  allowRead: z.array(readGrantSchema).default([]),
  /** `[first, last]`: each sandbox process under a user id of its own (README, "Sandbox users"). */
  uidRange: z.tuple([z.number().int(), z.number().int()]).optional().superRefine((range, ctx) => {
    const problem = range && checkUidRange({ first: range[0], last: range[1] });
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
});

const selectionSchema = z.strictObject({
  maxTools: positiveInt(500).default(20),
  minScore: z.number().min(0).max(1).default(0.3),
  modelDir: z.string().nullable().default(null),
  embedder: z.enum(["auto", "transformers", "use", "lexical"]).default("auto"),
  model: z.string().min(1).default("Xenova/all-MiniLM-L6-v2"),
  cacheDir: z.string().min(1).default("./data/embeddings"),
  embeddingBudgetMs: z.number().int().min(0).max(60_000).nullable().default(5),
});

const piiSchema = z.strictObject({
  mode: z.enum(["tokenize", "mask", "off"]).default("tokenize"),
  types: z.array(z.enum(PII_TYPES)).default([...PII_TYPES]),
  allow: z.array(z.string()).default([]),
  ttlSeconds: positiveInt(30 * 24 * 3600).default(3600),
});

/** Speculation settings (README, "Speculation"); every key may be overridden per tenant. */
const speculationFields = {
  enabled: z.boolean(),
  ttlSeconds: z.number().int().min(0).max(24 * 3600),
  minConfidence: z.number().min(0).max(1),
  maxPrefetchPerExecution: z.number().int().min(0).max(64),
  readOnly: z.array(z.string().min(1).max(256)).max(256),
};

const speculationSchema = z.strictObject({
  enabled: speculationFields.enabled.default(true),
  ttlSeconds: speculationFields.ttlSeconds.default(60),
  minConfidence: speculationFields.minConfidence.default(0.8),
  maxPrefetchPerExecution: speculationFields.maxPrefetchPerExecution.default(8),
  readOnly: speculationFields.readOnly.default([]),
  /**
   * Top level only: how long after a write its server never answered (timed out, cancelled)
   * nothing is served from or kept in the cache, in seconds (at least the tool timeout).
   */
  unsettledSeconds: z.number().int().min(0).max(24 * 3600).default(600),
  /** Top level only: servers that share no state with any other (their own write epoch). */
  isolatedServers: z.array(z.string().min(1).max(128)).max(256).default([]),
});

/**
 * Which tool calls wait for a person's approval (see `gateway/approval/`). Absent: none do.
 */
export const approvalSchema = z.strictObject({
  /** Globs over tool ids (`filesystem.write_file`, `github.*`) that always need approval. */
  tools: z.array(z.string().min(1).max(256)).max(1000).default([]),
  /**
   * Also every tool whose annotations do not declare it harmless: `destructiveHint` is not
   * false and `readOnlyHint` is not true (the MCP defaults), or is true beside
   * `destructiveHint: true` (a contradiction counts as destructive).
   */
  destructive: z.boolean().default(false),
  /** How long a call waits for a decision, in seconds; then it is denied (`approval_timeout`). */
  timeoutSeconds: positiveInt(24 * 3600).default(300),
  /**
   * How long one execution's calls may wait for decisions in all, in seconds (time during
   * which at least one of its calls waits). Past it, a call that needs approval is denied
   * at once (`approval_timeout`); a wait is never longer than what is left of it.
   */
  executionWaitSeconds: positiveInt(24 * 3600).default(900),
  /** When no approver can be asked (an MCP client without elicitation, …): deny or allow. */
  onUnavailable: z.enum(["deny", "allow"]).default("deny"),
  /** Pending approvals of one tenant at most; a call past it is denied at once. */
  maxPending: positiveInt(10_000).default(100),
});

/** A validated approval policy. */
export type ApprovalConfig = z.infer<typeof approvalSchema>;

const keyHashSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, {
  message: 'must be "sha256:" followed by 64 lowercase hex digits (the SHA-256 of the key)',
});

/** The type checker (`check: true` on executions). */
const typecheckSchema = z.strictObject({
  /** Whether executions are type-checked when the request does not say (tenants may override). */
  check: z.boolean().default(false),
  /** Time one check may take, in ms; past it nothing runs (`error.kind` `check_timeout`). */
  timeoutMs: positiveInt(60_000).default(2000),
  /**
   * V8 heap cap of each checker process, in MiB (two run: the active one and a warm
   * standby); a check that needs more ends that process, not the gateway (`check_limit`).
   */
  memoryMb: z.number().int().min(64).max(16_384).default(512),
  /** Declaration versions (catalogue × tool policy) kept parsed in the checker. */
  maxVersions: positiveInt(256).default(8),
  /** Of which one tenant holds at most (a tenant cycling `tools` lists evicts its own first). */
  maxVersionsPerTenant: positiveInt(256).default(2),
  /** Checks one tenant may have waiting or running; past it 503 `queue_full`. */
  maxPendingPerTenant: positiveInt(1024).default(4),
  /** Diagnostics returned per execution at most. */
  maxDiagnostics: positiveInt(1000).default(20),
  /** Longest diagnostic message, in UTF-16 code units. */
  maxMessageChars: positiveInt(100_000).default(1000),
});

const tenantSchema = z.strictObject({
  keys: z.array(keyHashSchema).min(1),
  /**
   * Keys that may list and answer this tenant's approvals (`/v1/approvals`). A key only
   * listed here cannot run code; one listed in both can do both.
   */
  approverKeys: z.array(keyHashSchema).default([]),
  /** This tenant's approval policy instead of the top-level one. */
  approval: approvalSchema.optional(),
  /** Whether this tenant's executions are type-checked when the request does not say. */
  check: z.boolean().optional(),
  enabledTools: z.array(z.string().min(1)).default(["*"]),
  requestsPerMinute: positiveInt(1_000_000).default(60),
  maxConcurrent: positiveInt(1024).optional(),
  limits: z.strictObject({
    timeoutMs: positiveInt(600_000).optional(),
    memoryMb: z.number().int().min(16).max(16384).optional(),
    maxOutputBytes: positiveInt(256 * 1024 * 1024).optional(),
  }).default({}),
  allowNet: z.array(netGrantSchema).optional(),
  pii: z.strictObject({
    mode: z.enum(["tokenize", "mask", "off"]).optional(),
    types: z.array(z.enum(PII_TYPES)).optional(),
    allow: z.array(z.string()).optional(),
  }).optional(),
  speculation: z.strictObject({
    enabled: speculationFields.enabled.optional(),
    ttlSeconds: speculationFields.ttlSeconds.optional(),
    minConfidence: speculationFields.minConfidence.optional(),
    maxPrefetchPerExecution: speculationFields.maxPrefetchPerExecution.optional(),
    readOnly: speculationFields.readOnly.optional(),
  }).optional(),
});

const authSchema = z.strictObject({
  tenants: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), tenantSchema),
});

const auditSchema = z.strictObject({
  path: z.string().min(1).default("./data/audit.db"),
  /** PostgreSQL for every replica's records (`path` is then unused). */
  url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, {
    message: "must be a postgres:// or postgresql:// URL",
  }).optional(),
  /** This replica's name in PostgreSQL rows (default `<hostname>:<pid>`). */
  replica: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).optional(),
  retentionDays: positiveInt(3650).default(30),
  /**
   * Key of the code hash (HMAC-SHA-256, see observability/code_hash.ts), at least 32
   * characters; also `AIRLOCK_AUDIT_HASH_KEY`. Default: a key file beside a SQLite audit, a
   * key per process for PostgreSQL.
   */
  codeHashKey: z.string().min(MIN_CODE_HASH_KEY_CHARS, {
    message: `must be at least ${MIN_CODE_HASH_KEY_CHARS} characters`,
  }).optional(),
});

const stateSchema = z.strictObject({
  /** `redis://[user:password@]host:port/db` or `rediss://…`. */
  url: z.string().regex(/^rediss?:\/\/[^\s]+$/, {
    message: "must be a redis:// or rediss:// URL",
  }),
  /** Prefix of every key, so deployments can share one Redis. */
  keyPrefix: z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/).default("airlock:"),
  /** A Redis command that has not answered after this fails the request (503). */
  commandTimeoutMs: positiveInt(60_000).default(1000),
  /** Life of an in-flight lease; renewed while held, so a dead replica's slots come back. */
  leaseMs: z.number().int().min(1000).max(600_000).default(15_000),
  /**
   * Most bytes of one tenant's PII vault sessions in Redis, as charged (close to Redis's own
   * use); past it the tenant's least recently used sessions go, then new values are masked.
   * With the read cache's 32 MiB, MCP sessions' and approvals' caps: about 64 MiB per tenant.
   */
  vaultBytesPerTenant: z.number().int().min(64 * 1024).max(1024 ** 3).default(16 * 1024 * 1024),
});

const allowedHostSchema = z.string().superRefine((entry, ctx) => {
  const problem = checkAllowedHost(entry);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).transform((entry) => entry.toLowerCase());

const allowedOriginSchema = z.string().transform((entry, ctx) => {
  const origin = normalizeOrigin(entry);
  if (!origin) {
    ctx.addIssue({ code: "custom", message: "must be an http(s) origin: scheme://host[:port]" });
    return z.NEVER;
  }
  return origin;
});

const httpSchema = z.strictObject({
  maxBodyBytes: positiveInt(64 * 1024 * 1024).default(1048576),
  /**
   * Bytes of request bodies the gateway reads or holds at once, across all connections (by
   * their announced length; maxBodyBytes for a body of unknown length). A body beyond it gets
   * 503 with Retry-After. At least maxBodyBytes; null: 32 MiB, or maxBodyBytes if larger.
   */
  maxHeldBodyBytes: positiveInt(4 * 1024 * 1024 * 1024).nullable().default(null),
  /**
   * The most of maxHeldBodyBytes one tenant's requests may hold at once (so one tenant's slow
   * bodies cannot spend what every tenant shares). At least maxBodyBytes; null: a quarter of
   * maxHeldBodyBytes, at least maxBodyBytes.
   */
  maxHeldBodyBytesPerTenant: positiveInt(4 * 1024 * 1024 * 1024).nullable().default(null),
  /** Host names (`name` or `name:port`) accepted in `Host` besides the loopback names. */
  allowedHosts: z.array(allowedHostSchema).default([]),
  /** Origins accepted in `Origin` besides those on an allowed host. */
  allowedOrigins: z.array(allowedOriginSchema).default([]),
  /** Open connections at most; null: half of the process's open-file soft limit. */
  maxConnections: positiveInt(1_000_000).nullable().default(null),
  /** A connection's request headers must arrive within this (ms from accept). */
  headersTimeoutMs: positiveInt(600_000).default(10_000),
  /** A request's body must arrive within this (ms after its headers). */
  requestTimeoutMs: positiveInt(3_600_000).default(30_000),
  /** An idle keep-alive connection is closed after this (ms); the next request's headers must arrive within it. */
  keepAliveTimeoutMs: positiveInt(600_000).default(5_000),
}).superRefine((http, ctx) => {
  // Else a body of maxBodyBytes could never be let in.
  if (http.maxHeldBodyBytes !== null && http.maxHeldBodyBytes < http.maxBodyBytes) {
    ctx.addIssue({
      code: "custom",
      path: ["maxHeldBodyBytes"],
      message: "must be at least http.maxBodyBytes",
    });
  }
  if (
    http.maxHeldBodyBytesPerTenant !== null && http.maxHeldBodyBytesPerTenant < http.maxBodyBytes
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["maxHeldBodyBytesPerTenant"],
      message: "must be at least http.maxBodyBytes",
    });
  }
});

const namespaceKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, {
  message: "a server key must start with a letter or _ and hold only letters, digits, _ and -",
});

/** The schema of the whole configuration file. */
export const configSchema = z.strictObject({
  servers: z.record(namespaceKey, serverSchema).default({}),
  sandbox: sandboxSchema.default(sandboxSchema.parse({})),
  selection: selectionSchema.default(selectionSchema.parse({})),
  pii: piiSchema.default(piiSchema.parse({})),
  auth: authSchema.optional(),
  /** The approval policy of every tenant that has none of its own (and of local use). */
  approval: approvalSchema.optional(),
  audit: auditSchema.default(auditSchema.parse({})),
  /** Shared state in Redis for several replicas; absent: this process's memory. */
  state: stateSchema.optional(),
  http: httpSchema.default(httpSchema.parse({})),
  speculation: speculationSchema.default(speculationSchema.parse({})),
  typecheck: typecheckSchema.default(typecheckSchema.parse({})),
});

/** A validated configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;
/** One tenant's settings. */
export type TenantConfig = z.infer<typeof tenantSchema>;

/** A configuration file that cannot be used; the message names each bad field. */
export class ConfigError extends Error {
  /** For clients and logs. */
  readonly kind = "config";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Formats zod issues as `path: message` lines. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `${path}: ${issueMessage(issue)}`;
  }).join("\n");
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}`;
  }
  return issue.message;
}

/** Validates a parsed configuration object. */
export function parseConfig(value: unknown, source = "configuration"): Config {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`${source} is invalid:\n${formatIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

/** Reads, parses and validates a configuration file. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read configuration ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const config = parseConfig(value, path);
  return withEnvironment(config, path);
}

/**
 * Applies `AIRLOCK_STATE_URL` (a Redis URL) when the file has no `state` section, and
 * `AIRLOCK_AUDIT_URL` (a PostgreSQL URL) when its `audit` section has no `url`, and
 * `AIRLOCK_AUDIT_HASH_KEY` when it has no `codeHashKey`, so replicas can share one file and
 * keep credentials out of it.
 * @throws ConfigError when a variable is not a URL of the right kind
 */
export function withEnvironment(config: Config, source = "configuration"): Config {
  let out = config;
  const stateUrl = Deno.env.get("AIRLOCK_STATE_URL");
  if (stateUrl && !out.state) {
    const parsed = stateSchema.safeParse({ url: stateUrl });
    if (!parsed.success) {
      throw new ConfigError(`AIRLOCK_STATE_URL (for ${source}) is invalid: must be a redis:// URL`);
    }
    out = { ...out, state: parsed.data };
  }
  const hashKey = Deno.env.get("AIRLOCK_AUDIT_HASH_KEY");
  if (hashKey && !out.audit.codeHashKey) {
    const parsed = auditSchema.safeParse({ ...out.audit, codeHashKey: hashKey });
    if (!parsed.success) {
      throw new ConfigError(
        `AIRLOCK_AUDIT_HASH_KEY (for ${source}) is invalid: must be at least ` +
          `${MIN_CODE_HASH_KEY_CHARS} characters`,
      );
    }
    out = { ...out, audit: parsed.data };
  }
  const auditUrl = Deno.env.get("AIRLOCK_AUDIT_URL");
  if (auditUrl && !out.audit.url) {
    const parsed = auditSchema.safeParse({ ...out.audit, url: auditUrl });
    if (!parsed.success) {
      throw new ConfigError(
        `AIRLOCK_AUDIT_URL (for ${source}) is invalid: must be a postgres:// URL`,
      );
    }
    out = { ...out, audit: parsed.data };
  }
  return out;
}
