// A bounded TLS probe: which leaf certificate does a server present for a given SNI name?
//
// Used by the E2CustomDomain dynamic provider, whose code Pulumi serializes with its closure and runs in a
// separate process where this file cannot be imported. So these are plain functions with no captured state,
// and every Node module is `require`d inside the function that uses it (the serialized text then carries a
// literal `require("node:tls")` instead of a captured module object).
/* eslint-disable @typescript-eslint/no-require-imports -- see the note above: requires must stay inside */

/** Where to connect and which name to ask for. */
export interface TlsProbeTarget {
  /** Host name or IP address to connect to (no brackets around IPv6). */
  host: string;
  /** TCP port. */
  port: number;
  /** Server name sent as TLS SNI (a DNS name, not an IP address). */
  servername: string;
}

/** Upper bounds for each phase of the probe, in milliseconds. */
export interface TlsProbeTimeouts {
  /** Time allowed for DNS lookup plus the TCP connect. */
  connectTimeoutMs: number;
  /** Time allowed from TCP connected to the end of the TLS handshake. */
  handshakeTimeoutMs: number;
}

/** The outcome of one probe. Never throws: failures are values so callers can report them. */
export type TlsProbeResult =
  { ok: true; sha256: string; elapsedMs: number } | { ok: false; error: string; elapsedMs: number };

/**
 * Connects to `target`, completes a TLS handshake with SNI `target.servername` and returns the SHA-256
 * fingerprint of the leaf certificate served (`AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it).
 *
 * The chain is deliberately not verified against public CAs: Cloudflare's Origin CA is not one, and the
 * caller compares fingerprints instead. The handshake itself still proves the server holds the certificate's
 * private key. No application data is sent; the connection is closed right after the handshake.
 */
export function probeLeafCertificateSha256(
  target: TlsProbeTarget,
  timeouts: TlsProbeTimeouts,
): Promise<TlsProbeResult> {
  const net = require("node:net") as typeof import("node:net");
  const tls = require("node:tls") as typeof import("node:tls");
  const where = target.host.includes(":")
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
  const started = Date.now();

  return new Promise<TlsProbeResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let secure: import("node:tls").TLSSocket | undefined;
    const tcp = net.connect({ host: target.host, port: target.port });

    const finish = (result: { ok: true; sha256: string } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result.ok && secure) {
        // Flush our last handshake message and close politely, so the server sees a complete handshake
        // rather than a reset; the socket is destroyed as soon as our side is written, never waiting on it.
        secure.destroySoon();
      } else {
        secure?.destroy();
        tcp.destroy();
      }
      resolve({ ...result, elapsedMs: Date.now() - started });
    };
    const errorText = (e: NodeJS.ErrnoException) => e.code ?? e.message;

    timer = setTimeout(
      () =>
        finish({
          ok: false,
          error: `TCP connect to ${where} timed out after ${timeouts.connectTimeoutMs} ms`,
        }),
      timeouts.connectTimeoutMs,
    );
    tcp.once("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: `TCP connect to ${where} failed: ${errorText(e)}` }),
    );
    tcp.once("connect", () => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish({
            ok: false,
            error: `TLS handshake with ${where} (SNI ${target.servername}) timed out after ${timeouts.handshakeTimeoutMs} ms`,
          }),
        timeouts.handshakeTimeoutMs,
      );
      secure = tls.connect({ socket: tcp, servername: target.servername, rejectUnauthorized: false });
      secure.once("error", (e: NodeJS.ErrnoException) =>
        finish({
          ok: false,
          error: `TLS handshake with ${where} (SNI ${target.servername}) failed: ${errorText(e)}`,
        }),
      );
      secure.once("secureConnect", () => {
        const leaf = secure?.getPeerX509Certificate();
        if (leaf) finish({ ok: true, sha256: leaf.fingerprint256 });
        else finish({ ok: false, error: `${where} (SNI ${target.servername}) presented no certificate` });
      });
    });
  });
}

/**
 * SHA-256 fingerprint (`AB:CD:…`) of the first certificate in a PEM text, in the same form
 * {@link probeLeafCertificateSha256} returns. Throws if the text holds no parsable certificate.
 */
export function certificateSha256(certificatePem: string): string {
  const { X509Certificate } = require("node:crypto") as typeof import("node:crypto");
  return new X509Certificate(certificatePem).fingerprint256;
}
