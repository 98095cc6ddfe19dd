/**
 * `GET /v1/types` (the index) and `GET /v1/types/{namespace}.d.ts` (one namespace's
 * declarations, or `tools.d.ts`): the tools' TypeScript declarations for the caller's
 * tenant only. Mounted behind authentication and the rate limit like every `/v1` route.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { COMMON_TYPES_FILE, type Gateway, GatewayError, type Tenant } from "../gateway/mod.ts";

/** Longest file name looked up, in UTF-16 units. */
const MAX_FILE_CHARS = 256;

/** The media type of a declaration file. */
export const TYPESCRIPT_CONTENT_TYPE = "application/typescript; charset=utf-8";

/** Adds the routes to `app` (whose `tenant` variable authentication has set). */
export function addTypeRoutes(
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  gateway: Gateway,
): void {
  app.get("/v1/types", (c: Context) => {
    const tenant: Tenant = c.get("tenant");
    return c.json({
      namespaces: gateway.typeNamespaces(tenant).map((n) => ({
        ...n,
        path: `/v1/types/${encodeURIComponent(n.file)}`,
      })),
      common: `/v1/types/${COMMON_TYPES_FILE}`,
    });
  });
  app.get("/v1/types/:file", (c: Context) => {
    const file = c.req.param("file") ?? "";
    const text = file.length <= MAX_FILE_CHARS && file.endsWith(".d.ts")
      ? gateway.typeFile(c.get("tenant"), file)
      : undefined;
    // Unknown and not allowed look the same: the answer reveals no other tenant's tools.
    if (text === undefined) {
      throw new GatewayError(
        "not_found",
        "no such declaration file for this caller; GET /v1/types lists them",
      );
    }
    return c.body(text, 200, { "content-type": TYPESCRIPT_CONTENT_TYPE });
  });
}
