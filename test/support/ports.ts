import { connect, createServer, type Socket } from 'node:net';

/**
 * A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before returning), for a
 * program that cannot listen on port 0 and say its port: only through {@link onFreePort}, which
 * tries again when another process takes it first. A server of the test itself listens on port 0,
 * and a port nothing may listen on is a {@link closedPort}.
 */
async function freePort(): Promise<number> {
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

/** A loopback port nothing listens on, held so by the test (see {@link closedPort}). */
export interface ClosedPort {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Lets the port go. */
  release(): Promise<void>;
}

/**
 * A port on 127.0.0.1 that refuses every connection (ECONNREFUSED) and that no process can listen
 * on until {@link ClosedPort.release}: the local end of a connection the test keeps open to a
 * server of its own. The kernel gives a port in use to no one else (no `listen`, no `bind`), unlike
 * a port a listener just let go, which another test file may take before the test uses it.
 */
export async function closedPort(): Promise<ClosedPort> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket.on('error', () => undefined)));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port: serverPort } = server.address() as { port: number };
  const holder = connect(serverPort, '127.0.0.1').on('error', () => undefined);
  await new Promise<void>((resolve, reject) => holder.once('error', reject).once('connect', resolve));
  const port = holder.localPort!;
  const release = async (): Promise<void> => {
    holder.destroy();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  // What the tests rely on, checked once: a connection to it is refused.
  const probe = connect(port, '127.0.0.1');
  const refused = await new Promise<string>((resolve) => {
    probe.once('connect', () => resolve('accepted')).once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  probe.destroy();
  if (refused !== 'ECONNREFUSED') {
    await release();
    throw new Error(`closedPort: a connection to 127.0.0.1:${port}, held by a connection of this process, was not refused (${refused})`);
  }
  return { port, url: `http://127.0.0.1:${port}`, release };
}
