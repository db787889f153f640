import type { Server } from 'node:http';
import { openStore } from './accounts/open-store';
import { redactText } from './accounts/redact';
import { createApp } from './app';
import { loadConfig } from './config/config';
import { FaceService } from './generator/face-service';
import { startContentCredentials } from './imaging/start-credentials';
import { createLogger } from './http/logging';
import { connectRedis } from './limits/redis-client';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Migrates the schema first (PostgreSQL: under an advisory lock, so replicas may start together).
  const store = await openStore(config, { onError: (err) => logger.warn({ err: redactText(err.message) }, 'database connection error') });
  // Before the model: a missing or broken C2PA key stops the start at once, with its file named.
  const credentials = await startContentCredentials(config, logger);
  const faces = await FaceService.load(config.modelDir, {
    concurrency: config.generatorConcurrency,
    maxQueued: config.generatorQueue,
    maxBatch: config.generatorBatch,
    batchWaitMs: config.generatorBatchWaitMs,
    upscaler: config.upscaler,
    credentials,
  });
  if (config.generatorBatch > 1 && faces.notBatchable) logger.warn({ why: faces.notBatchable }, 'generations run one at a time: batches would not give the bytes a lone request gets');
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, (err) => logger.warn({ err: err.message }, 'redis error')) : undefined;

  const { app } = createApp({ config, store, faces, logger, redis });
  const server: Server = app.listen(config.port, config.host, () => {
    logger.info({ port: config.port, model: faces.modelVersion, database: `${store.kind} ${store.location}`, redis: Boolean(redis) }, 'Face Studio listening');
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // close() stops accepting and waits for open requests; idle keep-alive sockets go now.
    server.close(async () => {
      await faces.close();
      redis?.disconnect();
      await store.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 30000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`Face Studio failed to start: ${redactText(err instanceof Error ? err.message : String(err))}`);
  process.exit(1);
});
