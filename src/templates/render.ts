// Renderers for the three kinds of template a schema file writes (README, "Schema files"):
// a URL (path + query), a JSON value (`body:`, `request:`) and plain text (header values).
import { badUserInput } from '../errors.js';
import {
  compileGetter,
  isMissing,
  type Placeholder,
  parseTemplate,
  stringify,
  type TemplatePart,
  type TemplateScope,
} from './placeholders.js';

type Getter = (scope: TemplateScope) => unknown;
type CompiledPart = string | { get: Getter; placeholder: Placeholder };

function compileParts(parts: readonly TemplatePart[]): CompiledPart[] {
  return parts.map((p) => (typeof p === 'string' ? p : { get: compileGetter(p), placeholder: p }));
}

/** Text with placeholders; `undefined` when a placeholder has no value (the caller drops it). */
export function compileText(text: string): (scope: TemplateScope) => string | undefined {
  const parts = compileParts(parseTemplate(text));
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const constant = parts[0];
    return () => constant;
  }
  return (scope) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else {
        const v = part.get(scope);
        if (isMissing(v)) return undefined;
        out += Array.isArray(v) ? v.map(stringify).join(',') : stringify(v);
      }
    }
    return out;
  };
}

interface QueryParam {
  name: string;
  /** A value that is exactly one placeholder: lists repeat the parameter, missing drops it.
   *  Neither `single` nor `text`: a bare flag (`?verbose`). */
  single?: Getter;
  text?: (scope: TemplateScope) => string | undefined;
}

/**
 * Path placeholders are percent-encoded as one segment each, so `user(id: "../admin")`
 * cannot climb the upstream's path. Query values: a list repeats the parameter, a missing
 * value drops it.
 */
export function compileUrl(template: string): (scope: TemplateScope) => string {
  const q = template.indexOf('?');
  const pathParts = compileParts(parseTemplate(q < 0 ? template : template.slice(0, q)));
  const params: QueryParam[] = [];
  if (q >= 0) {
    for (const pair of template.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq < 0) {
        params.push({ name: pair });
        continue;
      }
      const name = pair.slice(0, eq);
      const valueParts = parseTemplate(pair.slice(eq + 1));
      if (valueParts.length === 1 && typeof valueParts[0] !== 'string') {
        params.push({ name, single: compileGetter(valueParts[0]) });
      } else {
        params.push({ name, text: compileText(pair.slice(eq + 1)) });
      }
    }
  }
  return (scope) => {
    let url = '';
    for (const part of pathParts) {
      if (typeof part === 'string') {
        url += part;
        continue;
      }
      const v = part.get(scope);
      if (isMissing(v)) throw badUserInput(`No value for ${part.placeholder.text} in the upstream path`);
      url += encodeURIComponent(Array.isArray(v) ? v.map(stringify).join(',') : stringify(v));
    }
    let sep = url.includes('?') ? '&' : '?';
    for (const param of params) {
      const name = encodeURIComponent(param.name);
      if (param.single) {
        const v = param.single(scope);
        if (isMissing(v)) continue;
        for (const item of Array.isArray(v) ? v : [v]) {
          if (isMissing(item)) continue;
          url += `${sep}${name}=${encodeURIComponent(stringify(item))}`;
          sep = '&';
        }
      } else if (param.text) {
        const v = param.text(scope);
        if (v === undefined) continue;
        url += `${sep}${name}=${encodeURIComponent(v)}`;
        sep = '&';
      } else {
        url += `${sep}${name}`;
        sep = '&';
      }
    }
    return url;
  };
}

/**
 * A JSON template: a string that is exactly one placeholder becomes the raw value (number,
 * list, object); other strings are text. A key whose raw value is missing is left out.
 */
export function compileJson(template: unknown): (scope: TemplateScope) => unknown {
  if (typeof template === 'string') {
    const parts = parseTemplate(template);
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const get = compileGetter(parts[0]);
      return (s) => {
        const v = get(s);
        return v === null ? null : v;
      };
    }
    if (parts.every((p) => typeof p === 'string')) return () => template;
    return compileText(template);
  }
  if (Array.isArray(template)) {
    const items = template.map(compileJson);
    return (s) => items.map((item) => item(s)).filter((v) => v !== undefined);
  }
  if (template !== null && typeof template === 'object') {
    const entries = Object.entries(template).map(([k, v]) => [k, compileJson(v)] as const);
    return (s) => {
      const out: Record<string, unknown> = {};
      for (const [k, render] of entries) {
        const v = render(s);
        if (v !== undefined) out[k] = v;
      }
      return out;
    };
  }
  return () => template;
}

/** Every placeholder a JSON template mentions (for load-time checks). */
export function jsonPlaceholders(template: unknown): Placeholder[] {
  if (typeof template === 'string')
    return parseTemplate(template).filter((p): p is Placeholder => typeof p !== 'string');
  if (Array.isArray(template)) return template.flatMap(jsonPlaceholders);
  if (template !== null && typeof template === 'object') return Object.values(template).flatMap(jsonPlaceholders);
  return [];
}
