import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
  Res,
  StreamableFile,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import request from 'supertest';
import { CacheModule, CacheService, Cached, InvalidateCache } from 'nest-tiered-cache';
import { deferred, FakeClock } from '../libs/tiered-cache/test/test-cache.js';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

@Injectable()
class Db {
  users = new Map<string, { id: string; name: string }>();
  reads = new Map<string, number>();
  gate = deferred<void>();
  flaky = false;
  /** Requests of the slow route that got past the guard. */
  arrivals = 0;
  read(what: string): number {
    const n = (this.reads.get(what) ?? 0) + 1;
    this.reads.set(what, n);
    return n;
  }
  count(what: string): number {
    return this.reads.get(what) ?? 0;
  }
}

/** Sets request.user from an `x-user` header, as an auth guard would (guards run before interceptors). */
@Injectable()
class FakeAuthGuard implements CanActivate {
  constructor(private readonly db: Db) {}
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string>; user?: unknown; url: string }>();
    if (req.headers['x-user'] !== undefined) req.user = { id: req.headers['x-user'] };
    if (req.url.includes('/slow/')) this.db.arrivals++;
    return true;
  }
}

@Controller('users')
@UseGuards(FakeAuthGuard)
class UsersController {
  constructor(private readonly db: Db) {}

  @Get('public/info')
  @Cached({ key: 'info', scope: 'public' })
  async publicInfo() {
    return { version: this.db.read('public') };
  }

  @Get('private/info')
  @Cached({ key: 'private-info' })
  async privateInfo() {
    return { version: this.db.read('private') };
  }

  @Get('me/profile')
  @Cached({ key: 'me:{user.id}' })
  async me() {
    return { read: this.db.read('me') };
  }

  @Get('text/plain')
  @Cached()
  @Header('content-type', 'text/plain; charset=utf-8')
  async text(@Query('lang') lang?: string) {
    return `hello ${lang ?? 'world'} #${this.db.read(`text:${lang}`)}`;
  }

  @Get('created/thing')
  @Cached({ key: 'created' })
  @HttpCode(202)
  async created() {
    return { accepted: this.db.read('created') };
  }

  @Get('raw/:id')
  @Cached({ key: 'raw:{id}' })
  async raw(
    @Param('id') id: string,
    @Res() res: { status: (code: number) => { send: (body: unknown) => void } },
  ) {
    res.status(200).send({ raw: id, read: this.db.read('raw') });
  }

  @Get('file/download')
  @Cached({ key: 'file' })
  async file() {
    this.db.read('file');
    return new StreamableFile(Readable.from([Buffer.from('file body')]));
  }

  @Get('slow/:id')
  @Cached({ key: 'slow:{id}' })
  async slow(@Param('id') id: string) {
    this.db.read('slow');
    await this.db.gate.promise;
    return { id };
  }

  @Get('flaky/:id')
  @Cached({ key: 'flaky:{id}', ttl: 10, grace: '1h' })
  async flaky(@Param('id') id: string) {
    const n = this.db.read('flaky');
    if (this.db.flaky) throw new Error('database down');
    return { id, n };
  }

  @Get(':id/posts')
  @Cached({ key: 'user:{id}:posts:{query.page}', tags: ['posts'] })
  async posts(@Param('id') id: string, @Query('page') page = '1') {
    return { id, page, read: this.db.read(`posts:${id}:${page}`) };
  }

  @Post(':id/touch')
  @Cached({ key: 'touch:{id}' })
  async touch(@Param('id') id: string) {
    return { touched: id, read: this.db.read('touch') };
  }

  @Post('search')
  @HttpCode(200)
  @Cached({ key: 'search:{body.q}', methods: ['POST'] })
  async search(@Body() body: { q: string }) {
    return { q: body.q, read: this.db.read(`search:${body.q}`) };
  }

  @Post('search-created')
  @Cached({ key: 'search-created:{body.q}', methods: ['POST'] })
  async searchCreated(@Body() body: { q: string }) {
    return { q: body.q, read: this.db.read('search-created') };
  }

  @Get(':id')
  @Cached({ key: 'user:{id}', ttl: '30m', tags: ['users'] })
  async findOne(@Param('id') id: string) {
    this.db.read(`user:${id}`);
    if (id === 'boom') throw new Error('boom');
    const user = this.db.users.get(id);
    if (user === undefined) throw new NotFoundException(`user ${id} not found`);
    return user;
  }

  @Put(':id')
  @InvalidateCache({ keys: ['user:{id}'], patterns: ['user:{id}:*'] })
  update(@Param('id') id: string, @Body() dto: { name: string; fail?: boolean }) {
    if (dto.fail) throw new BadRequestException('refused');
    const user = { id, name: dto.name };
    this.db.users.set(id, user);
    return user;
  }

  @Post('tags/users')
  @InvalidateCache({ tags: ['users'] })
  dropUsers() {
    return { dropped: true };
  }
}

const clock = new FakeClock(Date.now());

/** supertest parser that reads any body as text (streams arrive as application/octet-stream). */
function asText(res: request.Response, done: (err: Error | null, body: string) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  stream.on('end', () => done(null, body));
}

@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, namespace: 'http', clock: clock.read })],
  controllers: [UsersController],
  providers: [Db],
})
class AppModule {}

describe.each(HTTP_PLATFORMS)('@Cached and @InvalidateCache on $name routes', ({ adapter }) => {
  let app: INestApplication;
  let db: Db;
  let cache: CacheService;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(AppModule, adapter);
    db = app.get(Db);
    cache = app.get(CacheService);
  });
  afterEach(async () => {
    await cache.clear();
    db.users.clear();
    db.reads.clear();
    db.flaky = false;
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers MISS then HIT, keeping body and content type; a non-200 is not stored', async () => {
    db.users.set('1', { id: '1', name: 'Ada' });
    const miss = await http().get('/users/1').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.body).toEqual({ id: '1', name: 'Ada' });
    const hit = await http().get('/users/1').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '1', name: 'Ada' });
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
    const head = await http().head('/users/1').expect(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(db.count('user:1')).toBe(1);

    const text1 = await http().get('/users/text/plain?lang=fr').expect(200);
    const text2 = await http().get('/users/text/plain?lang=fr').expect(200);
    expect(text2.headers['x-cache']).toBe('HIT');
    expect(text2.text).toBe(text1.text);
    expect(text2.headers['content-type']).toMatch(/^text\/plain/);
    expect((await http().get('/users/text/plain?lang=de').expect(200)).headers['x-cache']).toBe(
      'MISS',
    );

    // Only 200 answers are stored: a 202 (@HttpCode) runs its handler every time.
    await http().get('/users/created/thing').expect(202);
    const again = await http().get('/users/created/thing').expect(202);
    expect(again.headers['x-cache']).toBe('MISS');
    expect(db.count('created')).toBe(2);
  });

  it('keys different params and queries apart', async () => {
    db.users.set('1', { id: '1', name: 'Ada' });
    db.users.set('2', { id: '2', name: 'Bob' });
    expect((await http().get('/users/1')).body.name).toBe('Ada');
    expect((await http().get('/users/2')).body.name).toBe('Bob');
    await http().get('/users/1/posts?page=1');
    await http().get('/users/1/posts?page=2');
    expect((await http().get('/users/1/posts?page=2')).headers['x-cache']).toBe('HIT');
    expect(db.count('posts:1:1')).toBe(1);
    expect(db.count('posts:1:2')).toBe(1);
  });

  it('makes the next GET a MISS with fresh data after a PUT, keys and patterns alike', async () => {
    db.users.set('1', { id: '1', name: 'Ada' });
    await http().get('/users/1');
    await http().get('/users/1/posts?page=1');
    await http().put('/users/1').send({ name: 'Ada Lovelace' }).expect(200);
    const after = await http().get('/users/1');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.name).toBe('Ada Lovelace');
    expect((await http().get('/users/1/posts?page=1')).headers['x-cache']).toBe('MISS');
  });

  it('invalidates nothing when the PUT throws', async () => {
    db.users.set('1', { id: '1', name: 'Ada' });
    await http().get('/users/1');
    await http().put('/users/1').send({ name: 'nope', fail: true }).expect(400);
    expect((await http().get('/users/1')).headers['x-cache']).toBe('HIT');
  });

  it('lets a "*" param invalidate only its own key', async () => {
    db.users.set('*', { id: '*', name: 'Star' });
    db.users.set('1', { id: '1', name: 'Ada' });
    await http().get('/users/*');
    await http().get('/users/1');
    await http().get('/users/1/posts?page=1');
    await http().put('/users/*').send({ name: 'Star 2' }).expect(200);
    expect((await http().get('/users/1')).headers['x-cache']).toBe('HIT');
    expect((await http().get('/users/1/posts?page=1')).headers['x-cache']).toBe('HIT');
    const star = await http().get('/users/*');
    expect(star.headers['x-cache']).toBe('MISS');
    expect(star.body.name).toBe('Star 2');
  });

  it('invalidates by tag', async () => {
    db.users.set('1', { id: '1', name: 'Ada' });
    await http().get('/users/1');
    await http().post('/users/tags/users').expect(201);
    expect((await http().get('/users/1')).headers['x-cache']).toBe('MISS');
  });

  it('neither serves nor stores requests with credentials under a key that does not name the user', async () => {
    await http().get('/users/private/info');
    const withAuth = await http().get('/users/private/info').set('authorization', 'Bearer secret');
    expect(withAuth.headers['x-cache']).toBeUndefined();
    expect(withAuth.body.version).toBe(2);
    await http().get('/users/private/info').set('cookie', 'sid=1');
    expect((await http().get('/users/private/info')).body.version).toBe(1);

    await http().get('/users/public/info').set('authorization', 'Bearer a');
    expect((await http().get('/users/public/info').set('cookie', 'sid=2')).headers['x-cache']).toBe(
      'HIT',
    );

    const ada = await http()
      .get('/users/me/profile')
      .set('x-user', 'ada')
      .set('authorization', 'Bearer ada');
    const bob = await http()
      .get('/users/me/profile')
      .set('x-user', 'bob')
      .set('authorization', 'Bearer bob');
    expect(ada.headers['x-cache']).toBe('MISS');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(
      (
        await http()
          .get('/users/me/profile')
          .set('x-user', 'ada')
          .set('authorization', 'Bearer ada')
      ).headers['x-cache'],
    ).toBe('HIT');
    const anonymous = await http().get('/users/me/profile');
    expect(anonymous.headers['x-cache']).toBeUndefined();
  });

  it('caches a POST only when `methods` opts it in and it answers 200; never errors, @Res() routes nor streams', async () => {
    await http().post('/users/1/touch').expect(201);
    expect((await http().post('/users/1/touch').expect(201)).headers['x-cache']).toBeUndefined();
    expect(db.count('touch')).toBe(2);

    // `methods` opts a POST in: answered 200, it is keyed by its body and served from the cache.
    const first = await http().post('/users/search').send({ q: 'ada' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await http().post('/users/search').send({ q: 'ada' }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect((await http().post('/users/search').send({ q: 'bob' })).headers['x-cache']).toBe('MISS');
    expect(db.count('search:ada')).toBe(1);
    // Without @HttpCode(200) a POST answers 201, which is never stored.
    await http().post('/users/search-created').send({ q: 'ada' }).expect(201);
    const created = await http().post('/users/search-created').send({ q: 'ada' }).expect(201);
    expect(created.headers['x-cache']).toBe('MISS');
    expect(db.count('search-created')).toBe(2);

    await http().get('/users/missing').expect(404);
    await http().get('/users/missing').expect(404);
    expect(db.count('user:missing')).toBe(2);
    await http().get('/users/boom').expect(500);
    await http().get('/users/boom').expect(500);
    expect(db.count('user:boom')).toBe(2);

    await http().get('/users/raw/1').expect(200);
    expect((await http().get('/users/raw/1').expect(200)).body.read).toBe(2);

    const download = async () =>
      (await http().get('/users/file/download').buffer(true).parse(asText).expect(200))
        .body as string;
    expect(await download()).toBe('file body');
    expect(await download()).toBe('file body');
    expect(db.count('file')).toBe(2);
  });

  it('runs the handler once for 200 concurrent cold requests', async () => {
    db.gate = deferred<void>();
    const server = app.getHttpServer();
    db.arrivals = 0;
    const all = Promise.all(
      Array.from({ length: 200 }, () => request(server).get('/users/slow/7')),
    );
    while (db.arrivals < 200) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve)); // from the guard into the interceptor
    db.gate.resolve();
    const responses = await all;
    expect(responses.every((r) => r.status === 200 && r.body.id === '7')).toBe(true);
    expect(db.count('slow')).toBe(1);
  });

  it('serves STALE within grace when the origin fails after the TTL', async () => {
    const first = await http().get('/users/flaky/1').expect(200);
    expect(first.body.n).toBe(1);
    clock.advance(11_000);
    db.flaky = true;
    const stale = await http().get('/users/flaky/1').expect(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body).toEqual(first.body);
    db.flaky = false;
    const fresh = await http().get('/users/flaky/1').expect(200);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.n).toBe(3);
  });
});
