import type { INestApplication, Type } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

/** One HTTP platform a route test runs on. */
export interface HttpPlatform {
  readonly name: 'express' | 'fastify';
  readonly adapter: () => ExpressAdapter | FastifyAdapter;
}

/** Both platforms, for `describe.each(HTTP_PLATFORMS)('… on $name', …)`. */
export const HTTP_PLATFORMS: readonly HttpPlatform[] = [
  { name: 'express', adapter: () => new ExpressAdapter() },
  { name: 'fastify', adapter: () => new FastifyAdapter() },
];

/**
 * Compiles `module` into an application on the platform `adapter` makes, without Nest's logs;
 * `configure` runs before `init()` (a global prefix, versioning). Resolves once it takes requests
 * (Fastify's `ready()` too). The caller closes it.
 */
export async function startHttpApp(
  module: Type<unknown>,
  adapter: HttpPlatform['adapter'],
  configure?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication(adapter(), { logger: false });
  configure?.(app);
  await app.init();
  if (app.getHttpAdapter().getType() === 'fastify')
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}
