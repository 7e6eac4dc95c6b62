// Placeholders in schema-file strings: {args.x}, {parent.x}, {jwt.claim}, {header.name}, {keys}.
// ({env.NAME} is substituted when the file loads, see config/env.ts.) Each template is parsed
// once at load time into parts; rendering is then plain property access.

export interface TemplateScope {
  args?: Record<string, unknown>;
  parent?: unknown;
  jwt?: Record<string, unknown>;
  headers?: Record<string, string | undefined>;
  keys?: readonly unknown[];
}

export type PlaceholderRoot = 'args' | 'parent' | 'jwt' | 'header' | 'keys';

export interface Placeholder {
  root: PlaceholderRoot;
  path: string[];
  /** The text as written, for error messages. */
  text: string;
}

export type TemplatePart = string | Placeholder;

const PLACEHOLDER = /\{(args|parent|jwt|header|keys)((?:\.[^{}.\s]+)*)\}/g;

export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const root = m[1] as PlaceholderRoot;
    const path = m[2] ? m[2].slice(1).split('.') : [];
    // {keys} stands alone; every other root needs a name after it.
    if ((root === 'keys') !== (path.length === 0)) continue;
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ root, path: root === 'header' ? [path.join('.').toLowerCase()] : path, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function placeholdersOf(parts: readonly TemplatePart[]): Placeholder[] {
  return parts.filter((p): p is Placeholder => typeof p !== 'string');
}

/** Compiles a placeholder into a getter; the path walk is unrolled for the common depths. */
export function compileGetter(p: Placeholder): (scope: TemplateScope) => unknown {
  const path = p.path;
  if (p.root === 'keys') return (s) => s.keys;
  if (p.root === 'header') {
    const name = path[0];
    return (s) => s.headers?.[name];
  }
  const root = p.root;
  const pick = (s: TemplateScope): unknown => (root === 'args' ? s.args : root === 'parent' ? s.parent : s.jwt);
  if (path.length === 1) {
    const a = path[0];
    return (s) => (pick(s) as Record<string, unknown> | undefined)?.[a];
  }
  return (s) => getPath(pick(s), path);
}

export function getPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Text form of a value placed inside a larger string. */
export function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export function isMissing(value: unknown): boolean {
  return value === undefined || value === null;
}
