// For bench/tracing.ts only (`node --import ./bench/als-shim.mjs`): every HTTP request of the
// process handled inside an AsyncLocalStorage run(), as OpenTelemetry's
// AsyncLocalStorageContextManager does when the active context carries the request's span.
// Measures what that way of carrying the trace context would cost.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Server } from 'node:http';

const storage = new AsyncLocalStorage();
const emit = Server.prototype.emit;
Server.prototype.emit = function emitInContext(event, ...args) {
  if (event !== 'request') return emit.call(this, event, ...args);
  return storage.run({}, () => emit.call(this, event, ...args));
};
