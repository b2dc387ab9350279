// The one wall-clock limit the tests put on what should take seconds: a child process, a server of the tests'
// own starting or answering, a gRPC call, a TLS handshake on loopback. It is there so that a hang fails with
// what was seen instead of stopping `npm test` for good. It is far above what a busy two-core machine needs,
// so only a real hang reaches it. It never judges whether the code under test is fast enough: a short
// time-out of the code under test is tested against a stand-in that never answers, where it can only fire as
// it should.
export const HANG_LIMIT_MS = 600_000;
