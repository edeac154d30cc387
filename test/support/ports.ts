import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether `error` says another process took the port first (the messages of Node, Prometheus and PostgreSQL). */
export const portTaken = (error: unknown): boolean => /address already in use|EADDRINUSE|could not bind/i.test(String(error));

/**
 * Starts a server with `start(port)` on a port {@link freePort} picked. Between picking the port and
 * the server binding it, another test file running at the same time may take it: then (the error
 * says so, {@link portTaken}) it tries again on another port, a few times.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (attempt >= 5 || !portTaken(error)) throw error;
    }
  }
}
