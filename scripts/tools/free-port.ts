import net, { type AddressInfo } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (for child servers in tests and the bench). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
