import net from 'node:net';

/** A decoded RESP2 reply: simple and bulk strings, integers, arrays, null; errors reject. */
export type RespReply = string | number | null | RespReply[];

/**
 * Sends one command (arguments encoded as a RESP array, so they may contain spaces) over a raw
 * socket to `127.0.0.1:<port>` and resolves to its whole decoded reply. For test setup, independent
 * of ioredis; an error reply rejects with its message.
 */
export async function respCommand(
  port: number,
  args: readonly (string | number)[],
  timeoutMs = 1000,
): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buffer = Buffer.alloc(0);
    const finish = (err: Error | undefined, reply?: RespReply) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(
      () => finish(new Error(`redis on ${port} did not answer ${args[0]} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => {
      const parts = args.map(String);
      socket.write(
        `*${parts.length}\r\n` + parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join(''),
      );
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      let parsed: { reply: RespReply; end: number } | undefined;
      try {
        parsed = parse(buffer, 0);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (parsed !== undefined) finish(undefined, parsed.reply);
    });
    socket.on('error', (err) => finish(err));
  });
}

/** Parses one reply at `offset`; undefined while incomplete. */
function parse(buffer: Buffer, offset: number): { reply: RespReply; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: line, end: next };
    case '-':
      throw new Error(line);
    case ':':
      return { reply: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, end: next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, at);
        if (item === undefined) return undefined;
        items.push(item.reply);
        at = item.end;
      }
      return { reply: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}
