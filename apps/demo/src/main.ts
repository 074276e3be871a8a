import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { loadDemoConfig } from './demo-config.js';

const { port, host } = loadDemoConfig();
const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
if (host === undefined) await app.listen(port);
else await app.listen(port, host);
const url = (await app.getUrl()).replace('[::1]', 'localhost');
Logger.log(
  `demo listening on ${url} (try GET ${url}/products/1, then GET ${url}/cache/stats)`,
  'Demo',
);

// Started by `npm run demo:traffic` (with an IPC channel): report the URL, and stop with the parent.
if (process.send !== undefined) {
  process.send({ type: 'listening', url });
  process.once('disconnect', () => void app.close().finally(() => process.exit(0)));
}
