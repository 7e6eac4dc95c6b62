// `quilt import proto FILE.proto [--service NAME] [--out FILE] [--upstream-name NAME]
// [--replicas host:port,...]`: writes a schema file (stdout, or --out) that `quilt check`
// accepts and that serves the service without edits. Exit codes: 0 written, 1 the file is
// missing or does not load, 2 a usage problem (no or unknown --service, a bad flag value).
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { loadGrpcService, ProtoLoadError } from '../connectors/grpc/proto.js';
import { generateSchema } from '../proto-import/generate.js';
import { servicesIn } from '../proto-import/services.js';
import { IMPORT_FLAGS, parseOptions, UsageError } from './options.js';

const DEFAULT_REPLICA = '127.0.0.1:50051';
const REPLICA = /^(grpcs?:\/\/)?[^/:,\s]+:\d+$/;
const UPSTREAM_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export async function importProto(argv: string[]): Promise<number> {
  // No environment variables: an import is one explicit invocation.
  const { options, positionals } = parseOptions(argv, {}, IMPORT_FLAGS);
  if (positionals.length !== 1) throw new UsageError('import proto: needs exactly one FILE.proto');
  const given = positionals[0];
  const protoFile = resolve(given);
  if (!existsSync(protoFile)) {
    console.error(`quilt import proto: ${given}: no such file${given === protoFile ? '' : ` (${protoFile})`}`);
    return 1;
  }

  const replicas = String(options.replicas ?? DEFAULT_REPLICA)
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const badReplica = replicas.find((r) => !REPLICA.test(r));
  if (!replicas.length || badReplica !== undefined)
    throw new UsageError(
      `--replicas: expected host:port[,host:port...] (grpc:// or grpcs:// allowed), received "${badReplica ?? ''}"`,
    );

  try {
    const services = servicesIn(protoFile);
    const listed = services.map((s) => `  ${s}`).join('\n');
    if (!services.length) {
      console.error(`quilt import proto: ${given} defines no service`);
      return 1;
    }
    let service = options.service === undefined ? undefined : String(options.service).replace(/^\./, '');
    if (service === undefined) {
      if (services.length > 1)
        throw new UsageError(`${given} defines ${services.length} services; choose one with --service:\n${listed}`);
      service = services[0];
    } else if (!services.includes(service)) {
      throw new UsageError(`${given} has no service "${service}"; its services:\n${listed}`);
    }

    const upstreamName =
      options['upstream-name'] === undefined ? kebab(service.split('.').at(-1)!) : String(options['upstream-name']);
    if (!UPSTREAM_NAME.test(upstreamName))
      throw new UsageError(
        `--upstream-name: letters, digits, "_" or "-", starting with a letter; received "${upstreamName}"`,
      );

    const out = options.out === undefined ? undefined : resolve(String(options.out));
    // proto: is relative to the schema file; on stdout, the path as it was given.
    const proto = out ? relative(dirname(out), protoFile).split(sep).join('/') : given;
    const info = loadGrpcService(protoFile, service);
    const generated = generateSchema(info, { proto, upstreamName, replicas, protoLabel: basename(protoFile) });

    for (const w of generated.warnings) console.error(`quilt import proto: ${w}`);
    if (!out) {
      process.stdout.write(generated.text);
      return 0;
    }
    try {
      writeFileSync(out, generated.text);
    } catch (e) {
      console.error(`quilt import proto: cannot write ${options.out}: ${(e as Error).message}`);
      return 1;
    }
    const { Query, Mutation, Subscription, skipped } = generated.counts;
    console.error(
      `quilt import proto: wrote ${options.out} (${service}: ${Query} Query, ${Mutation} Mutation, ${Subscription} Subscription field(s)${skipped ? `, ${skipped} method(s) skipped` : ''})`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof ProtoLoadError)) throw e;
    const where = e.line ? `${e.file ?? protoFile}:${e.line}:${e.column ?? 1}` : (e.file ?? protoFile);
    console.error(`${where}: ${e.message}`);
    return 1;
  }
}

/** "RouteGuide" -> "route-guide", "HTTPProxy" -> "http-proxy". */
function kebab(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-');
  const trimmed = words.replace(/^[^a-z]+/, '').replace(/-+$/, '');
  return trimmed || 'grpc';
}
