// The operations of a (dereferenced) Swagger 2.0 or OpenAPI 3.x document, read into one
// shape: method, path, parameters, the JSON request body and the success answer, each with
// its JSON pointer. A part that a schema file cannot express is reported and left out: an
// operation whose method @http has no verb for, a form, XML or binary body, a binary answer,
// callbacks. An operation that needs a part left out is left out whole.
import { type Schema, typeOf } from './json-schema.js';
import { pointer } from './names.js';
import type { Reporter } from './type-defs.js';

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const SERVED = new Set(['get', 'put', 'post', 'delete', 'patch']);

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema | undefined;
  description?: string;
  /** How the document joins a list in the query when not by repeating it ("csv", "pipes"). */
  joined?: string;
  /** OpenAPI 3's style of an object in the query: form (each property its own parameter) or deepObject. */
  style?: string;
  where: string;
}

export interface Operation {
  method: string;
  path: string;
  operationId?: string;
  summary?: string;
  description?: string;
  tags: string[];
  parameters: Parameter[];
  /** The body's schema and how it is sent (JSON, or a urlencoded form); undefined: no body. */
  body?: { schema: Schema | undefined; required: boolean; where: string; form: boolean };
  /** What a success returns: JSON (its schema), text (a String field), or nothing (a Boolean field). */
  answer: { kind: 'json'; schema: Schema | undefined; where: string } | { kind: 'text' } | { kind: 'empty' };
  /** Names of the security schemes the operation needs (any one of the requirement sets). */
  security: string[];
  where: string;
}

const JSON_TYPE = /^application\/([^;]+\+)?json\b|^\*\/\*$/;
const FORM_TYPE = 'application/x-www-form-urlencoded';
const TEXT_TYPE = /^text\//;

/** The JSON entry of a content map (`application/json`, `...+json`, `*\/*`), if any. */
function jsonContent(content: Record<string, { schema?: Schema }> | undefined): string | undefined {
  return Object.keys(content ?? {})
    .sort()
    .find((k) => JSON_TYPE.test(k.toLowerCase()));
}

/** Every operation of the document, whatever its method, with its tags. */
export function allOperations(doc: Schema): { tags: string[] }[] {
  return (Object.values(doc.paths ?? {}) as Schema[]).flatMap((item) =>
    METHODS.filter((m) => item?.[m]).map((m) => ({ tags: (item[m].tags ?? []) as string[] })),
  );
}

export function readOperations(doc: Schema, swagger: boolean, report: Reporter): Operation[] {
  const operations: Operation[] = [];
  const globalSecurity: Schema[] = doc.security ?? [];
  for (const name of Object.keys(doc.webhooks ?? {}).sort())
    report(pointer('webhooks', name), 'webhooks are not served: the API calls them, the gateway does not', true);
  for (const path of Object.keys(doc.paths ?? {}).sort()) {
    const item = doc.paths[path] ?? {};
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const where = pointer('paths', path, method);
      if (!SERVED.has(method)) {
        report(where, `${method.toUpperCase()} has no @http verb (GET, POST, PUT, PATCH, DELETE)`, true);
        continue;
      }
      if (op.callbacks)
        report(`${where}/callbacks`, 'callbacks are not served: the gateway makes calls, it does not take them', true);
      const parts = swagger
        ? readSwagger2(doc, path, method, where, report)
        : readOpenApi3(path, method, where, report, doc);
      if (!parts) continue;
      const security = (op.security ?? globalSecurity) as Schema[];
      operations.push({
        method,
        path,
        operationId: op.operationId,
        summary: op.summary,
        description: op.description,
        tags: op.tags ?? [],
        ...parts,
        security: [...new Set(security.flatMap((req) => Object.keys(req ?? {})))].sort(),
        where,
      });
    }
  }
  return operations;
}

type Parts = Pick<Operation, 'parameters' | 'body' | 'answer'>;

/** The path item's parameters overridden by the operation's (same `in` and name), with their pointers. */
function parametersOf(doc: Schema, path: string, method: string): { p: Schema; where: string }[] {
  const byKey = new Map<string, { p: Schema; where: string }>();
  const item = doc.paths[path];
  const add = (list: Schema[] | undefined, ...at: string[]) =>
    (list ?? []).forEach((p, i) => {
      if (p?.name) byKey.set(`${p.in}:${p.name}`, { p, where: pointer('paths', path, ...at, 'parameters', i) });
    });
  add(item.parameters);
  add(item[method].parameters, method);
  return [...byKey.values()];
}

function readOpenApi3(path: string, method: string, where: string, report: Reporter, doc: Schema): Parts | undefined {
  const op = doc.paths[path][method];
  const parameters: Parameter[] = [];
  for (const { p, where: at } of parametersOf(doc, path, method)) {
    if (!['path', 'query', 'header', 'cookie'].includes(p.in)) continue;
    const content = jsonContent(p.content);
    const schema = p.schema ?? (content ? p.content[content].schema : undefined);
    // style form with explode (the default) repeats a list; explode: false and the delimited styles join it.
    const joined =
      p.explode === false || (p.style && p.style !== 'form')
        ? `${p.style ?? 'form'}, explode: ${p.explode ?? false}`
        : undefined;
    parameters.push(parameterOf(p, at, schema, joined));
  }
  let body: Parts['body'];
  if (op.requestBody) {
    const content = op.requestBody.content ?? {};
    const required = op.requestBody.required === true;
    const type = jsonContent(content) ?? Object.keys(content).find((k) => k.toLowerCase().startsWith(FORM_TYPE));
    if (type) {
      const at = `${where}/requestBody/content/${type.replace(/\//g, '~1')}/schema`;
      body = { schema: content[type].schema, required, where: at, form: !JSON_TYPE.test(type.toLowerCase()) };
    } else {
      const types = Object.keys(content).join(', ') || 'body without a media type';
      report(`${where}/requestBody`, `a ${types} request body cannot be sent${unsent(required)}`, true);
      if (required) return undefined;
    }
  }
  const answer = answerOf3(op.responses ?? {}, where, report);
  return answer && { parameters, body, answer };
}

/** The end of a report on a body the gateway cannot send. */
const unsent = (required: boolean) =>
  ` (the gateway sends JSON or a urlencoded form)${required ? ': operation left out' : ''}`;

function answerOf3(responses: Schema, where: string, report: Reporter): Operation['answer'] | undefined {
  const code = successCode(responses);
  if (code === undefined) return { kind: 'empty' };
  const content = responses[code]?.content ?? {};
  const types = Object.keys(content);
  if (code === '204' || types.length === 0) return { kind: 'empty' };
  const json = jsonContent(content);
  const at = `${where}/responses/${code}`;
  if (json)
    return { kind: 'json', schema: content[json].schema, where: `${at}/content/${json.replace(/\//g, '~1')}/schema` };
  if (types.some((t) => TEXT_TYPE.test(t.toLowerCase()))) return { kind: 'text' };
  report(at, `a ${types.join(', ')} answer is not JSON or text: operation left out`, true);
  return undefined;
}

function readSwagger2(doc: Schema, path: string, method: string, where: string, report: Reporter): Parts | undefined {
  const op = doc.paths[path][method];
  const parameters: Parameter[] = [];
  let body: Parts['body'];
  const consumes: string[] = (op.consumes ?? doc.consumes ?? ['application/json']).map((c: string) => c.toLowerCase());
  // The fields (not files) of a urlencoded form are one object, sent with bodyFormat: FORM.
  const formFields: Schema = { type: 'object', properties: {}, required: [] };
  const formSendable = consumes.some((c) => c.startsWith(FORM_TYPE));
  for (const { p, where: at } of parametersOf(doc, path, method)) {
    if (p.in === 'body') {
      if (consumes.some((c) => JSON_TYPE.test(c)) || !consumes.length)
        body = { schema: p.schema, required: p.required === true, where: `${at}/schema`, form: false };
      else {
        report(at, `a ${consumes.join(', ')} body cannot be sent${unsent(p.required === true)}`, true);
        if (p.required) return undefined;
      }
      continue;
    }
    if (p.in === 'formData') {
      if (formSendable && p.type !== 'file') {
        formFields.properties[p.name] = inPlaceSchema(p);
        if (p.required) formFields.required.push(p.name);
        continue;
      }
      const what = p.type === 'file' ? 'a file upload' : `a ${consumes.join(', ')} form field`;
      report(at, `${what} cannot be sent${unsent(p.required === true)}`, true);
      if (p.required) return undefined;
      continue;
    }
    const joined =
      p.type === 'array' && p.collectionFormat !== 'multi'
        ? `collectionFormat ${p.collectionFormat ?? 'csv'}`
        : undefined;
    parameters.push(parameterOf(p, at, inPlaceSchema(p), joined));
  }
  if (Object.keys(formFields.properties).length)
    body = { schema: formFields, required: formFields.required.length > 0, where: `${where}/parameters`, form: true };
  const produces: string[] = (op.produces ?? doc.produces ?? ['application/json']).map((c: string) => c.toLowerCase());
  const responses = op.responses ?? {};
  const code = successCode(responses);
  if (code === undefined || code === '204' || !responses[code]?.schema)
    return { parameters, body, answer: { kind: 'empty' } };
  const schema = responses[code].schema as Schema;
  const at = `${where}/responses/${code}`;
  if (produces.some((c) => JSON_TYPE.test(c)) || produces.length === 0)
    return { parameters, body, answer: { kind: 'json', schema, where: `${at}/schema` } };
  if (produces.some((c) => TEXT_TYPE.test(c)) && typeOf(schema) === 'string')
    return { parameters, body, answer: { kind: 'text' } };
  report(at, `a ${produces.join(', ')} answer is not JSON or text: operation left out`, true);
  return undefined;
}

/** A path parameter is required whatever the document says (the url needs it). */
function parameterOf(p: Schema, where: string, schema: Schema | undefined, joined: string | undefined): Parameter {
  const required = p.in === 'path' || p.required === true;
  return { name: p.name, in: p.in, required, schema, description: p.description, joined, style: p.style, where };
}

/** A Swagger 2 parameter types itself in place, and its items the same way. */
function inPlaceSchema(p: Schema): Schema {
  const { type, format, items, enum: values, minimum, maximum, description } = p;
  return { type, format, items, enum: values, minimum, maximum, description };
}

/** The answer a field returns: 200, 201, another 2xx, 2XX, or default. */
function successCode(responses: Schema): string | undefined {
  const codes = Object.keys(responses);
  for (const wanted of ['200', '201']) if (codes.includes(wanted)) return wanted;
  const other = codes.filter((c) => /^2\d\d$/.test(c)).sort()[0];
  if (other) return other;
  const range = codes.find((c) => c === '2XX' || c === '2xx');
  if (range) return range;
  return codes.includes('default') ? 'default' : undefined;
}
