// How Pulumi marks a secret in serialized values (on the wire to the engine and in `pulumi stack export`):
// an object whose SECRET_SIG_KEY property holds SECRET_SIG_VALUE (the SDK's `specialSigKey`/`specialSecretSig`).
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** True for a serialized secret: on the wire `{sig, value}`, in a stack export `{sig, plaintext | ciphertext}`. */
export function isSecretWrapper(
  value: unknown,
): value is { value?: unknown; plaintext?: unknown; ciphertext?: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE
  );
}
