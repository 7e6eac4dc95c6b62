// A multipart/mixed reader (RFC 2046) for @defer/@stream responses: yields each part's JSON
// body as soon as the part is complete, so a test sees the parts in the order and at the
// time they arrive. Part bodies are JSON, which never holds a raw CRLF, so the delimiter
// cannot appear inside one.

export interface TimedPart {
  body: any;
  /** performance.now() when the part was complete at the client. */
  at: number;
}

export async function* multipartParts(response: Response): AsyncGenerator<TimedPart> {
  const type = response.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.startsWith('multipart/mixed') || !boundary) throw new Error(`not a multipart/mixed response: ${type}`);
  const delimiter = `\r\n--${boundary}`;
  const decoder = new TextDecoder();
  let buffer = '';
  let preamble = true;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let at = buffer.indexOf(delimiter); at >= 0; at = buffer.indexOf(delimiter)) {
      const part = buffer.slice(0, at);
      buffer = buffer.slice(at + delimiter.length);
      if (preamble) {
        preamble = false;
        continue;
      }
      const headersEnd = part.indexOf('\r\n\r\n');
      if (headersEnd < 0) throw new Error(`a part without headers: ${JSON.stringify(part)}`);
      yield { body: JSON.parse(part.slice(headersEnd + 4)), at: performance.now() };
    }
  }
  if (!buffer.startsWith('--'))
    throw new Error(`the body did not end with the close delimiter: ${JSON.stringify(buffer)}`);
}
