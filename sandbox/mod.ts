/**
 * The sandbox: runs agent-written TypeScript in single-use Deno subprocesses with no
 * permissions, a wall-clock timeout, a memory cap covering heap and off-heap memory,
 * output caps, a bounded queue and a warm pool. Depends on nothing else of ours.
 *
 * ```ts
 * const sandbox = new Sandbox({ timeoutMs: 5000, memoryMb: 128, maxOutputBytes: 1 << 20,
 *   maxLogBytes: 65536, concurrency: 4, queue: 64, poolSize: 2, allowNet: [], allowRead: [] });
 * await sandbox.start();
 * const result = await sandbox.run({ code: "return 1 + 1" });
 * ```
 *
 * @module
 */

export { Sandbox, type SandboxOptions, type SandboxStats } from "./sandbox.ts";
export { ExecutionQueue, QueueFullError } from "./queue.ts";
export { SandboxUnavailableError } from "./unavailable.ts";
export { hasSetpriv, type OrphanGuard, SANDBOX_NICENESS } from "./spawn.ts";
export { launcherPath, launcherPossible, prepareLauncher } from "./launcher.ts";
export {
  checkUidRange,
  MAX_SANDBOX_UID,
  NoFreeUidError,
  othersCannotUse,
  SandboxUsers,
  type UidRange,
  usersProblem,
  type UsersSetting,
} from "./users.ts";
export { checkNetGrant } from "./flags.ts";
export { cgroupBaseDir, type MemoryGuardMode } from "./memory.ts";
export { cpuCgroupBaseDir, GATEWAY_GROUP_SHARES } from "./cpu_limit.ts";
export { liveRuntimeDirs, sandboxCacheDir } from "./runtime_dir.ts";
export {
  type LogEntry,
  type RpcContext,
  type RpcHandler,
  type RunRequest,
  type RunResult,
  RUNTIME_OVERHEAD_MB,
  SANDBOX_ERROR_KINDS,
  type SandboxError,
  type SandboxErrorKind,
  type SandboxGrants,
  type SandboxLimits,
} from "./types.ts";
export {
  MAX_PENDING_REPLY_BYTES,
  MAX_REPLY_BYTES,
  MAX_RPC_BYTES,
  MAX_RPC_FRAMES,
  MAX_STDERR_BYTES,
} from "./process.ts";
export { dropPartialToken, jsonShape } from "./json_text.ts";
export { MAX_JSON_DEPTH, MAX_RPC_CALL_BYTES, MAX_RPC_CALL_VALUES } from "./frames.ts";
