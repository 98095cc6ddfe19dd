// Exports that mark a value secret beside it (red team n1, N1-14): the document itself says what
// its value is, though no key name does. `aws ssm get-parameters-by-path --with-decryption`
// (`"Type": "SecureString"` beside `"Value"`), a Postman environment (`"type": "secret"`), a
// 1Password item (`"type": "CONCEALED"`), a Terraform plan (`"sensitive": true`), a Bitwarden
// export's hidden custom field (`"type": 1` under `fields`) and its login's `totp` seed, Grafana's
// `secureJsonData` container: each came back raw. Such values are judged under a password's
// context (pairs.ts `SECRET_DATA_CONTEXT`), as a Kubernetes Secret's `data` is.

/** Field names (lower case) whose text says what kind of value its object holds. */
const TYPE_FIELDS: ReadonlySet<string> = new Set(["type", "kind", "valuetype", "fieldtype"]);
/** What such a field says (lower case) when the value is a secret. */
const SECRET_TYPES: ReadonlySet<string> = new Set([
  "securestring", // AWS SSM, Azure ARM parameters
  "secret", // Postman
  "secure",
  "securetext",
  "password",
  "concealed", // 1Password
  "hidden",
  "sensitive",
]);
/** Keys (lower case, `_`/`-` dropped) of a one-time-password seed: it defeats the 2FA it seeds. */
const SEED_KEYS: ReadonlySet<string> = new Set([
  "totp",
  "otp",
  "totpsecret",
  "otpsecret",
  "totpseed",
  "otpseed",
  "mfasecret",
  "mfaseed",
  "twofactorsecret",
  "authenticatorkey",
]);
/** Longest field name looked at, in UTF-16 code units. */
const MAX_FIELD_UNITS = 32;

/**
 * The fields of `object` (its own `keys`; `under` the key it is under) that the object itself
 * marks secret, each mapped to `context` (the key they are to be judged under): every field whose
 * name ends in `value` when a type field says `SecureString`/`secret`/`concealed`/… or
 * `sensitive` is `true`, or, under a `fields` key, `type` is Bitwarden's hidden `1`; and a
 * one-time-password seed field (`totp`, `otp_secret`, …) holding a string. `undefined` when
 * none. Linear in the number of keys, each read up to 32 units.
 */
export function markedSecret(
  object: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  under: string | undefined,
  context: string,
): Map<string, string> | undefined {
  let secret = object.sensitive === true || object.Sensitive === true;
  let out: Map<string, string> | undefined;
  for (const field of keys) {
    if (field.length > MAX_FIELD_UNITS) continue;
    const lower = field.toLowerCase();
    const v = object[field];
    if (!secret && TYPE_FIELDS.has(lower)) {
      if (typeof v === "string" && v.length <= 32) secret = SECRET_TYPES.has(v.toLowerCase());
      else if (v === 1 && under !== undefined && /fields$/i.test(under)) secret = true;
    }
    if (typeof v === "string" && SEED_KEYS.has(lower.replace(/[_-]/g, ""))) {
      (out ??= new Map()).set(field, context);
    }
  }
  if (!secret) return out;
  for (const field of keys) {
    if (field.length <= MAX_FIELD_UNITS && field.toLowerCase().endsWith("value")) {
      (out ??= new Map()).set(field, context);
    }
  }
  return out;
}

/**
 * Whether a container at field `field` holds secrets by its name: Grafana's `secureJsonData`,
 * `secure_settings`, `sensitiveValues`, `sensitive_data` (a name starting `secure` or
 * `sensitive`, then a capital, `_` or `-`). Its values are judged under a password's context.
 */
export function namesSecretContainer(field: string): boolean {
  return field.length <= MAX_FIELD_UNITS && SECRET_CONTAINER.test(field);
}

const SECRET_CONTAINER = /^(?:[sS]ecure|[sS]ensitive|SECURE|SENSITIVE)(?:[A-Z_-]|$)/;
