import { Redis } from 'ioredis';

/**
 * The Redis connection for limits. No offline queue: while Redis is unreachable a command
 * fails at once (limits then fail open, see limiters.ts) instead of holding the request.
 * Start-up waits up to `waitMs` for the first connection so the first requests are counted.
 */
export async function connectRedis(url: string, onError: (err: Error) => void, waitMs = 3000): Promise<Redis> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: true });
  redis.on('error', onError);
  await Promise.race([redis.connect().catch(onError), new Promise((r) => setTimeout(r, waitMs).unref())]);
  return redis;
}
