import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';

/**
 * rate-limit-redis loads its Lua scripts once and keeps the promise: if Redis was down at
 * that moment, every later call rethrows the old failure and limits never recover. This
 * store reloads the scripts after any failure and, before use, whenever the last load failed,
 * so counting resumes with the first request after Redis is back (test/replicas.test.ts).
 */
export class RecoveringRedisStore extends RedisStore {
  constructor(redis: Redis, prefix: string) {
    super({
      // ioredis: call(command, ...args) sends any command and returns its reply.
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as never,
      prefix,
    });
  }

  private reloadScripts(): void {
    const self = this as unknown as { incrementScriptSha: Promise<string>; getScriptSha: Promise<string> };
    self.incrementScriptSha = this.loadIncrementScript();
    self.getScriptSha = this.loadGetScript();
    // Mark as handled now; whoever awaits them next still sees a failure if Redis is down.
    self.incrementScriptSha.catch(() => undefined);
    self.getScriptSha.catch(() => undefined);
  }

  override async init(options: Parameters<RedisStore['init']>[0]): Promise<void> {
    this.windowMs = options.windowMs;
    this.reloadScripts();
  }

  /**
   * If the last script load failed (Redis was down), load again before use, so the first
   * request after Redis returns is already counted instead of failing open once more.
   */
  private async freshScripts(): Promise<void> {
    const self = this as unknown as { incrementScriptSha: Promise<string>; getScriptSha: Promise<string> };
    const loaded = await Promise.all([self.incrementScriptSha, self.getScriptSha]).then(
      () => true,
      () => false,
    );
    if (!loaded) this.reloadScripts();
  }

  override async increment(key: string) {
    try {
      await this.freshScripts();
      return await super.increment(key);
    } catch (err) {
      this.reloadScripts();
      throw err;
    }
  }

  override async get(key: string) {
    try {
      await this.freshScripts();
      return await super.get(key);
    } catch (err) {
      this.reloadScripts();
      throw err;
    }
  }
}
