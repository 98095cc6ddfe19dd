/**
 * The error for a sandbox process that could not be started: the host is out of a
 * resource (file descriptors: EMFILE/ENFILE, processes or threads: EAGAIN, disk or the
 * runtime directory: ENOSPC, EACCES) or the process died before it was ready. It says
 * nothing about the code, which never ran; the caller may retry.
 *
 * @module
 */

/** Seconds a client should wait before retrying after {@link SandboxUnavailableError}. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** Thrown by `Sandbox.run` when no sandbox process could be started for the execution. */
export class SandboxUnavailableError extends Error {
  /** For clients: the gateway cannot run code right now; retry after {@link retryAfterSeconds}. */
  readonly kind = "unavailable";
  /** Seconds to wait before retrying (an HTTP `Retry-After` value). */
  readonly retryAfterSeconds: number;

  /**
   * @param reason what failed, without host paths (it may be shown to a client)
   * @param options `cause`: the original error, for the gateway's own logs
   */
  constructor(reason: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(`the sandbox cannot start a process right now (${reason}); retry later`, {
      cause: options.cause,
    });
    this.name = "SandboxUnavailableError";
    this.retryAfterSeconds = options.retryAfterSeconds ?? UNAVAILABLE_RETRY_AFTER_SECONDS;
  }
}

/**
 * Wraps what starting a process threw. The message keeps only the OS error's short name
 * (e.g. "Too many open files (os error 24)"): error texts can carry host paths.
 */
export function unavailable(cause: unknown): SandboxUnavailableError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const os = /([A-Za-z ,']{3,80}) \(os error (\d+)\)/.exec(text);
  const reason = os
    ? `${os[1].trim()} (os error ${os[2]})`
    : cause instanceof Error && cause.message.startsWith("sandbox process exited")
    ? "the process exited before it was ready"
    : "the process could not be started";
  return new SandboxUnavailableError(reason, { cause });
}
