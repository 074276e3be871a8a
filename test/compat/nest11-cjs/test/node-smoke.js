// The compiled app under plain Node, as `node dist/main` runs it (Jest loads the CommonJS build;
// Node >= 20.19 gives require() the package's ES module through require(esm), and import() the
// same one: one copy of its classes and tokens).
const assert = require('node:assert/strict');
const { NestFactory } = require('@nestjs/core');
const { CacheService } = require('nest-tiered-cache');
const { AppModule } = require('../dist/app.module');

async function main() {
  const viaImport = await import('nest-tiered-cache');
  assert.equal(require('nest-tiered-cache').CacheModule, viaImport.CacheModule);
  assert.equal(CacheService, viaImport.CacheService);
  // The compat subpath too: one copy, on the same classes as the main entry.
  const compat = require('nest-tiered-cache/compat');
  assert.equal(compat.CacheModule, (await import('nest-tiered-cache/compat')).CacheModule);
  assert.equal(typeof compat.CacheInterceptor, 'function');
  const resolved = require.resolve('nest-tiered-cache');
  assert.match(resolved, /nest-tiered-cache[\\/]dist[\\/]index\.js$/);

  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  try {
    const url = `${await app.getUrl()}/products/1`;
    assert.equal((await fetch(url)).headers.get('x-cache'), 'MISS');
    assert.equal((await fetch(url)).headers.get('x-cache'), 'HIT');
    await app.get(CacheService).clear(); // the e2e suite that runs next starts from an empty cache
  } finally {
    await app.close();
  }
  console.log(
    `plain Node ${process.version}: one copy of the library (${resolved}), MISS then HIT`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
