// Names of objects, records and files (`backups/2026-11-30/prod.sql.gz`, `user:1234:profile`,
// `db-master-prod-v3`) that a token name such as `key` holds as often as a credential: told
// from base64 and random tokens by how they read.

import { isDigit } from "./chars.ts";

/**
 * A relative path (`logs/2024/01/15/app.log`, `src/components/Button.tsx`,
 * `backups/db-2024-11-30T12:00:00Z.tar.gz`): parts of word characters and the punctuation
 * object stores' keys hold (`.`, `-`, `:`, `@`, `=`, `+`, `,`).
 */
const RELATIVE_PATH = /^[\w.:@=+,-]+(?:\/[\w.:@=+,-]+)+\/?$/;
/**
 * A file name's extension: a dot, a letter, up to four more letters or digits, in either
 * case (`.JPG`, `.MP4` as cameras write them; red team g1). Base64 has no dot.
 */
const EXTENSION = /\.[a-z][a-z0-9]{0,4}$/i;
/**
 * Extensions of files so common that a name ending in one is a file's name however random its
 * stem (`x7Kq9PzLm2.tar.gz`, `Xk9mQ2pL7vR4nW8sT3yU.pem`): no credential format ends so.
 */
const FILE_EXTENSION =
  /\.(?:json|ya?ml|toml|xml|csv|tsv|txt|md|log|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp[34]|zip|gz|tgz|bz2|xz|zst|tar|7z|sql|db|sqlite|bak|dump|parquet|avro|bin|pem|crt|cer|der|p12|pfx|pub|key|js|ts|tsx|jsx|py|go|rs|java|html?|css|sh|conf|ini|env|lock)$/i;

/**
 * A cache or key-value store key (`user:1234:profile`, `cache:v2:products:list`,
 * `orders:2024-01-15`; red team f1): colon-separated parts, each a lower-case word, a
 * number or date, or a short word with a version number (`v2`). A credential in two parts
 * (`id:secret`) has a random part, which mixes letters and digits otherwise.
 */
const CACHE_KEY = /^(?:[a-z_]+[0-9]{0,3}|[0-9][0-9-]*)(?::(?:[a-z_]+[0-9]{0,3}|[0-9][0-9-]*))+$/;

/**
 * A piece of a name read as words (red team g1: `Reports/Q1-Summary`, `user:1234:Profile`,
 * `orders:2024-01-15:US`, `GoPro/GX010045` were taken for base64): runs of a capitalised or
 * small word, capitals, or digits, at most three of them and at most one a lone letter
 * (`Q1`, `GoPro`, `IMG`, `Summary`). Base64 changes case many times inside one piece
 * (`Xk9mQ2pL7vRt`: ten runs, six lone letters).
 */
const WORD_RUN = /[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[A-Z]/g;

function readsAsWords(piece: string): boolean {
  let runs = 0;
  let lone = 0;
  for (const m of piece.matchAll(WORD_RUN)) {
    runs++;
    if (m[0].length === 1 && !isDigit(m[0].charCodeAt(0))) lone++;
    if (runs > 3 || lone > 1) return false;
  }
  return runs > 0;
}

/**
 * Whether every part of `value`, split at the punctuation names hold (`/`, `:`, `_`, `-`,
 * `.`, `@`, `=`, `+`, `,`), is letters and digits that read as words
 * ({@linkcode readsAsWords}), with at least one word of three letters.
 */
function partsReadAsWords(value: string): boolean {
  if (!/[A-Za-z]{3}/.test(value)) return false;
  for (const piece of value.split(/[/:_.@=+,-]+/)) {
    if (piece === "") continue;
    if (!/^[A-Za-z0-9]+$/.test(piece) || !readsAsWords(piece)) return false;
  }
  return true;
}

/**
 * A snake_case name of lower-case words and numbers (`order_id_2024_v3x`, `team_winter_id`):
 * a record's or a column's name, such as a database's primary key holds (since red team f1
 * `primaryKey` is a credential name, as Azure's `listKeys` writes it, and the value alone
 * tells a name from a key).
 */
const SNAKE_NAME = /^[a-z]{2,}(?:_(?:[a-z]{2,}|[0-9]+|[a-z][0-9][a-z0-9]?))+$/;

/**
 * Whether a value after a token name (`key`, above all: an S3 object's `Key`, a key-value
 * store's key) is an object name, not a credential (red team d2: `key:
 * backups/2026-11-30/prod.sql.gz` was redacted): a relative path whose last part has a
 * file extension or whose parts hold no capital letter or read as words, colon-separated
 * parts that read as words, or a file name with an extension (a common one, or one after a
 * stem without a digit before a capital letter, or whose parts read as words). Base64 (an
 * AWS secret key holds `/` and `+`) changes case many times in most parts and has no dot.
 */
export function objectName(value: string): boolean {
  if ((CACHE_KEY.test(value) || SNAKE_NAME.test(value)) && /[a-z]{3}/.test(value)) return true;
  if (RELATIVE_PATH.test(value)) {
    return EXTENSION.test(value) || FILE_EXTENSION.test(value) || !/[A-Z]/.test(value) ||
      partsReadAsWords(value);
  }
  // Colon-separated parts (`user:1234:Profile`) read as words.
  if (/^[\w.-]+(?::[\w.-]+)+$/.test(value) && partsReadAsWords(value)) return true;
  if (!/^[\w:-]+(?:\.[A-Za-z][A-Za-z0-9]{0,4}){1,3}$/.test(value)) return false;
  return FILE_EXTENSION.test(value) || !/^[\w:-]*[0-9][\w:-]*[A-Z]/.test(value) ||
    partsReadAsWords(value);
}

/**
 * Whether `value` is a name of lower-case words joined by `-` or `_` (two to eight parts of
 * small letters and digits, two of them words of three or more letters: `db-master-prod-v3`,
 * `ledger-eu-west-1`): a resource's name. Random tokens seldom hold two such words.
 */
export function dashedName(value: string): boolean {
  if (value.length > 96 || !/^[a-z0-9]+(?:[-_][a-z0-9]+){1,7}$/.test(value)) return false;
  let words = 0;
  for (const part of value.split(/[-_]/)) if (/^[a-z]{3,}$/.test(part)) words++;
  return words >= 2;
}
