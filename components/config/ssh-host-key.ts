// mastodonHost.hostKey as admins copy it, normalized to the `<type> <base64>` the SSH connection checks.
//
// Accepted, as the README tells admins to copy it:
// - the line `ssh-keyscan -t ed25519 <host>` prints: `<host> ssh-ed25519 AAAA…`, `[<host>]:<port> ssh-ed25519 …`
//   for another port, or a hashed `|1|…` host (OpenSSH ssh-keyscan(1), known_hosts format in sshd(8));
// - the server's `/etc/ssh/ssh_host_ed25519_key.pub`: `ssh-ed25519 AAAA… root@host` (the comment is dropped);
// - the bare `ssh-ed25519 AAAA…`.
// Lines starting with `#` (ssh-keyscan's banner on stderr, if copied with it) and blank lines are ignored.
// pulumi-command reads the value with golang.org/x/crypto/ssh ParseAuthorizedKey (provider/pkg/provider/remote/
// connection.go), whose format is `[options] <type> <base64> [comment]`: normalizing to `<type> <base64>` keeps
// a host name in front from being taken for options.

/** Key types an OpenSSH server offers as host keys. */
const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
];

export type HostKeyResult = { key: string } | { problem: string };

/** The type named inside an SSH public-key blob (RFC 4253 §6.6: a uint32 length, then the type string). */
function blobType(base64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, "base64");
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** Normalizes `text` (see the file comment) or says what is wrong with it, without repeating it. */
export function normalizeHostKey(text: string): HostKeyResult {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length === 0) return { problem: "it holds no key" };
  if (lines.length > 1) {
    return {
      problem: `it holds ${lines.length} lines; give one key (ssh-keyscan -t ed25519 prints one line)`,
    };
  }
  const fields = lines[0]!.split(/\s+/);
  const at = fields.findIndex((f) => HOST_KEY_TYPES.includes(f));
  if (at < 0) return { problem: `it names no host key type (${HOST_KEY_TYPES.join(", ")})` };
  if (at > 1) return { problem: "more than a host name comes before the key type" };
  if (at === 1 && fields[0]!.startsWith("@")) {
    return { problem: `${fields[0]} lines are not host keys` };
  }
  const type = fields[at]!;
  const base64 = fields[at + 1];
  if (base64 === undefined) return { problem: `no key data follows ${type}` };
  const inside = blobType(base64);
  if (inside === undefined) return { problem: `the text after ${type} is not an SSH public key in base64` };
  if (inside !== type) return { problem: `the key data is a ${inside} key, not ${type}` };
  return { key: `${type} ${base64}` };
}
