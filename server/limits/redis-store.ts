import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';

/**
 * rate-limit-redis loads its Lua scripts once and keeps the promise: if Redis was down at
 * that moment, every later call rethrows the old failure and limits never recover. This
 * store reloads the scripts after any failure, so counting resumes as soon as Redis is back.
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

  override async increment(key: string) {
    try {
      return await super.increment(key);
    } catch (err) {
      this.reloadScripts();
      throw err;
    }
  }

  override async get(key: string) {
    try {
      return await super.get(key);
    } catch (err) {
      this.reloadScripts();
      throw err;
    }
  }
}
