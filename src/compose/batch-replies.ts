// How a batched call's reply is read back into one value per key, the same for @http and
// @grpc (`key:`/`match:`/`pick:`) and for @merge lookups. The reply (at `result:`) is:
// - a flat list of items, each carrying its key at the `match` path;
// - a list of groups, each carrying its key at `match` and its value at `pick`
//   (`{ results: [{ userId, orders: [...] }] }`: result "results", match "userId", pick "orders");
// - positional (`match: "$index"`): one entry per key, in the order of `{keys}`, null for an
//   unknown key (AIP-231 BatchGet, DataLoader's convention);
// - an object keyed by the key (`match: "$key"`).
// `pick:` may follow any of them. A list field gets every value matched to its key (a picked
// list is spread), a single field the first; none gives [] or null. Keys compare as strings,
// so an upstream's integer 7 matches the key "7".
import { getPath, isMissing } from '../templates/placeholders.js';

export type BatchReplyReader = (reply: unknown, keys: readonly string[]) => unknown[];

export const BY_INDEX = '$index';
export const BY_KEY = '$key';

export function batchReplyReader(match: string, pick: string | undefined, list: boolean): BatchReplyReader {
  const pickPath = pick ? pick.split('.') : undefined;
  const value = pickPath ? (entry: unknown) => getPath(entry, pickPath) : (entry: unknown) => entry;
  const none = () => (list ? [] : null);
  const shaped = (v: unknown): unknown => {
    if (isMissing(v)) return none();
    if (!list) return v;
    return Array.isArray(v) ? v : [v];
  };
  if (match === BY_INDEX) {
    return (reply, keys) => (Array.isArray(reply) ? keys.map((_k, i) => shaped(value(reply[i]))) : keys.map(none));
  }
  if (match === BY_KEY) {
    return (reply, keys) => {
      if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) return keys.map(none);
      const byKey = reply as Record<string, unknown>;
      return keys.map((k) => shaped(Object.hasOwn(byKey, k) ? value(byKey[k]) : undefined));
    };
  }
  const matchPath = match.split('.');
  return (reply, keys) => {
    const groups = new Map<string, unknown[]>();
    for (const item of Array.isArray(reply) ? reply : []) {
      const v = value(item);
      if (v === undefined) continue;
      const matched = getPath(item, matchPath);
      // A list-valued match (an item belonging to several parents) files it under each.
      for (const k of Array.isArray(matched) ? matched : [matched]) {
        if (isMissing(k)) continue;
        const key = String(k);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = []));
        if (pickPath && list && Array.isArray(v)) group.push(...v);
        else group.push(v);
      }
    }
    return keys.map((k) => {
      const group = groups.get(k);
      if (list) return group ?? [];
      return group?.[0] ?? null;
    });
  };
}
