import type { Redis } from 'ioredis';

const ignore = (): void => undefined;

/** The answer of a PING on `node`, or at once when it is not ready; never rejects. */
export function pingOf(node: Redis | undefined): Promise<void> {
  if (node === undefined || node.status !== 'ready') return Promise.resolve();
  return node.ping().then(ignore, ignore);
}

/** Most commands a connection may have unanswered for all of them to be checked for PINGs. */
const FEW = 4;

/**
 * The fence of one Redis connection (a single node or Sentinel): `fence()` resolves once Redis has
 * answered a `PING` sent after every answer read so far on that connection. Redis answers a
 * command and writes the messages it causes (a PUBLISH's, a tracking invalidation) in the same turn
 * of its event loop, but not in a set order; it writes everything pending before it reads the next
 * command, so the PING's answer proves that the messages of those answers' commands are written.
 *
 * One rule serves every PING: it is shared for as long as nothing more is read from the socket.
 * Node runs everything the answers of one read set off (their promise callbacks, and what those
 * chain) before it reads that socket again, so a caller that finds the PING of the current read
 * follows answers that had arrived before the PING was sent.
 *
 * While commands whose answers a fence will follow are due ({@link answersDue}), the PING leaves
 * at the end of the read that brings the last answer Redis owes (once ioredis has parsed it, before
 * the callers run): the round trip then overlaps the callers' work, and a batch of writes gets one
 * PING even when its answers arrive over several reads. A read after which a command other than a
 * PING is still unanswered sends none, so a slow command does not set off one per round trip. A
 * caller that finds no PING of the current read sends one at once (the connections the library
 * opens do not auto-pipeline `ping`). Never rejects.
 */
export class ReadFence {
  /** Commands sent whose answers a fence will follow. */
  private due = 0;
  /** Reads of the watched socket so far, and that socket (a reconnect opens a new one). */
  private reads = 0;
  private socket: NodeJS.EventEmitter | undefined;
  /** The last PING and the read it was sent in. */
  private ping: Promise<void> | undefined;
  private pingAt = -1;

  constructor(private readonly connection: Redis) {}

  /**
   * Watches the connection's current socket (call it on `ready`): each read is counted as it
   * begins, ahead of ioredis's parser, and looked at once ioredis has parsed it.
   */
  watch(): void {
    const socket = this.connection.stream as NodeJS.EventEmitter | undefined;
    if (socket === undefined || socket === this.socket) return;
    this.close();
    this.socket = socket;
    socket.prependListener('data', this.onRead);
    socket.on('data', this.onParsed);
  }

  /** Stops watching. */
  close(): void {
    this.socket?.off('data', this.onRead);
    this.socket?.off('data', this.onParsed);
    this.socket = undefined;
    this.ping = undefined; // sent on the old socket
  }

  /** Brackets a command whose answer a fence will follow: `1` before it is sent, `-1` once settled. */
  answersDue(change: 1 | -1): void {
    this.due += change;
  }

  /** See the class. */
  fence(): Promise<void> {
    if (this.connection.status !== 'ready') return Promise.resolve(); // nothing to fence
    this.watch();
    if (this.pingAt === this.reads && this.ping !== undefined) return this.ping;
    return this.sendPing();
  }

  private sendPing(): Promise<void> {
    this.pingAt = this.reads;
    this.ping = pingOf(this.connection);
    return this.ping;
  }

  private readonly onRead = (): void => {
    this.reads++;
  };

  /**
   * After ioredis parsed a read (its callers have not run yet, so `due` still counts the answers
   * just read): the read's PING, when answers were due and Redis owes nothing but PINGs.
   */
  private readonly onParsed = (): void => {
    if (this.due <= 0 || this.pingAt === this.reads || this.connection.status !== 'ready') return;
    if (onlyPingsUnanswered(this.connection)) void this.sendPing();
  };
}

/**
 * Whether every command `connection` sent has been answered, but for PINGs (its own or others').
 * False when the connection does not show its queue (ioredis 5 and 6 do): the fence's own PING
 * then leaves when a caller asks for it.
 */
function onlyPingsUnanswered(connection: Redis): boolean {
  const queue = connection.commandQueue as Redis['commandQueue'] | undefined;
  if (queue === undefined || queue.length > FEW) return false;
  for (let i = 0; i < queue.length; i++) if (queue.peekAt(i)?.command.name !== 'ping') return false;
  return true;
}
