/**
 * Compiled `outputSchema` validators, shared by the tool list (which rejects schemas that
 * do not compile) and the gateway (which checks each result's `structuredContent`).
 *
 * @module
 */

import { Ajv, type ValidateFunction } from "ajv";

import type { JsonSchema } from "./types.ts";

/**
 * One Ajv for every output schema. `validateSchema: false` because servers declare
 * `$schema` dialects Ajv does not know (2020-12); what it cannot compile is reported.
 */
const ajv = new Ajv({
  strict: false,
  validateSchema: false,
  validateFormats: false,
  allErrors: false,
});

/** Compiled validators by schema object: a new tool list brings new objects, old ones go. */
const validators = new WeakMap<object, ValidateFunction>();

/** Longest problem text, in UTF-16 units (Ajv messages can quote whole schema fragments). */
const MAX_PROBLEM_CHARS = 300;

function cut(text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

/**
 * The validator of an output schema, compiled once per schema object.
 *
 * @param schema the tool's `outputSchema`
 * @returns the validator, or Ajv's reason (at most 300 characters) when it cannot compile
 */
export function compileOutputSchema(schema: JsonSchema): ValidateFunction | { error: string } {
  const known = validators.get(schema);
  if (known) return known;
  try {
    const validate = ajv.compile(schema);
    validators.set(schema, validate);
    return validate;
  } catch (error) {
    return { error: cut(error instanceof Error ? error.message : String(error)) };
  } finally {
    // The compiled function stands alone. Removing the schema from Ajv's own cache keeps
    // old tool lists from piling up in it, and lets two tools declare the same `$id`.
    try {
      ajv.removeSchema(schema);
    } catch {
      // Never added (compilation failed early).
    }
  }
}

/**
 * Why `structuredContent` does not satisfy a tool's `outputSchema`, or `undefined` when it
 * does (or when the schema cannot be compiled: the tool list has already dropped such
 * schemas). The text names the failing keyword by its place in the *schema*
 * (`#/properties/unit/enum`), never by the value's own keys or contents, which may be
 * personal data.
 *
 * @param schema the tool's `outputSchema`
 * @param value the result's `structuredContent`
 * @returns a sentence fragment of at most about 300 characters, or `undefined`
 */
export function structuredContentProblem(schema: JsonSchema, value: unknown): string | undefined {
  const validate = compileOutputSchema(schema);
  if (typeof validate !== "function") return undefined;
  if (validate(value)) return undefined;
  const error = validate.errors?.[0];
  if (!error) return "it does not match the tool's output schema";
  return cut(`at ${error.schemaPath}: ${error.message ?? "invalid"}`);
}
