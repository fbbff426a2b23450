// Checks admin API responses against the OpenAPI 3.1 document the API serves (src/admin/openapi.ts): the
// documented status (or the ProblemDetails default), the media type, and the body against the schema (ajv,
// JSON Schema 2020-12). Used by the admin tests on every response they see.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { ADMIN_OPENAPI } from "../../src/admin/openapi.ts";

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(ADMIN_OPENAPI as object, "admin");

type Op = { responses: Record<string, { content?: Record<string, { schema?: { $ref: string } }> }> };
const routes = Object.entries(ADMIN_OPENAPI.paths).map(([tpl, item]) => ({
  re: new RegExp(`^${tpl.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  item: item as unknown as Record<string, Op>,
}));

/** Every mismatch of one response with the document ([] when it conforms). Reads a clone of the body. */
export async function contractErrors(method: string, path: string, res: Response): Promise<string[]> {
  const pathname = new URL(path, "http://x").pathname;
  const route = routes.find((r) => r.re.test(pathname));
  const op = route?.item[method.toLowerCase()];
  // an undocumented path or method gets an error, which must be a ProblemDetails like every other
  if (!op && res.status < 400) return [`${method} ${pathname}: ${res.status} but not documented`];
  const declared = op
    ? (op.responses[String(res.status)] ?? op.responses.default!)
    : (ADMIN_OPENAPI.paths["/v1/status"].get.responses.default as Op["responses"][string]);
  const text = await res.clone().text();
  if (!declared.content) return text === "" ? [] : [`${method} ${pathname} ${res.status}: body not documented`];
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const media = declared.content[type];
  if (!media) return [`${method} ${pathname} ${res.status}: media type ${type} not documented`];
  if (!media.schema) return [];
  const validate = ajv.getSchema(`admin${media.schema.$ref}`)!;
  if (validate(JSON.parse(text))) return [];
  return (validate.errors ?? []).map((e) => `${method} ${pathname} ${res.status}: ${e.instancePath} ${e.message}`);
}

/** An app whose request() fails the test on any response that does not match the document. */
export function contractChecked<A extends { request: (p: string, init?: RequestInit) => Response | Promise<Response> }>(
  app: A,
): A {
  return new Proxy(app, {
    get(target, prop, recv) {
      if (prop !== "request") return Reflect.get(target, prop, recv);
      return async (p: string, init?: RequestInit) => {
        const res = await target.request(p, init);
        const errors = await contractErrors(init?.method ?? "GET", p, res);
        if (errors.length) throw new Error(`admin response does not match docs/openapi:\n${errors.join("\n")}`);
        return res;
      };
    },
  });
}
