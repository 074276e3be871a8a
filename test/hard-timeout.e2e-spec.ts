import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Catch,
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  UseFilters,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import request from 'supertest';
import { CacheModule, CacheService, Cached, OriginTimeoutError } from 'nest-tiered-cache';
import { deferred, FakeClock } from '../libs/tiered-cache/test/test-cache.js';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/**
 * Issue 13, point 17: `hardTimeout` on `@Cached` routes and provider methods, on real HTTP. A hung
 * handler releases every request waiting for it with `OriginTimeoutError`, which reaches the app's
 * exception filters (Nest's default answers 500; a filter may answer 504), or a stale answer within
 * grace stands in; the next request runs the handler afresh.
 */
@Injectable()
class Origin {
  gate = deferred<void>();
  runs = new Map<string, number>();
  run(what: string): number {
    const n = (this.runs.get(what) ?? 0) + 1;
    this.runs.set(what, n);
    return n;
  }
  count(what: string): number {
    return this.runs.get(what) ?? 0;
  }
  /** Opens the gate for whoever waits, and closes a new one for the next test. */
  reset(): void {
    this.gate.resolve();
    this.gate = deferred<void>();
    this.runs.clear();
  }
}

@Injectable()
class Reports {
  constructor(private readonly origin: Origin) {}

  @Cached({ hardTimeout: '150ms' })
  async build(id: string): Promise<{ id: string; n: number }> {
    const n = this.origin.run('report');
    await this.origin.gate.promise;
    return { id, n };
  }
}

/** Answers `504 Gateway Timeout` for an origin that timed out: what an app may choose. */
@Catch(OriginTimeoutError)
class OriginTimeoutFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(_err: OriginTimeoutError, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    this.adapterHost.httpAdapter.reply(response, { statusCode: 504 }, 504);
  }
}

@Controller()
class SlowController {
  constructor(
    private readonly origin: Origin,
    private readonly reports: Reports,
  ) {}

  @Get('slow/:id')
  @Cached({ key: 'slow:{id}', hardTimeout: '150ms' })
  async slow(@Param('id') id: string) {
    const n = this.origin.run('slow');
    await this.origin.gate.promise;
    return { id, n };
  }

  @Get('stale/:id')
  @Cached({ key: 'stale:{id}', ttl: 1, grace: '1h', hardTimeout: '150ms' })
  async stale(@Param('id') id: string) {
    const n = this.origin.run('stale');
    if (n > 1) await this.origin.gate.promise;
    return { id, n };
  }

  @Get('report/:id')
  report(@Param('id') id: string) {
    return this.reports.build(id);
  }
}

@Controller('mapped')
@UseFilters(OriginTimeoutFilter)
class MappedController {
  constructor(private readonly origin: Origin) {}

  @Get(':id')
  @Cached({ key: 'mapped:{id}', hardTimeout: '150ms' })
  async mapped(@Param('id') id: string) {
    this.origin.run('mapped');
    await this.origin.gate.promise;
    return { id };
  }
}

const clock = new FakeClock(Date.now());

@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, namespace: 'hard', clock: clock.read })],
  controllers: [SlowController, MappedController],
  providers: [Origin, Reports],
})
class AppModule {}

describe.each(HTTP_PLATFORMS)('hardTimeout on $name', ({ adapter }) => {
  let app: INestApplication;
  let origin: Origin;
  let cache: CacheService;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(AppModule, adapter);
    origin = app.get(Origin);
    cache = app.get(CacheService);
  });
  afterEach(async () => {
    origin.reset();
    await cache.clear();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers every request of a hung route 500 (default filter), then runs the handler afresh', async () => {
    const started = performance.now();
    const answers = await Promise.all([1, 2, 3].map(() => http().get('/slow/1')));
    expect(answers.map((res) => res.status)).toEqual([500, 500, 500]);
    expect(answers[0]!.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(origin.count('slow')).toBe(1); // one handler for the three requests

    origin.gate.resolve(); // the hung handler finishes late: its answer was already sent
    const next = await http().get('/slow/1').expect(200);
    expect(next.body).toEqual({ id: '1', n: 2 });
    expect(next.headers['x-cache']).toBe('MISS');
    expect((await http().get('/slow/1').expect(200)).headers['x-cache']).toBe('HIT');
  });

  it('lets an exception filter map it, here to 504', async () => {
    const answers = await Promise.all([1, 2].map(() => http().get('/mapped/1')));
    expect(answers.map((res) => res.status)).toEqual([504, 504]);
    expect(origin.count('mapped')).toBe(1);
  });

  it('serves the stale answer within grace, to the request whose handler hangs too', async () => {
    expect((await http().get('/stale/1').expect(200)).body).toEqual({ id: '1', n: 1 });
    clock.advance(2_000);
    const answers = await Promise.all([1, 2].map(() => http().get('/stale/1')));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.headers['x-cache']).toBe('STALE');
      expect(res.body).toEqual({ id: '1', n: 1 });
    }
    origin.gate.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    // What the abandoned handler sent late was not stored: the next request runs it again.
    const after = await http().get('/stale/1').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body).toEqual({ id: '1', n: 3 });
  });

  it('rejects the callers of a hung @Cached provider method with OriginTimeoutError', async () => {
    const reports = app.get(Reports);
    const calls = [reports.build('a'), reports.build('a')].map((p) => p.catch((e: unknown) => e));
    const [first, second] = await Promise.all(calls);
    expect(first).toBeInstanceOf(OriginTimeoutError);
    expect(second).toBe(first);
    expect(origin.count('report')).toBe(1);
    expect((await http().get('/report/b')).status).toBe(500);
    origin.gate.resolve();
    expect(await reports.build('c')).toEqual({ id: 'c', n: 3 });
  });
});
