/** The demo's settings, from the environment. */
export interface DemoConfig {
  /** `PORT`, default 3000 (0: any free port). */
  port: number;
  /** `HOST`, the address to listen on; default every interface. */
  host: string | undefined;
  /** `CACHE_ENABLED=false` turns the cache off (every tier `null`); default on. */
  cacheEnabled: boolean;
  /** `REDIS_URL`: Redis as the shared tier (L2). */
  redisUrl: string | undefined;
  /** `DATABASE_URL`: PostgreSQL instead of the embedded PGlite. */
  databaseUrl: string | undefined;
}

/** Injection token of the `DemoConfig`. */
export const DEMO_CONFIG = Symbol('DEMO_CONFIG');

/** Reads the demo's settings from an environment (`process.env` by default). */
export function loadDemoConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(env.PORT)}`);
  const flag = env.CACHE_ENABLED?.trim().toLowerCase();
  return {
    port,
    host: env.HOST || undefined,
    cacheEnabled: !(flag === 'false' || flag === '0' || flag === 'no' || flag === 'off'),
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
  };
}
