// Pulumi's passphrase secrets provider, offline: what `pulumi new` and `pulumi config set --secret` write into a
// stack file when the stack uses a passphrase (the self-managed backends' default).
// - `encryptionsalt: v1:<base64 8-byte salt>:<"pulumi" encrypted>` (pulumi/pulumi pkg/secrets/passphrase/manager.go)
// - key = PBKDF2-SHA256(passphrase, salt, 1,000,000 rounds, 32 bytes); each value `v1:<base64 nonce>:<base64
//   AES-256-GCM ciphertext and tag>` (sdk/go/common/resource/config/crypt.go, symmetricCrypter)
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";

const ROUNDS = 1_000_000;
const TAG_BYTES = 16;

export class PassphraseSecrets {
  private constructor(
    private readonly key: Buffer,
    /** The stack file's `encryptionsalt`. */
    readonly encryptionSalt: string,
  ) {}

  static async create(passphrase: string): Promise<PassphraseSecrets> {
    const salt = randomBytes(8);
    const key = await promisify(pbkdf2)(passphrase, salt, ROUNDS, 32, "sha256");
    const check = new PassphraseSecrets(key, "").encrypt("pulumi");
    return new PassphraseSecrets(key, `v1:${salt.toString("base64")}:${check}`);
  }

  encrypt(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  }

  decrypt(ciphertext: string): string {
    const [version, nonce, sealed] = ciphertext.split(":");
    if (version !== "v1" || !nonce || !sealed) throw new Error("not a v1 passphrase ciphertext");
    const bytes = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  }
}
