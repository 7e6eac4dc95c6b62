// The services a .proto file defines, read with the gateway's own loader options and import
// rule (includeDirs = the file's folder), so a file that imports here loads in `quilt check`.
import { dirname } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { loadGrpcService, PROTO_LOADER_OPTIONS, ProtoLoadError } from '../connectors/grpc/proto.js';

/** Fully qualified service names, in file order. A broken file throws a located ProtoLoadError. */
export function servicesIn(protoFile: string): string[] {
  let definition: ReturnType<typeof loadSync>;
  try {
    definition = loadSync(protoFile, { ...PROTO_LOADER_OPTIONS, includeDirs: [dirname(protoFile)] });
  } catch (e) {
    // The gateway's loader locates the problem (file:line:column): it parses the file before
    // it looks for the (here empty) service name, so a parse problem is what it throws.
    try {
      loadGrpcService(protoFile, '');
    } catch (located) {
      if (located instanceof ProtoLoadError && !located.message.startsWith('service "" is not defined')) throw located;
    }
    throw new ProtoLoadError(String((e as Error).message ?? e));
  }
  // Messages and enums carry `format`; a service is a map of method definitions.
  return Object.entries(definition)
    .filter(([, value]) => !('format' in value))
    .map(([name]) => name);
}
