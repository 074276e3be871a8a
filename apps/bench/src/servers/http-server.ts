/**
 * One HTTP contender in its own process: `node http-server.js <contender> <express|fastify> <redisUrl>`.
 * Reports its port over IPC, then answers `cpu` (process CPU time in µs) and `originCalls`.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { serve } from '../infra/processes.js';
import { HTTP_CONTENDERS, OriginCounter, type HttpContenderId } from './contenders.js';

const [id, platform, redisUrl = ''] = process.argv.slice(2) as [
  HttpContenderId,
  'express' | 'fastify',
  string?,
];
const contender = HTTP_CONTENDERS[id];
if (contender === undefined) throw new Error(`unknown contender ${id}`);

const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(contender.module(redisUrl), adapter, {
  logger: ['error', 'warn'],
});
await app.listen(0, '127.0.0.1');
const port = (app.getHttpServer().address() as AddressInfo).port;
const counter = app.get(OriginCounter);
// Run by hand (e.g. under `node --cpu-prof`), it says where it listens; forked by the bench, it answers over IPC.
if (process.send === undefined) {
  console.log(`${id} on ${platform} listening on http://127.0.0.1:${port}/item/1 (Ctrl+C to stop)`);
  // Exit normally on Ctrl+C, so that `node --cpu-prof` writes its profile.
  process.once('SIGINT', () => void app.close().finally(() => process.exit(0)));
}

serve(
  {
    port: () => port,
    cpu: () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    },
    originCalls: () => counter.calls,
  },
  () => app.close(),
);
