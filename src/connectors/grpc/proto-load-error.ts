// Errors from loading a .proto, located as precisely as protobufjs allows: it reports a line
// for syntax errors and nothing for unknown types or missing imports, so those are found
// in the files it read. `quilt check` and hot reload turn them into file:line:column.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** `message` is the bare reason; where it is, when known, is in `file`, `line` and `column`. */
export class ProtoLoadError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
    /** The file `line` is in: the loaded file or one it imports. Set whenever `line` is. */
    readonly file?: string,
    /** The @upstream setting to fix: the proto file itself, or the service named in it. */
    readonly setting: 'proto' | 'service' = 'proto',
  ) {
    super(message);
    this.name = 'ProtoLoadError';
  }
}

export function toLoadError(e: unknown, protoFile: string, files: string[]): ProtoLoadError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') {
    const target = err.path ? relativeTo(dirname(protoFile), err.path) : '?';
    const at = findLine(files, (code) => code.indexOf(`"${target}"`));
    const reason = `import "${target}" not found (imports resolve against ${dirname(protoFile)})`;
    return at ? new ProtoLoadError(reason, at.line, at.column, at.file) : new ProtoLoadError(reason);
  }
  const message = String(err.message ?? e);
  const at = /\((?:[^,()]*, )?line (\d+)\)\s*$/.exec(message);
  if (!at) return unresolvedTypeError(message, files) ?? new ProtoLoadError(message);
  // protobufjs parses depth-first and synchronously: a syntax error is always in the file it
  // read last, which is an import when it is not the loaded file.
  const file = files.at(-1) ?? protoFile;
  const line = Number(at[1]);
  const reason = message.slice(0, at.index).trim();
  return new ProtoLoadError(reason, line, columnOf(file, line, reason), file);
}

/** protobufjs names an unknown type without a line: point at its first use in the files read. */
function unresolvedTypeError(message: string, files: string[]): ProtoLoadError | undefined {
  const type = /^no such (?:Type|Enum|Type or Enum) '([^']+)'/.exec(message)?.[1];
  if (!type) return undefined;
  const use = new RegExp(`(^|[^\\w.])${type.replace(/\./g, '\\.')}\\b`);
  const at = findLine(files, (code) => {
    const m = use.exec(code);
    return m ? m.index + m[1].length : -1;
  });
  return at && new ProtoLoadError(`unknown type "${type}"`, at.line, at.column, at.file);
}

/** First line (comments stripped) where `indexIn` finds something, across the files read. */
function findLine(
  files: string[],
  indexIn: (code: string) => number,
): { file: string; line: number; column: number } | undefined {
  for (const file of files) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      continue; // bundled well-known types and the missing file itself have nothing on disk
    }
    for (let i = 0; i < lines.length; i++) {
      const at = indexIn(lines[i].replace(/\/\/.*$/, ''));
      if (at >= 0) return { file, line: i + 1, column: at + 1 };
    }
  }
  return undefined;
}

/** protobufjs reports lines only; the column is where the offending token sits on that line. */
function columnOf(file: string, line: number, reason: string): number | undefined {
  const token = /^illegal \w+ '(.*?)'/.exec(reason)?.[1];
  if (!token) return undefined;
  try {
    const text = readFileSync(file, 'utf8').split('\n')[line - 1] ?? '';
    const i = text.indexOf(token);
    return i >= 0 ? i + 1 : undefined;
  } catch {
    return undefined;
  }
}

function relativeTo(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}
