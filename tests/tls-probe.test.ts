import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { certificateSha256, probeLeafCertificateSha256 } from "../providers/tls-probe";
import {
  makeCertificate,
  refusedPort,
  startSilentServer,
  startSniServer,
  startUnansweredConnectListener,
  type SniServer,
  type TestCertificate,
} from "./support/tls-servers";
import { HANG_LIMIT_MS } from "./support/hang-limit";

// Probes of servers that answer: time-outs a busy machine cannot reach. Short ones only where nothing answers.
const GENEROUS = { connectTimeoutMs: HANG_LIMIT_MS, handshakeTimeoutMs: HANG_LIMIT_MS };

describe("probeLeafCertificateSha256", () => {
  let endpointCert: TestCertificate;
  let originCert: TestCertificate;
  let server: SniServer;

  before(async () => {
    endpointCert = makeCertificate(["s3.region.e2.test"]);
    originCert = makeCertificate(["example.test", "*.example.test"]);
    server = await startSniServer(endpointCert);
    server.register("*.example.test", originCert);
  });
  after(() => server.close());

  it("returns the fingerprint of the certificate served for the SNI name", async () => {
    const result = await probeLeafCertificateSha256(
      { host: "127.0.0.1", port: server.port, servername: "files.example.test" },
      GENEROUS,
    );
    assert.deepEqual(
      { ok: result.ok, sha256: result.ok && result.sha256 },
      { ok: true, sha256: originCert.sha256 },
    );
  });

  it("returns the default certificate's fingerprint for a name nobody registered", async () => {
    const result = await probeLeafCertificateSha256(
      { host: "127.0.0.1", port: server.port, servername: "files.other.test" },
      GENEROUS,
    );
    assert.equal(result.ok && result.sha256, endpointCert.sha256);
  });

  it("sends the SNI name and no application data", async () => {
    // A server of its own, so handshakes from other tests that land late cannot skew the counts.
    const own = await startSniServer(endpointCert);
    try {
      await probeLeafCertificateSha256(
        { host: "127.0.0.1", port: own.port, servername: "media.example.test" },
        GENEROUS,
      );
      await own.idle(); // the probe's connection is closed: its handshake and any bytes are counted
      assert.deepEqual(own.stats, {
        handshakes: 1,
        servernames: ["media.example.test"],
        applicationBytesReceived: 0,
      });
    } finally {
      await own.close();
    }
  });

  it("reports a refused connection as a failure value instead of throwing", async () => {
    const port = await refusedPort();
    const result = await probeLeafCertificateSha256(
      { host: "127.0.0.1", port, servername: "files.example.test" },
      GENEROUS,
    );
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error : "", /TCP connect to 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
  });

  it("gives up on a server that accepts and never answers within the handshake time-out", async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const result = await probeLeafCertificateSha256(
        { host: "127.0.0.1", port: silent.port, servername: "files.example.test" },
        { connectTimeoutMs: HANG_LIMIT_MS, handshakeTimeoutMs: 300 },
      );
      const elapsed = Date.now() - started;
      assert.equal(silent.accepted(), 1);
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.error : "", /timed out after 300 ms/);
      // It waited the whole time-out; nothing but that time-out could end it (the server never answers).
      assert.ok(elapsed >= 250, `ended after ${elapsed} ms`);
    } finally {
      await silent.close();
    }
  });

  it("ends by its connect time-out when the TCP connect is never answered", async () => {
    // A loopback listener that never completes a connect (its accept queue is full, so SYNs are dropped):
    // only the probe's own connect time-out can end this, and it must say so.
    const listener = await startUnansweredConnectListener();
    try {
      const result = await probeLeafCertificateSha256(
        { host: "127.0.0.1", port: listener.port, servername: "files.example.test" },
        { connectTimeoutMs: 300, handshakeTimeoutMs: HANG_LIMIT_MS },
      );
      assert.equal(result.ok, false);
      assert.equal(
        !result.ok ? result.error : "",
        `TCP connect to 127.0.0.1:${listener.port} timed out after 300 ms`,
      );
    } finally {
      await listener.close();
    }
  });
});

describe("certificateSha256", () => {
  it("matches what openssl computed for the same certificate", () => {
    const cert = makeCertificate(["example.test"]);
    assert.equal(certificateSha256(cert.certificatePem), cert.sha256);
    assert.match(cert.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it("throws on text that is not a certificate", () => {
    assert.throws(() => certificateSha256("not a certificate"));
  });
});
