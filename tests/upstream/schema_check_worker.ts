/**
 * Checks one value against one schema with the gateway's schema compiler, in a worker, so
 * that a test can give up on a check that does not finish (see schema_engine_test.ts).
 *
 * @module
 */

import { compileOutputSchema } from "../../upstream/output_schema.ts";

const self = globalThis as unknown as Worker;
self.onmessage = (event: MessageEvent<{ schema: Record<string, unknown>; value: unknown }>) => {
  const validate = compileOutputSchema(event.data.schema);
  if (typeof validate !== "function") {
    self.postMessage({ error: validate.error });
    return;
  }
  self.postMessage({ valid: validate(event.data.value) });
};
