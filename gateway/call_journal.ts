/**
 * Tells an execution's write-ahead journal (the audit's, `observability/execution_journal.ts`)
 * of every upstream send as it is made, at the one place every send passes: the pipeline's
 * call to the upstream manager, for the code's calls (approved ones included) and for
 * prefetches alike. A call served from a prefetch is reported too, so that the prefetch's row
 * becomes the code's call. Nothing here waits: the journal queues itself to the audit.
 *
 * @module
 */

import type { CallToolResult } from "../upstream/mod.ts";
import type { CallSpeculation } from "./speculation/mod.ts";

/** What the pipeline needs of the journal (see `ExecutionJournal`). */
export interface CallJournal {
  /**
   * `tool` (a catalogue id) is being sent upstream now (`prefetch`: by speculation); returns
   * what to call with whether its server answered without an error.
   */
  sent(tool: string, prefetch?: boolean): (ok: boolean) => void;
  /** A call of the code to `tool` was served from one of its prefetches. */
  claimPrefetch(tool: string): void;
}

/**
 * `send()` with its send journaled first (`server.name` is the catalogue id) and its answer
 * after: `ok` when the server answered without `isError`, not ok when the call failed (it may
 * still have reached the server). Without a journal, `send()` itself.
 */
export function journaledSend(
  journal: CallJournal | undefined,
  server: string,
  name: string,
  prefetch: boolean,
  send: () => Promise<CallToolResult>,
): Promise<CallToolResult> {
  if (!journal) return send();
  const done = journal.sent(`${server}.${name}`, prefetch);
  return send().then((result) => {
    done(!result.isError);
    return result;
  }, (error) => {
    done(false);
    throw error;
  });
}

/**
 * `speculation` reporting to `journal` each call it serves from a prefetch (a result taken
 * from the session cache made no upstream call and is not reported). Without either, the
 * speculation as it is.
 */
export function journaledSpeculation(
  speculation: CallSpeculation | undefined,
  journal: CallJournal | undefined,
): CallSpeculation | undefined {
  if (!speculation || !journal) return speculation;
  return {
    start(tool, args, upstreamArgs) {
      const call = speculation.start(tool, args, upstreamArgs);
      return {
        served: async () => {
          const served = await call.served();
          if (served?.from === "prefetched") journal.claimPrefetch(tool.id);
          return served;
        },
        fetched: (result) => call.fetched(result),
        end: (ok, value) => call.end(ok, value),
      };
    },
  };
}
