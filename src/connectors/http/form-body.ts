// `bodyFormat: FORM`: the rendered body as application/x-www-form-urlencoded, the way form
// APIs (Stripe, Twilio, GitLab, Slack) read nested values: `a[b]=1`, a list repeats its key
// (`tag=x&tag=y`), a list of objects is indexed (`items[0][sku]=7`). Null and missing values
// are left out; booleans and numbers are their JSON text. URLSearchParams does the escaping.
export function formEncode(value: unknown): string {
  const params = new URLSearchParams();
  const add = (key: string, v: unknown): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) add(item !== null && typeof item === 'object' ? `${key}[${i}]` : key, item);
      return;
    }
    if (typeof v === 'object') {
      for (const [k, inner] of Object.entries(v as Record<string, unknown>)) add(`${key}[${k}]`, inner);
      return;
    }
    params.append(key, String(v));
  };
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(k, v);
  return params.toString();
}
