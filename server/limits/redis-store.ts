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

  /** The parent's cached script-load promises (not part of its public type). */
  private get scripts() {
    return this as unknown as { incrementScriptSha: Promise<string>; getScriptSha: Promise<string> };
  }

  private reloadScripts(): void {
    const self = this.scripts;
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
    const self = this.scripts;
    const loaded = await Promise.all([self.incrementScriptSha, self.getScriptSha]).then(
      () => true,
      () => false,
    );
    if (!loaded) this.reloadScripts();
  }

  /** Runs a store operation with fresh scripts; any failure schedules a reload for next time. */
  private async guarded<T>(op: () => Promise<T>): Promise<T> {
    try {
      await this.freshScripts();
      return await op();
    } catch (err) {
      this.reloadScripts();
      throw err;
    }
  }

  override increment(key: string) {
    return this.guarded(() => super.increment(key));
  }

  override get(key: string) {
    return this.guarded(() => super.get(key));
  }
}
