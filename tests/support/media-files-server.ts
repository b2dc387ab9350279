// A real HTTPS server on 127.0.0.1 playing the media host for the local-media check: it answers 200 for the
// keys it holds (as if copied to the bucket) and 404 for anything else, and records every request. Its
// certificate is for "localhost", from a throw-away CA (makePki) that clients trust only when told to.
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { makePki } from "./fake-media-host";

export interface MediaFilesServer {
  /** `https://localhost:<port>` */
  baseUrl: string;
  /** PEM file of the CA that signed the server's certificate. */
  caFile: string;
  /** Keys served with 200 (no leading slash); add or remove to "copy" media. */
  keys: Set<string>;
  /** Every request as "METHOD /path". */
  requests: string[];
  close: () => Promise<void>;
}

export async function startMediaFilesServer(): Promise<MediaFilesServer> {
  const pki = makePki(["localhost"]);
  const keys = new Set<string>();
  const requests: string[] = [];
  const server = https.createServer(pki.leaf("localhost"), (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const key = decodeURIComponent((req.url ?? "/").slice(1));
    const found = (req.method === "GET" || req.method === "HEAD") && keys.has(key);
    res.writeHead(found ? 200 : 404, { "content-type": "application/octet-stream", "content-length": "5" });
    res.end(req.method === "HEAD" ? undefined : "media");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `https://localhost:${port}`,
    caFile: pki.caFile,
    keys,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          pki.dispose();
          resolve();
        });
      }),
  };
}
