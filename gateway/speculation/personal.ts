/**
 * Whether arguments carry personal data: a PII placeholder (`[EMAIL_1_kqzmtwa]`, which a session's
 * vault would turn back into a real value) or a value the PII detectors flag. Such arguments
 * are never prefetched, predicted or remembered by the predictor: a prediction must never carry
 * one session's data into another, nor send a value upstream that the code did not send.
 *
 * @module
 */

import { findPii, PLACEHOLDER_LABELS } from "../../pii/mod.ts";

/**
 * Any placeholder of any type (`[LABEL_n_tag]`, or `[LABEL_n]` of older versions); linear, no
 * backtracking.
 */
const PLACEHOLDER = new RegExp(
  `\\[(?:${Object.values(PLACEHOLDER_LABELS).join("|")})_[1-9][0-9]{0,9}(?:_[a-z]{7})?\\]`,
);

/**
 * True when `json` (canonical JSON of a call's arguments, UTF-16) holds a PII placeholder or
 * anything `findPii` flags (every PII type, whatever the tenant redacts). Linear in `json`.
 */
export function carriesPersonalData(json: string): boolean {
  return PLACEHOLDER.test(json) || findPii(json).length > 0;
}
