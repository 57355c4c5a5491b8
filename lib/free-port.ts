import net from 'node:net';

// A port nobody listens on at 127.0.0.1 now (a server started a moment later takes it): the drill's throwaway server,
// and the tests' clusters.
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
