import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { openStore } from '../../server/accounts/open-store';
import type { AccountStore } from '../../server/accounts/store';
import type { PaidClass } from '../../server/auth/classes';
import { createApp } from '../../server/app';
import { loadConfig, type Config } from '../../server/config/config';
import { FaceService } from '../../server/generator/face-service';
import { startContentCredentials } from '../../server/imaging/start-credentials';
import { createLogger } from '../../server/http/logging';
import { connectRedis } from '../../server/limits/redis-client';

export interface TestServer {
  url: string;
  config: Config;
  store: AccountStore;
  faces: FaceService;
  /** Every log line the app wrote, as text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * Starts the real application on an ephemeral port: real model, real Redis when
 * `env.REDIS_URL` is set, and the account database of `env.DATABASE_URL` (PostgreSQL), else
 * the SQLite file `databasePath` (to share one), else a new SQLite file in a temp dir.
 */
export async function startServer(env: Record<string, string> = {}, opts: { databasePath?: string } = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-test-'));
  const config = loadConfig({ LOG_LEVEL: 'info', DATABASE_PATH: opts.databasePath ?? path.join(dir, 'test.db'), ...env } as NodeJS.ProcessEnv);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const store = await openStore(config);
  const credentials = await startContentCredentials(config, logger);
  const faces = await FaceService.load(config.modelDir, { concurrency: config.generatorConcurrency, maxQueued: config.generatorQueue, upscaler: config.upscaler, credentials });
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, () => undefined) : undefined;
  const { app } = createApp({ config, store, faces, logger, redis });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    store,
    faces,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await faces.close();
      // quit() waits for a connection that may never come; disconnect() also stops reconnecting.
      if (redis?.status === 'ready') await redis.quit().catch(() => undefined);
      redis?.disconnect();
      await store.close();
    },
  };
}

/** A user of the given class with one API key; returns the key. */
export async function userWithKey(store: AccountStore, cls: PaidClass, tag = Math.random().toString(36).slice(2, 10)): Promise<{ key: string; userId: string; keyId: string }> {
  const user = await store.createUser({ email: `${tag}@example.test`, username: tag, class: cls, verified: true });
  const k = await store.createKey(user.id, 'test');
  return { key: k.key, userId: user.id, keyId: k.id };
}

/** Generous limits so that tests about other behaviour never trip them. */
export const NO_LIMITS = JSON.stringify({
  Anon: { burst: 100000, daily: 100000 },
  Basic: { burst: 100000, daily: 100000 },
  Professional: { burst: 100000, daily: 100000 },
  Enterprise: { burst: 100000, daily: 100000 },
});
