import { parseArgs } from 'node:util';

/** The command line help of `npm run demo:traffic`. */
export const USAGE = `usage: node dist/apps/demo/traffic.js [options]

  --requests <n>      requests sent to each instance (default 10000)
  --concurrency <n>   requests in flight at once (default 16)
  --url <base>        drive an already running demo (loopback only) instead of starting the cached instance
  --compare           with --url: also start and measure an instance with the cache off
  --seed <n>          seed of the request mix (default 1)
  --timeout <s>       give up after this many seconds in all (default 120)
  -h, --help          this help`;

/** The parsed command line. */
export interface Options {
  requests: number;
  concurrency: number;
  url: string | undefined;
  compare: boolean;
  seed: number;
  timeoutMs: number;
}

/** A wrong command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

function integerOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** Only loopback targets: this is a load generator, never point it at someone else's server. */
function loopbackBase(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(value)} is not a URL`);
  }
  const host = url.hostname;
  if (
    url.protocol !== 'http:' ||
    !(host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
  ) {
    throw new UsageError(
      `--url must be http:// on the loopback interface (127.0.0.1, localhost, [::1]), got ${value}`,
    );
  }
  return url.origin;
}

/** Parses the command line; undefined for --help. Throws `UsageError`. */
export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      requests: { type: 'string' },
      concurrency: { type: 'string' },
      url: { type: 'string' },
      compare: { type: 'boolean', default: false },
      seed: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  if (values.compare && values.url === undefined)
    throw new UsageError(
      '--compare goes with --url (without --url both instances are started and compared anyway)',
    );
  return {
    requests: integerOption(values.requests, 'requests', 10_000, 1, 1_000_000),
    concurrency: integerOption(values.concurrency, 'concurrency', 16, 1, 256),
    url: values.url === undefined ? undefined : loopbackBase(values.url),
    compare: values.compare ?? false,
    seed: integerOption(values.seed, 'seed', 1, 0, 2 ** 32 - 1),
    timeoutMs: integerOption(values.timeout, 'timeout', 120, 1, 3600) * 1000,
  };
}
