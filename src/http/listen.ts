// Binding a node:http server: resolves once it listens (port 0: any free port) with the port and
// the base URL to reach it; a bind failure (port in use...) rejects instead of crashing.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function listen(server: Server, port: number, host: string): Promise<{ port: number; url: string }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { address, port: bound } = server.address() as AddressInfo;
      resolve({ port: bound, url: `http://${address.includes(':') ? `[${address}]` : address}:${bound}` });
    });
  });
}
