import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  Module,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CacheModule, CacheService, Cached, InvalidateCache } from 'nest-tiered-cache';
import { HTTP_PLATFORMS, startHttpApp } from './support/http-app.js';

/**
 * A RealWorld (Conduit) API in miniature: optional authentication (`Authorization: Token <name>`
 * or a `sid=<name>` cookie), article lists with a per-viewer `favorited` flag, profiles with a
 * per-viewer `following` flag. Every handler counts its runs, so a test can tell a hit from a run.
 */
interface User {
  id: number;
  username: string;
}

interface Article {
  slug: string;
  author: string;
  tagList: string[];
  favoritedBy: Set<number>;
}

@Injectable()
class Conduit {
  readonly users: User[] = [
    { id: 1, username: 'ada' },
    { id: 2, username: 'bob' },
    { id: 3, username: 'jake' },
  ];
  articles: Article[] = [];
  follows = new Set<string>();
  runs = new Map<string, number>();

  reset(): void {
    this.articles = [
      {
        slug: 'train-your-dragon',
        author: 'jake',
        tagList: ['dragons', 'training'],
        favoritedBy: new Set(),
      },
      { slug: 'dragon-care', author: 'jake', tagList: ['dragons'], favoritedBy: new Set([2]) },
      { slug: 'welcome', author: 'ada', tagList: ['intro', 'a b'], favoritedBy: new Set() },
    ];
    this.follows = new Set(['2>3']);
    this.runs.clear();
  }

  run(route: string): number {
    const n = (this.runs.get(route) ?? 0) + 1;
    this.runs.set(route, n);
    return n;
  }

  user(name: string | undefined): User | undefined {
    return this.users.find((user) => user.username === name);
  }
}

interface AppRequest {
  headers: Record<string, string | undefined>;
  user?: User;
}

/** Conduit's optional authentication: sets request.user for a known token or session, else nothing. */
@Injectable()
class OptionalAuthGuard implements CanActivate {
  constructor(private readonly conduit: Conduit) {}
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AppRequest>();
    const token = /^Token (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const session = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const user = this.conduit.user(token ?? session);
    if (user !== undefined) req.user = user;
    return true;
  }
}

/** What the handler itself makes of the credentials: an API token the guard does not know. */
function apiTokenOwner(req: AppRequest): string | undefined {
  return /^ApiToken (.+)$/.exec(req.headers.authorization ?? '')?.[1];
}

@Controller('articles')
@UseGuards(OptionalAuthGuard)
class ArticlesController {
  constructor(private readonly conduit: Conduit) {}

  @Get()
  @Cached({ key: 'articles:{query}:{user.id?}', tags: ['articles'] })
  async list(
    @Req() req: AppRequest,
    @Query() query: Record<string, string | string[] | undefined>,
  ) {
    const run = this.conduit.run('articles');
    const tags = [query.tag ?? []].flat();
    const articles = this.conduit.articles
      .filter((a) => tags.every((tag) => a.tagList.includes(tag)))
      .filter((a) => query.author === undefined || a.author === query.author)
      .slice(Number(query.offset ?? 0), Number(query.offset ?? 0) + Number(query.limit ?? 20))
      .map((a) => ({
        slug: a.slug,
        favorited: req.user !== undefined && a.favoritedBy.has(req.user.id),
        favoritesCount: a.favoritedBy.size,
      }));
    return { articles, articlesCount: articles.length, viewer: req.user?.username ?? null, run };
  }

  @Post(':slug/favorite')
  @HttpCode(200)
  @InvalidateCache({ patterns: ['articles:*'] })
  favorite(@Req() req: AppRequest, @Param('slug') slug: string) {
    this.conduit.articles.find((a) => a.slug === slug)!.favoritedBy.add(req.user!.id);
    return { slug };
  }

  /** Drops the cached lists of exactly this query, for every viewer. */
  @Delete('cache')
  @InvalidateCache({ patterns: ['articles:{query}:*'] })
  dropQuery() {
    return { dropped: true };
  }
}

@Controller('profiles')
@UseGuards(OptionalAuthGuard)
class ProfilesController {
  constructor(private readonly conduit: Conduit) {}

  @Get(':username')
  @Cached({ key: 'profile:{username}:{user.id?}' })
  async profile(@Req() req: AppRequest, @Param('username') username: string) {
    const run = this.conduit.run('profile');
    const viewer = req.user?.username ?? apiTokenOwner(req);
    const following =
      viewer !== undefined &&
      this.conduit.follows.has(
        `${this.conduit.user(viewer)?.id}>${this.conduit.user(username)!.id}`,
      );
    return { profile: { username, following }, viewer: viewer ?? null, run };
  }

  @Post(':username/follow')
  @HttpCode(200)
  @InvalidateCache({ keys: ['profile:{username}:{user.id}'] })
  follow(@Req() req: AppRequest, @Param('username') username: string) {
    this.conduit.follows.add(`${req.user!.id}>${this.conduit.user(username)!.id}`);
    return { following: true };
  }
}

/** Keys that name a header: only the credential headers say who is asking. */
@Controller('headers')
@UseGuards(OptionalAuthGuard)
class HeaderKeysController {
  constructor(private readonly conduit: Conduit) {}

  @Get('greeting')
  @Cached({ key: 'greeting:{header.accept-language}' })
  async greeting(@Req() req: AppRequest) {
    const name = req.user?.username ?? 'stranger';
    return { greeting: `hello ${name}`, run: this.conduit.run('greeting') };
  }

  @Get('by-token')
  @Cached({ key: 'by-token:{header.authorization}' })
  async byToken(@Req() req: AppRequest) {
    return { viewer: req.user?.username ?? null, run: this.conduit.run('by-token') };
  }

  @Get('by-session')
  @Cached({ key: 'by-session:{header.cookie}' })
  async bySession(@Req() req: AppRequest) {
    return { viewer: req.user?.username ?? null, run: this.conduit.run('by-session') };
  }
}

@Module({
  imports: [CacheModule.forRoot({ isGlobal: true, namespace: 'conduit' })],
  controllers: [ArticlesController, ProfilesController, HeaderKeysController],
  providers: [Conduit],
})
class ConduitModule {}

describe.each(HTTP_PLATFORMS)('route keys of a Conduit API on $name', ({ adapter }) => {
  let app: INestApplication;
  let conduit: Conduit;
  let cache: CacheService;
  const http = () => request(app.getHttpServer());
  const as = (name: string) => ({ authorization: `Token ${name}` });
  const runs = (route: string) => conduit.runs.get(route) ?? 0;

  beforeAll(async () => {
    app = await startHttpApp(ConduitModule, adapter);
    conduit = app.get(Conduit);
    cache = app.get(CacheService);
  });
  beforeEach(() => conduit.reset());
  afterEach(async () => {
    await cache.clear();
  });
  afterAll(async () => {
    await app.close();
  });

  describe('credentials rule', () => {
    it('neither serves nor stores an authenticated request under a key naming only accept-language', async () => {
      const ada = await http().get('/headers/greeting').set('accept-language', 'en').set(as('ada'));
      expect(ada.body.greeting).toBe('hello ada');
      expect(ada.headers['x-cache']).toBeUndefined();
      const anonymous = await http().get('/headers/greeting').set('accept-language', 'en');
      expect(anonymous.headers['x-cache']).toBe('MISS');
      expect(anonymous.body.greeting).toBe('hello stranger');
      // and an authenticated request is not served the anonymous entry
      const cookie = await http()
        .get('/headers/greeting')
        .set('accept-language', 'en')
        .set('cookie', 'sid=bob');
      expect(cookie.headers['x-cache']).toBeUndefined();
      expect(cookie.body.greeting).toBe('hello bob');
      expect(
        (await http().get('/headers/greeting').set('accept-language', 'en')).headers['x-cache'],
      ).toBe('HIT');
      expect(runs('greeting')).toBe(3);
    });

    it('caches per credential header when the key names it, and never with another credential', async () => {
      const first = await http().get('/headers/by-token').set(as('ada'));
      expect(first.headers['x-cache']).toBe('MISS');
      const again = await http().get('/headers/by-token').set(as('ada'));
      expect(again.headers['x-cache']).toBe('HIT');
      expect(again.body.viewer).toBe('ada');
      expect((await http().get('/headers/by-token').set(as('bob'))).body.viewer).toBe('bob');
      // a cookie the key does not name: the token alone does not say who is asking
      const withCookie = await http()
        .get('/headers/by-token')
        .set(as('ada'))
        .set('cookie', 'sid=bob');
      expect(withCookie.headers['x-cache']).toBeUndefined();
      expect(runs('by-token')).toBe(3);
      // no token at all: the key's header is missing, so no shared entry either
      expect((await http().get('/headers/by-token')).headers['x-cache']).toBeUndefined();

      await http().get('/headers/by-session').set('cookie', 'sid=ada');
      const session = await http().get('/headers/by-session').set('cookie', 'sid=ada');
      expect(session.headers['x-cache']).toBe('HIT');
      const withToken = await http()
        .get('/headers/by-session')
        .set('cookie', 'sid=ada')
        .set(as('bob'));
      expect(withToken.headers['x-cache']).toBeUndefined();
    });
  });

  describe('the optional viewer {user.id?}', () => {
    it('shares one anonymous entry and keeps one entry per signed-in viewer', async () => {
      const anonymous = await http().get('/profiles/jake');
      expect(anonymous.headers['x-cache']).toBe('MISS');
      expect(anonymous.body).toMatchObject({ profile: { following: false }, viewer: null });
      expect((await http().get('/profiles/jake')).headers['x-cache']).toBe('HIT');

      const bob = await http().get('/profiles/jake').set(as('bob'));
      expect(bob.headers['x-cache']).toBe('MISS');
      expect(bob.body).toMatchObject({ profile: { following: true }, viewer: 'bob' });
      const bobAgain = await http().get('/profiles/jake').set('cookie', 'sid=bob');
      expect(bobAgain.headers['x-cache']).toBe('HIT');
      expect(bobAgain.body.viewer).toBe('bob');

      const ada = await http().get('/profiles/jake').set(as('ada'));
      expect(ada.headers['x-cache']).toBe('MISS');
      expect(ada.body).toMatchObject({ profile: { following: false }, viewer: 'ada' });

      const stillAnonymous = await http().get('/profiles/jake');
      expect(stillAnonymous.headers['x-cache']).toBe('HIT');
      expect(stillAnonymous.body.viewer).toBeNull();
      expect(runs('profile')).toBe(3);
    });

    it('never answers a request with credentials but no user from the anonymous entry, nor stores it there', async () => {
      await http().get('/profiles/jake'); // the anonymous entry exists
      // a token the guard does not resolve, which the handler itself understands
      const api = await http().get('/profiles/jake').set('authorization', 'ApiToken bob');
      expect(api.headers['x-cache']).toBeUndefined();
      expect(api.body).toMatchObject({ profile: { following: true }, viewer: 'bob' });
      const stale = await http().get('/profiles/jake').set('cookie', 'sid=expired');
      expect(stale.headers['x-cache']).toBeUndefined();
      expect(runs('profile')).toBe(3);

      await cache.clear();
      await http().get('/profiles/jake').set('authorization', 'ApiToken bob');
      const anonymous = await http().get('/profiles/jake');
      expect(anonymous.headers['x-cache']).toBe('MISS');
      expect(anonymous.body).toMatchObject({ profile: { following: false }, viewer: null });
    });

    it('invalidates one viewer`s entry by naming that viewer', async () => {
      await http().get('/profiles/jake');
      await http().get('/profiles/jake').set(as('ada'));
      await http().get('/profiles/jake').set(as('bob'));
      await http().post('/profiles/jake/follow').set(as('ada')).expect(200);
      const ada = await http().get('/profiles/jake').set(as('ada'));
      expect(ada.headers['x-cache']).toBe('MISS');
      expect(ada.body.profile.following).toBe(true);
      expect((await http().get('/profiles/jake').set(as('bob'))).headers['x-cache']).toBe('HIT');
      expect((await http().get('/profiles/jake')).headers['x-cache']).toBe('HIT');
    });
  });

  describe('the whole query {query}', () => {
    it('gives equivalent queries one entry, whatever the order or the encoding', async () => {
      const first = await http().get('/articles?tag=dragons&author=jake&limit=20&offset=0');
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.body.articles.map((a: { slug: string }) => a.slug)).toEqual([
        'train-your-dragon',
        'dragon-care',
      ]);
      for (const url of [
        '/articles?offset=0&limit=20&author=jake&tag=dragons',
        '/articles?author=jake&tag=%64ragons&offset=0&limit=20',
        '/articles?%61uthor=jake&tag=dragons&limit=%32%30&offset=0',
      ]) {
        const hit = await http().get(url);
        expect(hit.headers['x-cache']).toBe('HIT');
        expect(hit.body).toEqual(first.body);
      }
      await http().get('/articles?tag=a+b');
      expect((await http().get('/articles?tag=a%20b')).headers['x-cache']).toBe('HIT');
      expect(runs('articles')).toBe(2);
    });

    it('keeps different queries apart: values, names, repeated names and their order', async () => {
      const urls = [
        '/articles',
        '/articles?tag=dragons',
        '/articles?tag=training',
        '/articles?tag=dragons&tag=training',
        '/articles?tag=training&tag=dragons',
        '/articles?author=dragons',
        '/articles?tag=',
        '/articles?tag=dragons%26author%3Djake',
        '/articles?tag=dragons&author=jake',
      ];
      for (const url of urls) expect((await http().get(url)).headers['x-cache']).toBe('MISS');
      for (const url of urls) expect((await http().get(url)).headers['x-cache']).toBe('HIT');
      expect(runs('articles')).toBe(urls.length);
      const both = await http().get('/articles?tag=dragons&tag=training');
      expect(both.body.articles.map((a: { slug: string }) => a.slug)).toEqual([
        'train-your-dragon',
      ]);
    });

    it('keeps each viewer`s favorited flags, and a write invalidates every query and viewer', async () => {
      const url = '/articles?tag=dragons';
      const anonymous = await http().get(url);
      const bob = await http().get(url).set(as('bob'));
      expect(anonymous.body.articles.map((a: { favorited: boolean }) => a.favorited)).toEqual([
        false,
        false,
      ]);
      expect(bob.body.articles.map((a: { favorited: boolean }) => a.favorited)).toEqual([
        false,
        true,
      ]);
      expect((await http().get(url).set(as('bob'))).headers['x-cache']).toBe('HIT');
      expect((await http().get(url)).body.viewer).toBeNull();

      await http().post('/articles/train-your-dragon/favorite').set(as('ada')).expect(200);
      const ada = await http().get(url).set(as('ada'));
      expect(ada.headers['x-cache']).toBe('MISS');
      expect(ada.body.articles[0]).toMatchObject({ favorited: true, favoritesCount: 1 });
      const after = await http().get(url);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.body.articles[0]).toMatchObject({ favorited: false, favoritesCount: 1 });
    });

    it('lets a query value of * drop only its own entries, never widen the pattern', async () => {
      await http().get('/articles?tag=dragons');
      await http().get('/articles?tag=dragons').set(as('ada'));
      await http().get('/articles?tag=*');
      await http().get('/articles?tag=*').set(as('ada'));
      await http().delete('/articles/cache?tag=*').expect(200);
      expect((await http().get('/articles?tag=dragons')).headers['x-cache']).toBe('HIT');
      expect((await http().get('/articles?tag=dragons').set(as('ada'))).headers['x-cache']).toBe(
        'HIT',
      );
      expect((await http().get('/articles?tag=*')).headers['x-cache']).toBe('MISS');
      expect((await http().get('/articles?tag=*').set(as('ada'))).headers['x-cache']).toBe('MISS');

      // the same route drops every viewer's entries of its own query
      await http().delete('/articles/cache?tag=dragons').expect(200);
      expect((await http().get('/articles?tag=dragons')).headers['x-cache']).toBe('MISS');
      expect((await http().get('/articles?tag=dragons').set(as('ada'))).headers['x-cache']).toBe(
        'MISS',
      );
    });
  });
});

describe('bootstrap checks of viewer and query placeholders', () => {
  const boot = async (controllers: Function[], providers: Function[] = []) => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ isGlobal: true })],
      controllers: controllers as never[],
      providers: providers as never[],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
    } finally {
      await app.close();
    }
  };

  it('refuses an optional placeholder that is not {user.*}, naming class, method and placeholder', async () => {
    @Controller('articles')
    class OptionalSlugController {
      @Get(':slug')
      @Cached({ key: 'article:{slug?}' })
      async get(@Param('slug') slug: string) {
        return slug;
      }
    }
    await expect(boot([OptionalSlugController])).rejects.toThrow(
      '@Cached on OptionalSlugController.get key: key template "article:{slug?}" names {slug?}: only {user.*} placeholders may be optional',
    );
  });

  it('refuses {user.id?} on a provider method, which has no viewer', async () => {
    @Injectable()
    class FeedService {
      @InvalidateCache({ keys: ['feed:{user.id?}'] })
      async refresh(user: { id: number }) {
        return user;
      }
    }
    await expect(boot([], [FeedService])).rejects.toThrow(
      '@InvalidateCache on FeedService.refresh keys: key template "feed:{user.id?}" names {user.id?}: a provider method has no viewer',
    );
  });

  it('refuses {query} where a :query param makes it ambiguous, and a typed {query}', async () => {
    @Controller('search')
    class SearchController {
      @Get(':query')
      @Cached({ key: 'search:{query}' })
      async search(@Param('query') query: string) {
        return query;
      }
    }
    await expect(boot([SearchController])).rejects.toThrow(
      '@Cached on SearchController.search key: key template "search:{query}" names {query}: the route has a :query param',
    );

    @Controller('articles')
    class TypedQueryController {
      @Get()
      @Cached({ key: 'articles:{query:int}' })
      async list() {
        return [];
      }
    }
    await expect(boot([TypedQueryController])).rejects.toThrow(
      '@Cached on TypedQueryController.list key: key template "articles:{query:int}" names {query:int}: {query} is the whole query string and takes no type',
    );
  });
});
