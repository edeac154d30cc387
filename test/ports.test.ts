/**
 * Test files run at the same time (vitest.config.ts): a server a test starts on a port it picked
 * must survive another file taking that port first, and a port a test needs closed must stay
 * closed whatever the other files do (test/support/ports.ts).
 */
import { connect, createServer, type Server } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { closedPort, onFreePort } from './support/ports.ts';

/** A server listening on `port` of `host` (every address when `host` is undefined, as a server that names none). */
const listen = (port: number, host: string | undefined = '127.0.0.1'): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
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

describe('a port the test holds closed', () => {
  it('refuses every connection, and no server can take it: not on 127.0.0.1, not on every address', async () => {
    // GIVEN a port held closed
    const closed = await closedPort();
    onTestFinished(() => closed.release());
    expect(closed.url).toBe(`http://127.0.0.1:${closed.port}`);
    // THEN a connection to it is refused
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connect(closed.port, '127.0.0.1');
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code)).once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
    // AND another server (another test file's, say) cannot listen on it
    for (const host of ['127.0.0.1', '0.0.0.0', undefined]) await expect(listen(closed.port, host), host ?? 'every address').rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
