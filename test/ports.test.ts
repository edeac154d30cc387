/**
 * Test files run at the same time (vitest.config.ts): a server a test starts on a port it picked
 * must survive another file taking that port first (test/support/ports.ts).
 */
import { createServer, type Server } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { onFreePort } from './support/ports.ts';

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('a server on a free port', () => {
  it('starts on another port when another process took the one picked for it', async () => {
    const tried: number[] = [];
    const server = await onFreePort(async (port) => {
      tried.push(port);
      // GIVEN someone else binds the picked port first (once)
      if (tried.length === 1) {
        const taken = await listen(port);
        onTestFinished(async () => void (await close(taken)));
      }
      return listen(port);
    });
    onTestFinished(async () => void (await close(server)));
    // THEN it listens on a second port
    expect(tried).toHaveLength(2);
    expect((server.address() as { port: number }).port).toBe(tried[1]);
  });

  it('gives up on any other error at once', async () => {
    let calls = 0;
    await expect(onFreePort(async () => { calls++; throw new Error('prometheus exited with code 1: bad config'); })).rejects.toThrow('bad config');
    expect(calls).toBe(1);
  });
});
