/**
 * PII and secret redaction for Airlock.
 *
 * Detectors (validated, not bare patterns) for e-mail addresses, phone numbers, US SSNs,
 * payment cards, IBANs, IP addresses and secrets; redaction of text and JSON values in
 * `mask`, `tokenize` or `off` mode; a per-session vault of placeholders and the reverse
 * substitution for tool-call arguments. Depends on nothing else of Airlock's.
 *
 * ```ts
 * import { redactValue, Vault } from "./mod.ts";
 * const vault = new Vault();
 * const { value, counts } = redactValue({ to: "ann@example.com" }, { mode: "tokenize", vault });
 * // value: { to: "[EMAIL_1_kqzmtwa]" } (the tag is the vault's), counts: { email: 1 }
 * ```
 *
 * @module
 */

export {
  type Finding,
  isPiiType,
  PII_TYPES,
  type PiiType,
  PLACEHOLDER_LABELS,
  type RedactionCounts,
} from "./types.ts";
export { findPii } from "./find.ts";
export { findPiiUnder, KEY_CONTEXT_HEAD_UNITS, MAX_KEY_CONTEXT_UNITS } from "./keyed.ts";
export {
  type Context,
  contextBelow,
  COOKIE_CONTEXT,
  fieldKey,
  GENERIC_FIELDS,
  judgedKeys,
  pairedNames,
  tupleKey,
} from "./pairs.ts";
export {
  DEFAULT_MODE,
  leafText,
  mergeCounts,
  type RedactedText,
  type RedactedValue,
  type RedactionOptions,
  redactJudgedText,
  redactJudgedValue,
  redactKeyedText,
  redactRenderedText,
  redactText,
  redactValue,
} from "./redact.ts";
export { redactLogLine } from "./log_lines.ts";
export {
  JUDGED_MAX_UNITS,
  JUDGED_MAX_VALUES,
  JUDGED_MIN_UNITS,
  JudgedValues,
} from "./judged_values.ts";
export {
  ASYNC_THRESHOLD_UNITS,
  type AsyncRedactionOptions,
  closeSharedPool,
  redactTextAsync,
  redactValueAsync,
} from "./redact_async.ts";
export {
  DetectionPool,
  type DetectionPoolOptions,
  type DetectionPoolStats,
} from "./worker_pool.ts";
export {
  CommandLine,
  commandLineOf,
  isCommandKey,
  isKnownProgram,
  MAX_COMMAND_ITEMS,
  MAX_COMMAND_UNITS,
} from "./command_arrays.ts";
export type { LinePlace } from "./walk.ts";
export {
  DISPLAY_TAG,
  newVaultTag,
  type OriginOf,
  parsePlaceholder,
  PLACEHOLDER_TAG,
  type ValueOrigin,
  Vault,
  type VaultMapping,
  type VaultOptions,
  type VaultRef,
  type VaultSessionLimits,
  VaultStore,
  type VaultStoreOptions,
  type VaultStoreStats,
  type VaultTenantLimits,
  type VaultTenantStats,
} from "./vault.ts";
export {
  detokenizeText,
  detokenizeValue,
  type ExpansionBudget,
  retokenizeValueAsync,
} from "./detokenize.ts";
export { cardNumberValid, ibanValid, luhnValid, shannonEntropy, ssnValid } from "./checksums.ts";
export { ipv4Valid, ipv6Valid } from "./detect_ipv6.ts";
export {
  looksSecret,
  passesThresholds,
  SECRET_THRESHOLDS,
  type SecretFeatures,
  secretFeatures,
  type SecretThresholds,
} from "./looks_secret.ts";
